#include "cli/routes_command.h"

#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "access/route_rules.h"

namespace radflow::cli {

// `radflow routes [--format text|json]`: the access rules (docs/access-control.md), the same
// table GET /api/v1/admin/routes serves.
void AddRoutesCommands(CLI::App& app, std::function<int()>& run) {
  auto format = std::make_shared<std::string>("text");
  auto* routes = app.add_subcommand("routes", "print the access rules: every route, its roles, scope and audit event");
  routes->add_option("--format", *format, "text | json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  routes->callback([&run, format] {
    run = [format] {
      std::cout << (*format == "json" ? access::RulesJson() + "\n" : access::RulesText());
      return 0;
    };
  });
}

}  // namespace radflow::cli
