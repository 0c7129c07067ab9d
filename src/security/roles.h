// The roles of radflow's users (docs/access-control.md). Owner: H1.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace radflow::security {

enum class Role { kAdministrator, kRadiologist, kTechnologist, kReferring, kResearcher, kAiService };

// Every role, in the order above.
inline constexpr std::array<Role, 6> kAllRoles{Role::kAdministrator, Role::kRadiologist, Role::kTechnologist,
                                               Role::kReferring,     Role::kResearcher,  Role::kAiService};

// "administrator", "radiologist", "technologist", "referring", "researcher", "ai-service".
std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

}  // namespace radflow::security
