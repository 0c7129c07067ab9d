#include "dimse/access_rules.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <charconv>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "dimse/dimse_server.h"

namespace radflow::dimse {

namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

Permissions All() { return {true, true, true}; }

}  // namespace

std::optional<std::array<uint8_t, 16>> ParseIpAddress(std::string_view text) {
  std::string s = Trim(text);
  std::array<uint8_t, 16> out{};
  in_addr v4{};
  if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xFF;  // ::ffff:a.b.c.d
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

Result<IpNetwork> IpNetwork::Parse(std::string_view text) {
  std::string s = Trim(text);
  auto slash = s.find('/');
  std::string addr = s.substr(0, slash);
  auto ip = ParseIpAddress(addr);
  if (!ip) return Status(ErrorCode::kInvalidArgument, "'" + s + "' is not an IP address or CIDR network");
  const bool v4 = addr.find(':') == std::string::npos;
  IpNetwork net;
  net.address = *ip;
  net.prefix = 128;
  if (slash != std::string::npos) {
    std::string bits = s.substr(slash + 1);
    int n = -1;
    auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), n);
    const int max = v4 ? 32 : 128;
    if (bits.empty() || ec != std::errc() || end != bits.data() + bits.size() || n < 0 || n > max) {
      return Status(ErrorCode::kInvalidArgument, "'" + s + "': the prefix length must be 0.." +
                                                     std::to_string(max));
    }
    net.prefix = v4 ? n + 96 : n;
  }
  // Clear the host bits, so that "10.1.2.3/8" means 10.0.0.0/8.
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(net.prefix - i * 8, 0, 8);
    net.address[i] &= static_cast<uint8_t>(0xFF00 >> keep);
  }
  return net;
}

bool IpNetwork::Contains(std::string_view ip) const {
  auto a = ParseIpAddress(ip);
  if (!a) return false;
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(prefix - i * 8, 0, 8);
    uint8_t mask = static_cast<uint8_t>(0xFF00 >> keep);
    if (((*a)[i] & mask) != address[i]) return false;
  }
  return true;
}

std::string IpNetwork::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (prefix >= 96 && std::memcmp(address.data(), kMapped, 12) == 0) {
    ::inet_ntop(AF_INET, address.data() + 12, buf, sizeof buf);
    return std::string(buf) + "/" + std::to_string(prefix - 96);
  }
  ::inet_ntop(AF_INET6, address.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix);
}

Result<std::vector<AccessRule>> ParseAccessRules(std::string_view json, const std::string& source) {
  auto fail = [&](const std::string& what) {
    return Status(ErrorCode::kInvalidArgument, source + ": " + what);
  };
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return fail("not valid JSON");
  if (!doc.is_array()) return fail("expected a JSON array of rules");
  std::vector<AccessRule> rules;
  for (size_t i = 0; i < doc.size(); ++i) {
    const auto& r = doc[i];
    const std::string where = "rule " + std::to_string(i + 1);
    if (!r.is_object()) return fail(where + ": expected an object");
    AccessRule rule;
    rule.origin = source + " " + where;
    for (const auto& [key, value] : r.items()) {
      if (key == "ae") {
        if (!value.is_string()) return fail(where + ": \"ae\" must be a string");
        rule.ae = Trim(value.get<std::string>());
        if (rule.ae.empty() || rule.ae.size() > 16) {
          return fail(where + ": \"ae\" must be 1 to 16 characters (an AE title, or *)");
        }
      } else if (key == "hosts") {
        if (!value.is_array()) return fail(where + ": \"hosts\" must be an array of addresses");
        for (const auto& h : value) {
          if (!h.is_string()) return fail(where + ": \"hosts\" must hold strings");
          auto net = IpNetwork::Parse(h.get<std::string>());
          if (!net.ok()) return fail(where + ": " + net.status().message());
          rule.hosts.push_back(net.value());
        }
        if (rule.hosts.empty()) return fail(where + ": \"hosts\" is empty (omit it for any address)");
      } else if (key == "store" || key == "query" || key == "retrieve") {
        if (!value.is_boolean()) return fail(where + ": \"" + key + "\" must be true or false");
        bool v = value.get<bool>();
        (key == "store" ? rule.allow.store : key == "query" ? rule.allow.query : rule.allow.retrieve) = v;
      } else {
        return fail(where + ": unknown field \"" + key + "\"");
      }
    }
    if (rule.ae.empty()) return fail(where + ": \"ae\" is missing");
    rules.push_back(std::move(rule));
  }
  return rules;
}

namespace {
// Every address a host name (or literal) resolves to, as single-address networks.
std::vector<IpNetwork> Resolve(const std::string& host) {
  std::vector<IpNetwork> out;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return out;
  for (addrinfo* p = res; p; p = p->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (p->ai_family == AF_INET) {
      ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr, buf, sizeof buf);
    } else if (p->ai_family == AF_INET6) {
      ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr, buf, sizeof buf);
    } else {
      continue;
    }
    if (auto net = IpNetwork::Parse(buf); net.ok()) out.push_back(net.value());
  }
  ::freeaddrinfo(res);
  return out;
}
}  // namespace

Result<AccessPolicy> AccessPolicy::FromConfig(const DimseConfig& config) {
  std::vector<AccessRule> rules;
  bool any = false;
  if (!config.access_file.empty()) {
    std::ifstream in(config.access_file);
    if (!in) {
      return Status(ErrorCode::kInvalidArgument,
                    "cannot read the DICOM access file '" + config.access_file + "'");
    }
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = ParseAccessRules(text.str(), config.access_file);
    if (!parsed.ok()) return parsed.status();
    rules = std::move(parsed.value());
  }
  bool named = false;
  for (const auto& item : config.accept) {
    // CLI11 splits on ','; a value given some other way may still hold commas.
    std::stringstream parts(item);
    std::string ae;
    while (std::getline(parts, ae, ',')) {
      ae = Trim(ae);
      if (ae.empty()) continue;
      std::string lower = ae;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "any") {
        any = true;
        continue;
      }
      if (ae.size() > 16) {
        return Status(ErrorCode::kInvalidArgument, "--dicom-accept: '" + ae + "' is longer than an AE title (16)");
      }
      rules.push_back({ae, {}, All(), "--dicom-accept"});
      named = true;
    }
  }
  for (const auto& [title, peer] : config.modalities) {
    auto hosts = Resolve(peer.host);
    if (hosts.empty()) {
      log::Warn("DICOM access: cannot resolve " + peer.host + " of modality " + title +
                "; its calls are refused until a restart resolves it");
      continue;
    }
    rules.push_back({title, std::move(hosts), All(), "--modality"});
  }
  if (config.access_file.empty() && !named && !any) {
    // The embedded default (docs/dicom-access.md): every caller on this machine.
    rules.push_back({"*", {IpNetwork::Parse("127.0.0.0/8").value(), IpNetwork::Parse("::1").value()},
                     All(), "loopback default"});
  }
  return AccessPolicy(std::move(rules), any);
}

std::optional<Permissions> AccessPolicy::Check(std::string_view calling_ae,
                                               std::string_view peer_ip) const {
  if (any_) return All();
  const std::string ae = Trim(calling_ae);
  std::optional<Permissions> granted;
  for (const auto& r : rules_) {
    if (r.ae != "*" && r.ae != ae) continue;
    bool from_ok = r.hosts.empty();
    for (const auto& net : r.hosts) from_ok = from_ok || net.Contains(peer_ip);
    if (!from_ok) continue;
    if (!granted) granted = Permissions{};
    granted->store = granted->store || r.allow.store;
    granted->query = granted->query || r.allow.query;
    granted->retrieve = granted->retrieve || r.allow.retrieve;
  }
  return granted;
}

}  // namespace radflow::dimse
