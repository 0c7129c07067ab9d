// A scratch index.db opened by storage::Index (which applies the migrations) and a JobStore
// on the same file, as the hub opens them.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>

#include "../test_data.h"
#include "storage/index.h"
#include "storage/job_store.h"

namespace radflow::storage {

class JobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  std::string db_path() const { return dir_.str() + "/index.db"; }

  // Closes both objects (the job store first) and opens them again on the same file.
  void Reopen() {
    jobs_.reset();
    index_.reset();
    auto idx = Index::Open(db_path());
    ASSERT_TRUE(idx.ok()) << idx.status().ToString();
    index_ = std::move(idx.value());
    auto js = JobStore::Open(db_path());
    ASSERT_TRUE(js.ok()) << js.status().ToString();
    jobs_ = std::move(js.value());
  }

  static Job MakeJob(const std::string& app, const std::string& series, int priority = 0) {
    Job j;
    j.app_id = app;
    j.app_version = "1.0";
    j.study_uid = "1.2.3";
    j.series_uid = series;
    j.priority = priority;
    j.max_attempts = 3;
    j.trigger = "series-stable";
    return j;
  }

  int64_t Enqueue(const Job& j) {
    auto id = jobs_->Enqueue(j);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? id.value() : 0;
  }

  Job GetJob(int64_t id) {
    auto j = jobs_->Get(id);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    EXPECT_TRUE(j.ok() && j->has_value()) << "no job " << id;
    return j.ok() && j->has_value() ? **j : Job{};
  }

  testing::ScratchDir dir_;
  std::unique_ptr<Index> index_;
  std::unique_ptr<JobStore> jobs_;
};

}  // namespace radflow::storage
