// DICOM access rules (docs/dicom-access.md): CIDR matching, the rules file's errors, and
// the policy built from the configuration.
#include "dimse/access_rules.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "dimse/dimse_server.h"

namespace radflow::dimse {
namespace {

IpNetwork Net(const char* text) {
  auto n = IpNetwork::Parse(text);
  EXPECT_TRUE(n.ok()) << text << ": " << n.status().message();
  return n.ok() ? n.value() : IpNetwork{};
}

TEST(IpNetwork, Ipv4Prefixes) {
  IpNetwork ten = Net("10.0.0.0/8");
  EXPECT_TRUE(ten.Contains("10.0.0.1"));
  EXPECT_TRUE(ten.Contains("10.255.255.255"));
  EXPECT_FALSE(ten.Contains("11.0.0.1"));
  EXPECT_FALSE(ten.Contains("9.255.255.255"));
  IpNetwork odd = Net("192.168.4.0/22");  // 192.168.4.0 - 192.168.7.255
  EXPECT_TRUE(odd.Contains("192.168.7.200"));
  EXPECT_FALSE(odd.Contains("192.168.8.1"));
  EXPECT_FALSE(odd.Contains("192.168.3.255"));
  IpNetwork one = Net("127.0.0.1");  // a bare address is /32
  EXPECT_TRUE(one.Contains("127.0.0.1"));
  EXPECT_FALSE(one.Contains("127.0.0.2"));
  EXPECT_TRUE(Net("0.0.0.0/0").Contains("203.0.113.9"));
  EXPECT_FALSE(Net("0.0.0.0/0").Contains("2001:db8::1"));  // /0 of IPv4 is all of IPv4 only
}

TEST(IpNetwork, HostBitsAreCleared) {
  IpNetwork n = Net("10.1.2.3/8");
  EXPECT_EQ(n.ToString(), "10.0.0.0/8");
  EXPECT_TRUE(n.Contains("10.200.0.1"));
}

TEST(IpNetwork, Ipv6AndMappedIpv4) {
  IpNetwork ula = Net("fd00::/8");
  EXPECT_TRUE(ula.Contains("fd12:3456::1"));
  EXPECT_FALSE(ula.Contains("fe80::1"));
  EXPECT_TRUE(Net("::1").Contains("::1"));
  EXPECT_FALSE(Net("::1").Contains("::2"));
  // An IPv4 rule matches the same peer reported as an IPv4-mapped IPv6 address.
  EXPECT_TRUE(Net("127.0.0.0/8").Contains("::ffff:127.0.0.5"));
  EXPECT_EQ(Net("2001:db8::/32").ToString(), "2001:db8::/32");
}

TEST(IpNetwork, Errors) {
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "::1/129", "host.example",
                          "10.0.0", "10.0.0.0/-1", "10.0.0.0/8/8"}) {
    auto n = IpNetwork::Parse(bad);
    EXPECT_FALSE(n.ok()) << bad;
  }
  EXPECT_FALSE(Net("10.0.0.0/8").Contains("not an address"));
}

TEST(AccessRules, ParsesTheDocumentedExample) {
  auto rules = ParseAccessRules(
      R"([{"ae":"CT1","hosts":["10.0.0.0/8","127.0.0.1"],"store":true,"query":true,"retrieve":false},
          {"ae":"VIEWER"}])",
      "rules.json");
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ((*rules)[0].ae, "CT1");
  ASSERT_EQ((*rules)[0].hosts.size(), 2u);
  EXPECT_TRUE((*rules)[0].allow.store);
  EXPECT_TRUE((*rules)[0].allow.query);
  EXPECT_FALSE((*rules)[0].allow.retrieve);
  EXPECT_TRUE((*rules)[1].hosts.empty());  // any address
  EXPECT_FALSE((*rules)[1].allow.store || (*rules)[1].allow.query || (*rules)[1].allow.retrieve);
}

TEST(AccessRules, ErrorsNameTheFileAndTheRule) {
  struct Case {
    const char* json;
    const char* message;
  } cases[] = {
      {"{", "rules.json: not valid JSON"},
      {R"({"ae":"CT1"})", "rules.json: expected a JSON array of rules"},
      {R"(["CT1"])", "rule 1: expected an object"},
      {R"([{"hosts":["10.0.0.0/8"]}])", "rule 1: \"ae\" is missing"},
      {R"([{"ae":"CT1"},{"ae":""}])", "rule 2: \"ae\" must be 1 to 16 characters"},
      {R"([{"ae":"SEVENTEEN_CHARS_X"}])", "rule 1: \"ae\" must be 1 to 16 characters"},
      {R"([{"ae":5}])", "rule 1: \"ae\" must be a string"},
      {R"([{"ae":"CT1","hosts":"10.0.0.0/8"}])", "rule 1: \"hosts\" must be an array"},
      {R"([{"ae":"CT1","hosts":[]}])", "rule 1: \"hosts\" is empty"},
      {R"([{"ae":"CT1","hosts":["10.0.0.0/40"]}])", "rule 1: '10.0.0.0/40': the prefix length must be 0..32"},
      {R"([{"ae":"CT1","hosts":["ct.example"]}])", "rule 1: 'ct.example' is not an IP address"},
      {R"([{"ae":"CT1","store":"yes"}])", "rule 1: \"store\" must be true or false"},
      {R"([{"ae":"CT1","delete":true}])", "rule 1: unknown field \"delete\""},
  };
  for (const auto& c : cases) {
    auto rules = ParseAccessRules(c.json, "rules.json");
    ASSERT_FALSE(rules.ok()) << c.json;
    EXPECT_NE(rules.status().message().find(c.message), std::string::npos)
        << c.json << " -> " << rules.status().message();
    EXPECT_EQ(rules.status().message().rfind("rules.json: ", 0), 0u) << rules.status().message();
  }
}

TEST(AccessPolicy, LoopbackDefault) {
  DimseConfig config;
  auto policy = AccessPolicy::FromConfig(config);
  ASSERT_TRUE(policy.ok());
  auto local = policy->Check("ANYONE", "127.0.0.1");
  ASSERT_TRUE(local.has_value());
  EXPECT_TRUE(local->store && local->query && local->retrieve);
  EXPECT_TRUE(policy->Check("ANYONE", "::1").has_value());
  EXPECT_TRUE(policy->Check("ANYONE", "127.1.2.3").has_value());
  EXPECT_FALSE(policy->Check("ANYONE", "10.0.0.7").has_value());
  EXPECT_FALSE(policy->accepts_any());
}

TEST(AccessPolicy, AcceptListReplacesTheLoopbackDefault) {
  DimseConfig config;
  config.accept = {"CT1", "MR1,US1"};
  auto policy = AccessPolicy::FromConfig(config);
  ASSERT_TRUE(policy.ok());
  EXPECT_TRUE(policy->Check("CT1", "10.0.0.7").has_value());
  EXPECT_TRUE(policy->Check("US1", "192.0.2.1").has_value());
  EXPECT_TRUE(policy->Check("MR1 ", "127.0.0.1").has_value());  // trailing pad of an AE title
  EXPECT_FALSE(policy->Check("OTHER", "127.0.0.1").has_value());
}

TEST(AccessPolicy, AnyAcceptsEveryone) {
  DimseConfig config;
  config.accept = {"ANY"};
  auto policy = AccessPolicy::FromConfig(config);
  ASSERT_TRUE(policy.ok());
  EXPECT_TRUE(policy->accepts_any());
  auto p = policy->Check("WHOEVER", "198.51.100.4");
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->store && p->query && p->retrieve);
}

TEST(AccessPolicy, ModalityPeersFromTheirHostOnly) {
  DimseConfig config;
  config.accept = {"CT1"};
  config.modalities["PACS"] = {"PACS", "127.0.0.2", 104};
  config.modalities["LOCALNAME"] = {"LOCALNAME", "localhost", 104};
  auto policy = AccessPolicy::FromConfig(config);
  ASSERT_TRUE(policy.ok());
  EXPECT_TRUE(policy->Check("PACS", "127.0.0.2").has_value());
  EXPECT_FALSE(policy->Check("PACS", "127.0.0.3").has_value());
  EXPECT_TRUE(policy->Check("LOCALNAME", "127.0.0.1").has_value());  // resolved at start
  EXPECT_FALSE(policy->Check("LOCALNAME", "10.1.1.1").has_value());
}

TEST(AccessPolicy, FileRulesAddUpAndUnknownsAreRefused) {
  const std::string path = ::testing::TempDir() + "/radflow-access-rules.json";
  {
    std::ofstream out(path);
    out << R"([{"ae":"CT1","hosts":["10.0.0.0/8"],"store":true},
               {"ae":"CT1","hosts":["10.1.0.0/16"],"query":true},
               {"ae":"*","hosts":["192.0.2.0/24"],"query":true}])";
  }
  DimseConfig config;
  config.access_file = path;
  auto policy = AccessPolicy::FromConfig(config);
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  auto far = policy->Check("CT1", "10.2.0.1");
  ASSERT_TRUE(far.has_value());
  EXPECT_TRUE(far->store);
  EXPECT_FALSE(far->query);
  auto near = policy->Check("CT1", "10.1.0.1");
  ASSERT_TRUE(near.has_value());
  EXPECT_TRUE(near->store && near->query);
  EXPECT_FALSE(near->retrieve);
  auto wildcard = policy->Check("WS7", "192.0.2.9");
  ASSERT_TRUE(wildcard.has_value());
  EXPECT_TRUE(wildcard->query);
  EXPECT_FALSE(wildcard->store);
  EXPECT_FALSE(policy->Check("CT1", "172.16.0.1").has_value());
  // A file replaces the loopback default too.
  EXPECT_FALSE(policy->Check("ANYONE", "127.0.0.1").has_value());
  std::remove(path.c_str());
}

TEST(AccessPolicy, UnreadableFileIsAnError) {
  DimseConfig config;
  config.access_file = "/nonexistent/radflow-rules.json";
  auto policy = AccessPolicy::FromConfig(config);
  ASSERT_FALSE(policy.ok());
  EXPECT_NE(policy.status().message().find("/nonexistent/radflow-rules.json"), std::string::npos);
}

}  // namespace
}  // namespace radflow::dimse
