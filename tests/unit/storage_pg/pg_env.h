// One PostgreSQL test cluster for the whole suite (support/store_backend.h's SharedPgServer:
// started by the first test that needs it, stopped at exit); each test gets a database of its
// own. A cluster that cannot start fails the tests with the reason: PostgreSQL is part of the
// build's requirements (setup.sh).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "support/store_backend.h"

namespace radflow::storage {

class PgTest : public ::testing::Test {
 protected:
  // A fresh database's URI; "" after a failed assertion.
  std::string NewDbUri() { return radflow::testing::NewEmptyLocation(Backend::kPostgres, ""); }
};

}  // namespace radflow::storage
