// The built-in app registry: names → C++ functions, filled at start-up, read by many threads.
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "ai/app.h"

namespace radflow::ai {
namespace {

struct Registry {
  std::shared_mutex mutex;
  std::map<std::string, std::unique_ptr<BuiltinApp>> apps;
  // A replaced app is kept so that a pointer FindBuiltin returned earlier stays valid.
  std::vector<std::unique_ptr<BuiltinApp>> retired;
};

Registry& TheRegistry() {
  static Registry registry;
  return registry;
}

}  // namespace

// An empty name or an empty function is ignored; registering a name again replaces its app.
void RegisterBuiltin(const std::string& name, BuiltinApp app) {
  if (name.empty() || !app) return;
  Registry& r = TheRegistry();
  std::unique_lock lock(r.mutex);
  auto& slot = r.apps[name];
  if (slot) r.retired.push_back(std::move(slot));
  slot = std::make_unique<BuiltinApp>(std::move(app));
}

const BuiltinApp* FindBuiltin(const std::string& name) {
  Registry& r = TheRegistry();
  std::shared_lock lock(r.mutex);
  auto it = r.apps.find(name);
  return it == r.apps.end() ? nullptr : it->second.get();
}

std::vector<std::string> BuiltinNames() {
  Registry& r = TheRegistry();
  std::shared_lock lock(r.mutex);
  std::vector<std::string> names;
  names.reserve(r.apps.size());
  for (const auto& [name, app] : r.apps) names.push_back(name);
  return names;
}

}  // namespace radflow::ai
