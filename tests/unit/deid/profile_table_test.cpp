#include "deid/profile_table.h"

#include <gtest/gtest.h>

#include "deid/deidentify.h"

namespace radflow::deid {
namespace {

TEST(ProfileTable, CompiledTableParsesCompletely) {
  const ProfileTable& t = ProfileTable::Get();
  EXPECT_EQ(t.errors(), 0);
  EXPECT_EQ(t.rows().size(), 460u);  // Table E.1-1 as extracted (docs/deidentification.md: 460 rows)
  ASSERT_NE(t.private_rule(), nullptr);
  EXPECT_EQ(t.private_rule()->basic, "X");
  EXPECT_EQ(t.private_rule()->option[static_cast<int>(ProfileOption::kRetainSafePrivate)], 'C');
}

TEST(ProfileTable, FindsExactRowsAndRepeatingGroupRules) {
  const ProfileTable& t = ProfileTable::Get();
  const ProfileRow* name = t.Find(0x0010, 0x0010);
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(name->keyword, "PatientName");
  EXPECT_EQ(name->basic, "Z");
  const ProfileRow* overlay = t.Find(0x6002, 0x3000);
  ASSERT_NE(overlay, nullptr);
  EXPECT_EQ(overlay->keyword, "OverlayData");
  const ProfileRow* curve = t.Find(0x5004, 0x1234);
  ASSERT_NE(curve, nullptr);
  EXPECT_EQ(curve->keyword, "CurveData");
  EXPECT_EQ(t.Find(0x0008, 0x0060), nullptr);  // Modality is not in the profile
  EXPECT_EQ(t.Find(0x0011, 0x0010), nullptr);  // odd groups go by the private rule
}

TEST(ProfileTable, ResolvesCompoundCodesAndOptions) {
  const ProfileTable& t = ProfileTable::Get();
  DeidOptions basic;
  EXPECT_EQ(Resolve(*t.Find(0x0008, 0x0050), basic), Action::kZero);    // Accession Z
  EXPECT_EQ(Resolve(*t.Find(0x0008, 0x0081), basic), Action::kRemove);  // Institution Address X
  EXPECT_EQ(Resolve(*t.Find(0x0008, 0x1010), basic), Action::kDummy);   // Station Name X/Z/D
  EXPECT_EQ(Resolve(*t.Find(0x0008, 0x0022), basic), Action::kZero);    // Acquisition Date X/Z
  EXPECT_EQ(Resolve(*t.Find(0x0008, 0x1140), basic), Action::kKeep);    // X/Z/U*: UIDs inside
  EXPECT_EQ(Resolve(*t.Find(0x0020, 0x000D), basic), Action::kUid);     // Study Instance UID
  EXPECT_EQ(Resolve(*t.Find(0x0008, 0x103E), basic), Action::kRemove);  // Series Description

  DeidOptions o;
  o.retain_device = true;
  o.retain_dates = true;
  o.clean_descriptors = true;
  o.retain_patient_chars = true;
  EXPECT_EQ(Resolve(*t.Find(0x0008, 0x1010), o), Action::kKeep);   // Station Name
  EXPECT_EQ(Resolve(*t.Find(0x0008, 0x0020), o), Action::kClean);  // Study Date: shifted
  EXPECT_EQ(Resolve(*t.Find(0x0008, 0x103E), o), Action::kClean);  // Series Description
  EXPECT_EQ(Resolve(*t.Find(0x0010, 0x1010), o), Action::kKeep);   // Patient's Age
  EXPECT_EQ(Resolve(*t.Find(0x0010, 0x0030), o), Action::kZero);   // Birth Date: no option
  // Device UID has Retain UIDs K and Retain Device K: the device option keeps it.
  EXPECT_EQ(Resolve(*t.Find(0x0018, 0x1002), o), Action::kKeep);
  EXPECT_EQ(Resolve(*t.Find(0x0018, 0x1002), basic), Action::kUid);
}

TEST(ProfileTable, ParseCountsMalformedRows) {
  ProfileTable t = ProfileTable::Parse(
      "# comment\nheader\n(0010,0010)\tPatientName\tZ\t\t\t\t\t\t\t\t\t\t\tPatient's Name\n"
      "(00ZZ,0010)\tBad\tZ\t\t\t\t\t\t\t\t\t\t\tbad tag\nshort\tline\n");
  EXPECT_EQ(t.rows().size(), 1u);
  EXPECT_EQ(t.errors(), 2);
}

}  // namespace
}  // namespace radflow::deid
