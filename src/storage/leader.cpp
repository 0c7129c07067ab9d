#include "storage/leader.h"

#include "storage/db.h"

namespace radflow::storage {

namespace {
// The first key of the duties' two-key advisory locks ("rf"); JobStore's routing lock uses
// class 29287, and the 64-bit key space of the migrations' lock is separate (PostgreSQL keeps
// the two forms apart).
constexpr int kLeaderLockClass = 0x7266;
}  // namespace

Result<std::unique_ptr<LeaderLock>> LeaderLock::Open(const std::string& location, const std::string& duty) {
  std::unique_ptr<LeaderLock> lock(new LeaderLock());
  lock->duty_ = duty;
  if (IsPostgresLocation(location)) {
    auto db = OpenDb(location);
    if (!db.ok()) return db.status();
    lock->db_ = std::move(db.value());
  }
  return lock;
}

LeaderLock::~LeaderLock() { Release(); }

bool LeaderLock::Hold() {
  std::lock_guard g(mu_);
  if (!db_) return true;
  // Held already (by this session: the count must not grow) or taken now. CASE evaluates in
  // order; a reconnected session holds nothing and tries again.
  const std::string key = std::to_string(kLeaderLockClass);
  auto p = db_->Prepare(
      "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
      " AND pid = pg_backend_pid() AND classid = " + key + " AND objid = hashtext(?)::oid"
      " AND objsubid = 2 AND granted) THEN true ELSE pg_try_advisory_lock(" + key + ", hashtext(?1)) END");
  if (!p.ok()) return false;
  Statement st(p.value());
  st.Bind(1, duty_);
  Status s;
  held_ = st.Step(&s) && st.Int(0) == 1;
  return held_;
}

void LeaderLock::Release() {
  std::lock_guard g(mu_);
  if (!db_ || !held_) return;
  held_ = false;
  auto p = db_->Prepare("SELECT pg_advisory_unlock(" + std::to_string(kLeaderLockClass) + ", hashtext(?))");
  if (!p.ok()) return;
  Statement st(p.value());
  st.Bind(1, duty_);
  Status s;
  while (st.Step(&s)) {
  }
}

}  // namespace radflow::storage
