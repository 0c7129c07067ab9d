#include "security/roles.h"

#include <array>
#include <utility>

namespace radflow::security {

namespace {
constexpr std::array<std::pair<Role, std::string_view>, 6> kNames{{
    {Role::kAdministrator, "administrator"},
    {Role::kRadiologist, "radiologist"},
    {Role::kTechnologist, "technologist"},
    {Role::kReferring, "referring"},
    {Role::kResearcher, "researcher"},
    {Role::kAiService, "ai-service"},
}};
}  // namespace

std::string_view RoleName(Role role) {
  for (const auto& [r, n] : kNames) {
    if (r == role) return n;
  }
  return "";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (const auto& [r, n] : kNames) {
    if (n == name) return r;
  }
  return std::nullopt;
}

}  // namespace radflow::security
