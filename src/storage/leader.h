// One node at a time for a background duty on a shared index (issue 15; the compactor):
// a PostgreSQL session advisory lock, held on a connection of its own for as long as this
// node keeps the duty. SQLite has one node: always the leader, no SQL.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"

namespace radflow::storage {

class Db;

class LeaderLock {
 public:
  // `duty` names the lock (two duties never exclude each other).
  static Result<std::unique_ptr<LeaderLock>> Open(const std::string& location, const std::string& duty);
  ~LeaderLock();
  // Whether this node holds the duty now: takes the lock when free, keeps it when held.
  // A lost connection loses the lock (the server drops it with the session); the next call
  // takes it again if no other node did meanwhile. Errors count as not leading.
  bool Hold();
  // Gives the duty up (another node may take it).
  void Release();

 private:
  LeaderLock() = default;
  std::string duty_;
  std::unique_ptr<Db> db_;  // null: SQLite, always the leader
  bool held_ = false;
  std::mutex mu_;
};

}  // namespace radflow::storage
