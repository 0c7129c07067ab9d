// The built-in app registry: register, find, list, replace; concurrent readers.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "ai/app.h"

namespace radflow::ai {
namespace {

BuiltinApp Summary(const std::string& text) {
  return [text](const AppInput&) -> Result<AppOutput> {
    AppOutput out;
    out.summary = text;
    return out;
  };
}

TEST(RegistryTest, RegisterFindAndList) {
  RegisterBuiltin("registry-test-a", Summary("a"));
  RegisterBuiltin("registry-test-b", Summary("b"));
  const BuiltinApp* a = FindBuiltin("registry-test-a");
  ASSERT_NE(a, nullptr);
  auto out = (*a)(AppInput{});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->summary, "a");
  EXPECT_EQ(FindBuiltin("registry-test-missing"), nullptr);

  const auto names = BuiltinNames();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::count(names.begin(), names.end(), "registry-test-a"), 1);
  EXPECT_EQ(std::count(names.begin(), names.end(), "registry-test-b"), 1);
}

TEST(RegistryTest, EmptyNameOrFunctionIsIgnored) {
  const size_t before = BuiltinNames().size();
  RegisterBuiltin("", Summary("x"));
  RegisterBuiltin("registry-test-empty", BuiltinApp{});
  EXPECT_EQ(BuiltinNames().size(), before);
  EXPECT_EQ(FindBuiltin("registry-test-empty"), nullptr);
}

TEST(RegistryTest, ReplacingKeepsEarlierPointersValid) {
  RegisterBuiltin("registry-test-r", Summary("old"));
  const BuiltinApp* old_app = FindBuiltin("registry-test-r");
  RegisterBuiltin("registry-test-r", Summary("new"));
  const BuiltinApp* new_app = FindBuiltin("registry-test-r");
  ASSERT_NE(new_app, nullptr);
  EXPECT_EQ((*new_app)(AppInput{})->summary, "new");
  EXPECT_EQ((*old_app)(AppInput{})->summary, "old");  // still callable
}

TEST(RegistryTest, ConcurrentReadersWhileRegistering) {
  RegisterBuiltin("registry-test-c", Summary("c"));
  std::atomic<int> found{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) found += FindBuiltin("registry-test-c") != nullptr ? 1 : 0;
    });
  }
  for (int i = 0; i < 200; ++i)
    RegisterBuiltin("registry-test-w" + std::to_string(i), Summary("w"));
  for (auto& r : readers) r.join();
  EXPECT_EQ(found.load(), 8000);
  EXPECT_NE(FindBuiltin("registry-test-w199"), nullptr);
}

}  // namespace
}  // namespace radflow::ai
