// The roles of radflow's users (docs/access-control.md). Owner: H1.
#pragma once

#include <optional>
#include <string_view>

namespace radflow::security {

enum class Role { kAdministrator, kRadiologist, kTechnologist, kReferring, kResearcher, kAiService };

std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

}  // namespace radflow::security
