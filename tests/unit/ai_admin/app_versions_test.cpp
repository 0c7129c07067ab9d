// Several installed versions of one app (ai/manifest.h LoadApps, CompareVersions): each
// folder holds one manifest of an id, the newest version is the default, a later folder's
// same version overrides.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../test_data.h"
#include "ai/app.h"
#include "ai/manifest.h"

namespace radflow::ai {
namespace {

TEST(CompareVersionsTest, SemanticOrder) {
  EXPECT_LT(CompareVersions("1.2.0", "1.10.0"), 0);  // numerically, not as text
  EXPECT_GT(CompareVersions("2.0", "1.99.99"), 0);
  EXPECT_EQ(CompareVersions("1.2", "1.2.0"), 0);
  EXPECT_EQ(CompareVersions("1.2.0+build7", "1.2.0"), 0);
  EXPECT_LT(CompareVersions("1.2.0-rc1", "1.2.0"), 0);
  EXPECT_LT(CompareVersions("1.2.0-rc1", "1.2.0-rc2"), 0);
  EXPECT_LT(CompareVersions("1.2.0-alpha", "1.2.0-alpha.1"), 0);
  EXPECT_LT(CompareVersions("1.2.9", "1.2.a"), 0);  // numbers before text
  EXPECT_EQ(CompareVersions("01.2", "1.2"), 0);
  EXPECT_EQ(CompareVersions("", "0"), 0);
}

class VersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterBuiltin("test-echo", [](const AppInput&) -> Result<AppOutput> { return AppOutput{}; });
  }
  std::string Folder(const std::string& name) {
    std::string dir = dir_.str() + "/" + name;
    std::filesystem::create_directories(dir);
    return dir;
  }
  static void Write(const std::string& dir, const std::string& file, const std::string& id,
                    const std::string& version, const std::string& name = "App") {
    std::ofstream(dir + "/" + file) << R"({"id": ")" << id << R"(", "name": ")" << name << R"(", "version": ")"
                                    << version << R"(", "runner": "builtin:test-echo"})";
  }
  radflow::testing::ScratchDir dir_;
};

TEST_F(VersionsTest, EveryVersionIsInstalledAndTheNewestIsTheDefault) {
  const std::string a = Folder("shipped"), b = Folder("site"), c = Folder("later");
  Write(a, "x.json", "ct-x", "1.10.0");
  Write(a, "y.json", "ct-y", "3.0.0");
  Write(b, "x.json", "ct-x", "1.2.0");
  Write(c, "x.json", "ct-x", "1.2.0", "App (site build)");  // same version: overrides b's
  LoadedApps loaded = LoadApps({a, b, c});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors[0];
  ASSERT_EQ(loaded.apps.size(), 2u);
  EXPECT_EQ(loaded.apps[0].id, "ct-x");
  EXPECT_EQ(loaded.apps[0].version, "1.10.0");
  ASSERT_EQ(loaded.versions.size(), 3u);
  auto x = loaded.Versions("ct-x");
  ASSERT_EQ(x.size(), 2u);
  EXPECT_EQ(x[0]->version, "1.10.0");  // newest first
  EXPECT_EQ(x[1]->version, "1.2.0");
  EXPECT_EQ(x[1]->name, "App (site build)");
  EXPECT_EQ(x[1]->source, c + "/x.json");
  EXPECT_EQ(loaded.Find("ct-x")->version, "1.10.0");
  ASSERT_NE(loaded.Find("ct-x", "1.2"), nullptr);  // 1.2 == 1.2.0
  EXPECT_EQ(loaded.Find("ct-x", "1.2")->version, "1.2.0");
  EXPECT_EQ(loaded.Find("ct-x", "9"), nullptr);
  EXPECT_TRUE(loaded.Versions("nothing").empty());
}

TEST_F(VersionsTest, OneFolderHoldsOneManifestOfAnId) {
  const std::string a = Folder("one");
  Write(a, "a.json", "ct-x", "1.0.0");
  Write(a, "b.json", "ct-x", "2.0.0");
  LoadedApps loaded = LoadApps({a});
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_EQ(loaded.errors[0], a + "/b.json: id: duplicate id 'ct-x' (already declared in " + a + "/a.json)");
  EXPECT_EQ(loaded.versions.size(), 1u);
}

TEST_F(VersionsTest, ManifestFileAsJson) {
  const std::string a = Folder("yaml");
  std::ofstream(a + "/m.yaml") << "id: ct-z\nname: Z\nversion: \"1.0\"\nrunner: builtin:test-echo\n";
  auto json = ManifestFileAsJson(a + "/m.yaml");
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_NE(json->find("\"version\":\"1.0\""), std::string::npos) << *json;
  EXPECT_EQ(ManifestFileAsJson(a + "/none.json").status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace radflow::ai
