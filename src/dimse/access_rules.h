// Which DICOM peers may do what (docs/dicom-access.md): per calling AE title, from which
// addresses, store / query / retrieve. Unknown callers are refused at association time
// (A-ASSOCIATE-RJ, PS3.8 7.1.1.9); a known caller doing an operation it lacks gets the
// operation's "Refused: Not Authorized" status (0x0124, PS3.7 C.5).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace radflow::dimse {

struct DimseConfig;

// An IPv4 or IPv6 network in CIDR notation ("10.0.0.0/8", "::1", "fd00::/8"). IPv4 is held
// as an IPv4-mapped IPv6 address (RFC 4291 2.5.5.2) so that "127.0.0.1" also matches a peer
// reported as "::ffff:127.0.0.1".
struct IpNetwork {
  std::array<uint8_t, 16> address{};
  int prefix = 128;  // bits of `address` that must match

  static Result<IpNetwork> Parse(std::string_view text);
  bool Contains(std::string_view ip) const;
  std::string ToString() const;
};

// The 16 bytes of an IPv4 (mapped) or IPv6 address in text form; nullopt when it is not one.
std::optional<std::array<uint8_t, 16>> ParseIpAddress(std::string_view text);

struct Permissions {
  bool store = false, query = false, retrieve = false;
};

struct AccessRule {
  std::string ae;                 // calling AE title; "*" = any
  std::vector<IpNetwork> hosts;   // empty: from any address
  Permissions allow;
  std::string origin;             // where the rule came from, for the log
};

// The rules file: a JSON array of {"ae", "hosts"?, "store"?, "query"?, "retrieve"?}
// (omitted flags are false). Errors name the source and the rule's index.
Result<std::vector<AccessRule>> ParseAccessRules(std::string_view json, const std::string& source);

class AccessPolicy {
 public:
  // From the configuration: the rules file, the --dicom-accept names, the --modality peers
  // (their host names resolved now) and, when neither a file nor names are given, the
  // loopback default.
  static Result<AccessPolicy> FromConfig(const DimseConfig& config);
  AccessPolicy() = default;
  AccessPolicy(std::vector<AccessRule> rules, bool accept_any)
      : rules_(std::move(rules)), any_(accept_any) {}

  // What a caller may do; nullopt when no rule names it from that address (the association
  // is rejected). Several matching rules add up.
  std::optional<Permissions> Check(std::string_view calling_ae, std::string_view peer_ip) const;
  bool accepts_any() const { return any_; }
  const std::vector<AccessRule>& rules() const { return rules_; }

 private:
  std::vector<AccessRule> rules_;
  bool any_ = false;
};

}  // namespace radflow::dimse
