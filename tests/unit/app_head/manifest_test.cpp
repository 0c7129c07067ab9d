// The shipped manifest parses and routes the real head CT (and not the chest CT) to the app.
#include <gtest/gtest.h>

#include <filesystem>

#include "ai/manifest.h"
#include "ai/routing.h"

namespace radflow::ai {
namespace {

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".dcm") out.push_back(e.path().string());
  return out;
}

TEST(HeadBleedManifest, ParsesAndRoutesTheHeadCtOnly) {
  auto m = LoadManifestFile(RADFLOW_SOURCE_DIR "/apps/ct-head-bleed.json");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->id, "ct-head-bleed");
  EXPECT_EQ(m->runner.kind, Runner::Kind::kBuiltin);
  EXPECT_EQ(m->runner.builtin, "ct-head-bleed");
  EXPECT_EQ(m->resources.threads, 2);
  EXPECT_EQ(m->priority, 10);

  auto head = ReadSeriesFacts(Files(RADFLOW_SHARED_DATA "/dicom/ct_head_ge_tilt/dicom"));
  ASSERT_TRUE(head.ok()) << head.status().message();
  EXPECT_TRUE(EvaluateRules(m->rules, *head).matched) << EvaluateRules(m->rules, *head).reason;

  // A chest CT without BodyPartExamined: an absent attribute never matches.
  auto chest = ReadSeriesFacts(Files(RADFLOW_SHARED_DATA "/dicom/ct_chest_lung_dx/Lung_Dx-A0001/CT_5mm_lung_kernel"));
  ASSERT_TRUE(chest.ok()) << chest.status().message();
  const auto verdict = EvaluateRules(m->rules, *chest);
  EXPECT_FALSE(verdict.matched);
  std::printf("chest CT not routed: %s\n", verdict.reason.c_str());
}

}  // namespace
}  // namespace radflow::ai
