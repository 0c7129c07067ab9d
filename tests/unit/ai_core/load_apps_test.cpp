// LoadApps over fixture folders: good manifests load, bad ones are reported and skipped,
// a later folder overrides an id, a duplicate id in one folder is an error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "ai/app.h"
#include "ai/manifest.h"

namespace radflow::ai {
namespace {

const std::string kFixtures = RADFLOW_SOURCE_DIR "/tests/fixtures/manifests";

class LoadAppsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterBuiltin("test-echo", [](const AppInput&) -> Result<AppOutput> { return AppOutput{}; });
  }
};

std::vector<std::string> Ids(const LoadedApps& loaded) {
  std::vector<std::string> ids;
  for (const auto& app : loaded.apps) ids.push_back(app.id);
  return ids;
}

bool HasError(const LoadedApps& loaded, const std::string& error) {
  return std::find(loaded.errors.begin(), loaded.errors.end(), error) != loaded.errors.end();
}

TEST_F(LoadAppsTest, GoodManifestsLoadAndBadOnesAreReported) {
  const std::string dir = kFixtures + "/mixed";
  LoadedApps loaded = LoadApps({dir});
  EXPECT_EQ(Ids(loaded), (std::vector<std::string>{"a-chest", "b-brain"}));
  EXPECT_EQ(loaded.apps[0].version, "1.0.0");
  EXPECT_EQ(loaded.apps[0].source, dir + "/a-chest.json");
  EXPECT_EQ(loaded.apps[1].source, dir + "/b-brain.yaml");

  // Five bad files, five errors; README.txt is not a manifest and is not mentioned.
  ASSERT_EQ(loaded.errors.size(), 5u);
  EXPECT_TRUE(HasError(loaded, dir + "/c-bad-range.json: rules[1].range.min: expected a number"));
  EXPECT_TRUE(HasError(loaded, dir + "/d-unknown-key.yml: colour: unknown field"));
  EXPECT_TRUE(HasError(loaded, dir +
                                   "/e-duplicate.json: id: duplicate id 'a-chest' (already "
                                   "declared in " +
                                   dir + "/a-chest.json)"));
  bool unregistered = false, broken = false;
  for (const auto& e : loaded.errors) {
    unregistered = unregistered || e.rfind(dir +
                                               "/f-unregistered.json: runner: unknown builtin app "
                                               "'no-such-app' (registered: ",
                                           0) == 0;
    broken = broken || e.rfind(dir + "/g-broken.yaml: manifest: invalid YAML: ", 0) == 0;
  }
  EXPECT_TRUE(unregistered);
  EXPECT_TRUE(broken);
}

TEST_F(LoadAppsTest, LaterFolderOverridesAnId) {
  LoadedApps loaded = LoadApps({kFixtures + "/mixed", kFixtures + "/override"});
  ASSERT_EQ(Ids(loaded), (std::vector<std::string>{"a-chest", "b-brain"}));
  EXPECT_EQ(loaded.apps[0].version, "2.0.0");
  EXPECT_EQ(loaded.apps[0].name, "Chest app (site override)");
  EXPECT_EQ(loaded.apps[0].priority, 10);
  EXPECT_EQ(loaded.apps[0].source, kFixtures + "/override/a-chest.yaml");
  EXPECT_EQ(loaded.errors.size(), 5u);  // the overriding folder adds none

  // The site folder's manifest is another version (2.0.0): both are installed and the
  // newest is the default whatever the folders' order (issue 13, docs/app-library.md).
  LoadedApps reversed = LoadApps({kFixtures + "/override", kFixtures + "/mixed"});
  EXPECT_EQ(reversed.apps[0].version, "2.0.0");
  ASSERT_EQ(reversed.Versions("a-chest").size(), 2u);
  EXPECT_EQ(reversed.Versions("a-chest")[1]->version, "1.0.0");
}

TEST_F(LoadAppsTest, MissingFolderIsReportedAndOthersStillLoad) {
  LoadedApps loaded = LoadApps({kFixtures + "/no-such-folder", kFixtures + "/override"});
  EXPECT_EQ(Ids(loaded), std::vector<std::string>{"a-chest"});
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_EQ(loaded.errors[0].rfind(kFixtures + "/no-such-folder: cannot read the app folder", 0),
            0u);
}

TEST_F(LoadAppsTest, ModelPathsResolveAgainstTheManifestFolder) {
  // A copy of the folder elsewhere resolves to its own model file.
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("radflow_apps_" + std::to_string(::getpid()));
  fs::create_directories(dir / "models");
  fs::copy_file(kFixtures + "/good/ct-lung-lesions.yaml", dir / "app.yaml");
  LoadedApps without_model = LoadApps({dir.string()});
  ASSERT_EQ(without_model.errors.size(), 1u);
  EXPECT_EQ(without_model.errors[0],
            (dir / "app.yaml").string() +
                ": runner.model: file not found: " + (dir / "models/lung.onnx").string());

  std::ofstream(dir / "models/lung.onnx") << "weights";
  LoadedApps loaded = LoadApps({dir.string()});
  ASSERT_EQ(loaded.apps.size(), 1u) << (loaded.errors.empty() ? "" : loaded.errors[0]);
  EXPECT_EQ(loaded.apps[0].runner.model, (dir / "models/lung.onnx").string());
  fs::remove_all(dir);
}

TEST(ShippedAppsTest, EveryManifestInTheRepositoryParses) {
  // apps/ (shipped) and the engine's test apps: the validator accepts what others wrote.
  namespace fs = std::filesystem;
  int checked = 0;
  for (const std::string dir : {"/apps", "/tests/fixtures/engine_apps"}) {
    std::error_code ec;
    for (fs::directory_iterator it(RADFLOW_SOURCE_DIR + dir, ec), end; !ec && it != end;
         it.increment(ec)) {
      const std::string ext = it->path().extension().string();
      if (ext != ".json" && ext != ".yaml" && ext != ".yml") continue;
      auto m = LoadManifestFile(it->path().string());
      EXPECT_TRUE(m.ok()) << m.status().message();
      ++checked;
    }
  }
  EXPECT_GE(checked, 1);
}

}  // namespace
}  // namespace radflow::ai
