// Conformance problems stored with the instance (migration 013) and read back per study.
#include <gtest/gtest.h>

#include "../test_data.h"
#include "dicom/conformance.h"
#include "dicom/instance.h"
#include "storage/index.h"

namespace radflow::storage {
namespace {

using radflow::testing::DataPath;

InstanceEntry EntryFor(const std::string& path, const std::string& blob) {
  auto parsed = dicom::ParsePart10File(path);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  InstanceEntry e;
  e.instance = parsed.value();
  e.blob_path = blob;
  e.blob_size = 1;
  auto problems = dicom::CheckConformance(path);
  EXPECT_TRUE(problems.ok());
  e.conformance_problems = problems.value();
  return e;
}

TEST(IndexConformance, StoredWithTheInstanceAndListedPerStudy) {
  radflow::testing::ScratchDir dir;
  auto index = Index::Open(dir.str() + "/index.db");
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  // pathml's slide (UIDs of 65/66 characters: stored, and reported) and a conformant one.
  const auto bad = EntryFor(DataPath("wsi/pathml_negative/small_dicom.dcm"), "a/1");
  const auto good = EntryFor(DataPath("wsi/highdicom/sm_image.dcm"), "a/2");
  ASSERT_GT(bad.conformance_problems.size(), 20u);
  ASSERT_TRUE(good.conformance_problems.empty());
  ASSERT_TRUE(index.value()->Commit(bad, false).ok());
  ASSERT_TRUE(index.value()->Commit(good, false).ok());

  auto listed = index.value()->Conformance(bad.instance.study_instance_uid);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  const auto& c = listed->front();
  EXPECT_EQ(c.sop_uid, bad.instance.sop_instance_uid);
  EXPECT_EQ(c.series_uid, bad.instance.series_instance_uid);
  EXPECT_EQ(c.sop_class_uid, "1.2.840.10008.5.1.4.1.1.77.1.6");
  EXPECT_EQ(c.problems, bad.conformance_problems);  // order and text kept, one per line
  bool uid_length = false;
  for (const auto& p : c.problems) uid_length |= p.find("SOPInstanceUID (0008,0018) is 66 characters") == 0;
  EXPECT_TRUE(uid_length);

  listed = index.value()->Conformance(good.instance.study_instance_uid);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE(listed->front().problems.empty());

  EXPECT_EQ(index.value()->Conformance("2.25.1").status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace radflow::storage
