// Index test data shared by index_test.cpp (SQLite) and storage_pg/pg_index_test.cpp
// (PostgreSQL): instance entries, the five-instance sample both fixtures start from, and a
// query helper.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "query/matching.h"
#include "storage/index.h"

namespace radflow::storage::index_test {

inline InstanceEntry MakeEntry(const std::string& patient, const std::string& study,
                               const std::string& series, const std::string& sop,
                               const std::string& modality, const std::string& date = "20200315") {
  namespace t = dicom::tags;
  InstanceEntry e;
  auto& in = e.instance;
  in.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
  in.sop_instance_uid = sop;
  in.study_instance_uid = study;
  in.series_instance_uid = series;
  in.transfer_syntax_uid = "1.2.840.10008.1.2.1";
  in.attributes.Set(t::kPatientID, patient);
  in.attributes.Set(t::kPatientName, "Doe^" + patient);
  in.attributes.Set(t::kModality, modality);
  in.attributes.Set(t::kStudyDate, date);
  in.attributes.Set(t::kStudyTime, "101500");
  in.attributes.Set(t::kInstanceNumber, sop.substr(sop.rfind('.') + 1));
  e.blob_path = "blob/" + sop;
  e.blob_size = 100;
  return e;
}

// Two patients; P1 has a CT+SR study and an MR study; P2 one CT study in 2021.
inline std::vector<InstanceEntry> SampleEntries() {
  return {MakeEntry("P1", "1.1", "1.1.1", "1.1.1.1", "CT"),
          MakeEntry("P1", "1.1", "1.1.1", "1.1.1.2", "CT"),
          MakeEntry("P1", "1.1", "1.1.2", "1.1.2.1", "SR"),
          MakeEntry("P1", "1.2", "1.2.1", "1.2.1.1", "MR", "20190101"),
          MakeEntry("P2", "2.1", "2.1.1", "2.1.1.1", "CT", "20210704")};
}

inline std::vector<Row> FindAt(Index& index, ResourceLevel level,
                               std::vector<std::pair<dicom::Tag, std::string>> keys) {
  auto q = query::BuildQuery(level, keys);
  EXPECT_TRUE(q.ok()) << q.status().ToString();
  auto rows = index.Find(q.value());
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  return rows.ok() ? rows.value() : std::vector<Row>{};
}

}  // namespace radflow::storage::index_test
