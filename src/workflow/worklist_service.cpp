#include "workflow/worklist_service.h"

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/log.h"
#include "storage/cluster_bus.h"
#include "workflow/reading_state.h"

namespace radflow::workflow {

// ---- EventFeed ------------------------------------------------------------------------

void EventFeed::Publish(const std::string& study_uid, const std::string& reason) {
  PublishRemote(study_uid, reason);
  std::function<void(const std::string&, const std::string&)> relay;
  {
    std::lock_guard lock(mu_);
    relay = relay_;
  }
  if (relay) relay(study_uid, reason);  // outside the lock: the bus may take its time
}

void EventFeed::PublishRemote(const std::string& study_uid, const std::string& reason) {
  {
    std::lock_guard lock(mu_);
    recent_.push_back({++seq_, study_uid, reason, UnixMillis()});
    if (recent_.size() > 1000) recent_.pop_front();
  }
  cv_.notify_all();
}

Status RelayOverBus(EventFeed& feed, storage::ClusterBus& bus) {
  // From the other nodes: appended here, not relayed again. A payload that is not ours is
  // dropped with a warning (anyone may NOTIFY on the channel).
  RADFLOW_RETURN_IF_ERROR(bus.Subscribe(kWorklistChannel, [&feed](const storage::BusMessage& m) {
    auto j = nlohmann::json::parse(m.payload, nullptr, false);
    if (!j.is_object() || !j.contains("study") || !j["study"].is_string() || !j.contains("reason") ||
        !j["reason"].is_string()) {
      log::Warn("worklist: ignoring a cluster event from " + m.node_id + " that is not {study, reason}");
      return;
    }
    feed.PublishRemote(j["study"].get<std::string>(), j["reason"].get<std::string>());
  }));
  feed.SetRelay([&bus](const std::string& study_uid, const std::string& reason) {
    // The replace handler: bytes that are not UTF-8 (a malformed UID) must not throw here.
    const std::string payload = nlohmann::json{{"study", study_uid}, {"reason", reason}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
    Status s = bus.Publish(kWorklistChannel, payload);
    if (!s.ok()) log::Warn("worklist: publishing " + reason + " of " + study_uid + " to the other nodes: " + s.ToString());
  });
  return Status::Ok();
}

void EventFeed::SetRelay(std::function<void(const std::string&, const std::string&)> relay) {
  std::lock_guard lock(mu_);
  relay_ = std::move(relay);
}

std::vector<WorklistEvent> EventFeed::Wait(uint64_t after, int timeout_ms) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
               [&] { return closed_ || seq_ > after; });
  std::vector<WorklistEvent> out;
  if (closed_) return out;
  for (const auto& e : recent_) {
    if (e.seq > after) out.push_back(e);
  }
  return out;
}

uint64_t EventFeed::Last() const {
  std::lock_guard lock(mu_);
  return seq_;
}

void EventFeed::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool EventFeed::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

// ---- WorklistService ------------------------------------------------------------------

WorklistService::WorklistService(storage::WorkflowStore& store, WorklistOptions options)
    : store_(store), options_(std::move(options)) {}

WorklistService::~WorklistService() { Stop(); }

Status WorklistService::Start() {
  const PriorityRule rule = options_.rule;
  // The rule may have changed since the scores were stored.
  RADFLOW_RETURN_IF_ERROR(store_.RescoreAll([&](storage::WorklistItem& w) { Score(rule, w); }));
  // The studies stored while no server ran: caught up on the worker thread, so that the
  // listeners start at once (an index filled with 100k studies took minutes here).
  Enqueue({Input::Kind::kCatchUp, "", ""});
  worker_ = std::thread([this] { Work(); });
  sweeper_ = std::thread([this] { Sweep(); });
  if (options_.prefetch) prefetcher_ = std::thread([this] { Prefetch(); });
  return Status::Ok();
}

void WorklistService::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  input_cv_.notify_all();
  events_.Close();
  if (worker_.joinable()) worker_.join();
  if (sweeper_.joinable()) sweeper_.join();
  if (prefetcher_.joinable()) prefetcher_.join();
}

// Runs on ingest's storing thread for every instance: a repeat of the input queued last
// (the next instance of the same series) is dropped here, and only the worker is woken.
void WorklistService::Enqueue(Input input) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    if (input.kind == Input::Kind::kInstance && !inputs_.empty() &&
        inputs_.back().kind == Input::Kind::kInstance && inputs_.back().study_uid == input.study_uid) {
      return;
    }
    inputs_.push_back(std::move(input));
  }
  input_cv_.notify_one();
}

void WorklistService::OnInstanceStored(const std::string& study_uid, const std::string& series_uid) {
  Enqueue({Input::Kind::kInstance, study_uid, series_uid});
}

void WorklistService::OnSeriesStable(const std::string& study_uid, const std::string& series_uid) {
  Enqueue({Input::Kind::kStable, study_uid, series_uid});
}

void WorklistService::OnAiJobChanged(int64_t job_id) {
  Enqueue({Input::Kind::kAi, "", "", job_id});
}

void WorklistService::OnAiStudyChanged(const std::string& study_uid) {
  Enqueue({Input::Kind::kAi, study_uid, "", 0});
}

void WorklistService::OnOrderChanged(const std::string& study_uid) {
  if (study_uid.empty() || !options_.order_facts) return;
  Enqueue({Input::Kind::kOrder, study_uid, "", 0});
}

bool WorklistService::ApplyOrderFacts(const storage::WorklistItem& item) {
  if (!options_.order_facts) return false;
  auto facts = options_.order_facts(item.accession_number, item.study_uid);
  if (!facts) return false;
  const std::string priority = NormaliseOrderPriority(facts->priority);
  const bool new_priority = !priority.empty() && priority != item.order_priority;
  if (!new_priority && facts->reason == item.reason_for_exam) return false;
  const PriorityRule& rule = options_.rule;
  auto updated = store_.Mutate(item.study_uid, [&](storage::WorklistItem& w)
                                                   -> Result<std::optional<storage::AuditEntry>> {
    // The order is the source of its priority and reason (docs/orders.md).
    const std::string from = w.order_priority;
    if (!priority.empty()) w.order_priority = priority;
    w.reason_for_exam = facts->reason;
    Score(rule, w);
    if (from == w.order_priority) return std::optional<storage::AuditEntry>{};
    storage::AuditEntry a;
    a.at = UnixMillis();
    a.action = "priority";
    a.from_state = w.state;
    a.to_state = w.state;
    a.note = "order priority " + (from.empty() ? std::string("(none)") : from) + " -> " + w.order_priority +
             " (from the order)";
    return std::optional<storage::AuditEntry>(a);
  });
  if (!updated.ok()) {
    if (updated.status().code() != ErrorCode::kNotFound) {
      log::Warn("worklist: order facts of " + item.study_uid + ": " + updated.status().ToString());
    }
    return false;
  }
  events_.Publish(item.study_uid, new_priority ? "priority" : "updated");
  return true;
}

void WorklistService::Arrived(const storage::WorklistItem& item) {
  if (!options_.on_study_arrived) return;
  options_.on_study_arrived(item.study_uid, item.accession_number, item.patient_id, item.patient_name,
                            item.modalities, item.study_date);
}

void WorklistService::Flush() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return stopping_ || (inputs_.empty() && !busy_); });
}

void WorklistService::Work() {
  std::unique_lock lock(mu_);
  while (true) {
    input_cv_.wait(lock, [&] { return stopping_ || !inputs_.empty(); });
    if (stopping_) break;
    Input input = std::move(inputs_.front());
    inputs_.pop_front();
    busy_ = true;
    lock.unlock();
    Apply(input);
    lock.lock();
    busy_ = false;
    if (inputs_.empty()) idle_cv_.notify_all();
  }
  busy_ = false;
  idle_cv_.notify_all();
}

storage::StudyExtras WorklistService::ExtrasOf(const std::string& series_uid, bool complete) {
  storage::StudyExtras extras;
  extras.complete = complete;
  if (!options_.series_facts || series_uid.empty()) return extras;
  auto facts = options_.series_facts(series_uid);
  if (!facts.ok()) {
    log::Warn("worklist: reading series " + series_uid + ": " + facts.status().ToString());
    return extras;
  }
  auto get = [&](const char* key) {
    auto it = facts->find(key);
    return it == facts->end() ? std::string() : it->second;
  };
  extras.issuer_of_patient_id = get("IssuerOfPatientID");
  const std::string modality = get("Modality");
  if (modality != "SEG" && modality != "SR" && modality != "KO" && modality != "PR") {
    extras.body_part = get("BodyPartExamined");
  }
  extras.site = get("InstitutionName");
  for (const char* key : {"RequestedProcedurePriority", "ScheduledProcedureStepPriority",
                          "PerformedProcedureStepPriority"}) {
    extras.order_priority = NormaliseOrderPriority(get(key));
    if (!extras.order_priority.empty()) break;
  }
  return extras;
}

void WorklistService::Apply(const Input& input) {
  const PriorityRule& rule = options_.rule;
  auto score = [&](storage::WorklistItem& w) { Score(rule, w); };
  switch (input.kind) {
    case Input::Kind::kInstance: {
      if (known_.count(input.study_uid)) return;
      auto synced = store_.SyncStudy(input.study_uid, ExtrasOf(input.series_uid, false), UnixMillis(), score);
      if (!synced.ok()) {
        log::Warn("worklist: study " + input.study_uid + ": " + synced.status().ToString());
        return;
      }
      known_.insert(input.study_uid);
      bool prior = false;
      {
        std::lock_guard lock(mu_);
        prior = expected_priors_.erase(input.study_uid) > 0;
      }
      if (synced->created && prior) {
        auto marked = store_.Mutate(input.study_uid, [](storage::WorklistItem& w)
                                                         -> Result<std::optional<storage::AuditEntry>> {
          storage::AuditEntry a;
          a.at = UnixMillis();
          a.action = "prefetched";
          a.from_state = w.state;
          w.state = "final";
          a.to_state = w.state;
          a.note = "a prior retrieved for a newer study: not for reading";
          return std::optional<storage::AuditEntry>(a);
        });
        if (!marked.ok()) log::Warn("worklist: prior " + input.study_uid + ": " + marked.status().ToString());
        events_.Publish(input.study_uid, "updated");
        return;
      }
      events_.Publish(input.study_uid, synced->created ? "arrived" : "updated");
      if (synced->created) Arrived(synced->item);  // not for priors: they have no order here
      ApplyOrderFacts(synced->item);
      if (synced->created && options_.prefetch) {
        {
          std::lock_guard lock(mu_);
          prefetch_queue_.push_back(synced->item);
        }
        cv_.notify_all();
      }
      return;
    }
    case Input::Kind::kStable: {
      auto synced = store_.SyncStudy(input.study_uid, ExtrasOf(input.series_uid, true), UnixMillis(), score);
      if (!synced.ok()) {
        log::Warn("worklist: study " + input.study_uid + ": " + synced.status().ToString());
        return;
      }
      known_.insert(input.study_uid);
      events_.Publish(input.study_uid, synced->created ? "arrived" : "updated");
      // Also for an open item: its accession may have been corrected (idempotent). Not for a
      // final one: read already, or a prior fetched from another archive (no order here).
      if (synced->created || synced->item.state != "final") Arrived(synced->item);
      ApplyOrderFacts(synced->item);
      return;
    }
    case Input::Kind::kOrder: {
      auto item = store_.Get(input.study_uid);
      if (!item.ok()) {
        log::Warn("worklist: order of " + input.study_uid + ": " + item.status().ToString());
        return;
      }
      if (item->has_value()) ApplyOrderFacts(**item);
      return;
    }
    case Input::Kind::kCatchUp:
      return CatchUp();
    case Input::Kind::kAi: {
      if (!input.study_uid.empty()) return RefreshAi(input.study_uid);
      auto study = store_.StudyOfJob(input.job_id);
      if (study.ok() && !study->empty()) RefreshAi(study.value());
      return;
    }
  }
}

void WorklistService::CatchUp() {
  if (!catch_up_listed_) {
    catch_up_listed_ = true;
    catch_up_started_ = std::chrono::steady_clock::now();
    auto studies = store_.StudiesToSync();  // one set-based query
    if (!studies.ok()) {
      log::Warn("worklist: listing the studies to catch up: " + studies.status().ToString());
      return;
    }
    catch_up_ = std::move(studies.value());
    if (catch_up_.empty()) return;  // every study synced: no per-study work
    log::Info("worklist: catching up " + std::to_string(catch_up_.size()) +
              " studies stored while no server ran, in batches of " + std::to_string(kCatchUpBatch));
  }
  if (catch_up_next_ >= catch_up_.size()) return;
  const size_t end = std::min(catch_up_.size(), catch_up_next_ + kCatchUpBatch);
  const std::vector<std::string> batch(catch_up_.begin() + catch_up_next_, catch_up_.begin() + end);
  // The AI state read before the transaction, applied with the score (no write per study).
  std::map<std::string, storage::StudyAi> ai;
  for (const auto& study : batch) {
    auto read = store_.ReadStudyAi(study);
    if (read.ok()) {
      ai[study] = std::move(read.value());
    } else {
      log::Warn("worklist: AI state of " + study + ": " + read.status().ToString());
    }
  }
  const PriorityRule& rule = options_.rule;
  auto synced = store_.SyncStudies(batch, UnixMillis(), [&](storage::WorklistItem& w) {
    if (auto it = ai.find(w.study_uid); it != ai.end()) {
      const storage::StudyAi& a = it->second;
      w.ai_pending = a.pending;
      w.ai_rank = a.rank;
      w.ai_flag = a.flag;
      w.ai_reason = a.rank > 0 ? AiReason(a) : "";
    }
    Score(rule, w);
  });
  catch_up_next_ = end;
  if (!synced.ok()) {
    log::Warn("worklist: catching up " + std::to_string(batch.size()) + " studies: " + synced.status().ToString());
  } else {
    for (const auto& one : synced.value()) {
      // This node's feed only: not one cluster message per study of a large catch-up.
      events_.PublishRemote(one.item.study_uid, one.created ? "arrived" : "updated");
      if (one.created) Arrived(one.item);
      ApplyOrderFacts(one.item);
    }
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                        catch_up_started_).count();
  if (catch_up_next_ >= catch_up_.size()) {
    log::Info("worklist: caught up " + std::to_string(catch_up_.size()) + " studies in " + std::to_string(ms) + " ms");
    catch_up_.clear();
    catch_up_.shrink_to_fit();
    catch_up_next_ = 0;
    return;
  }
  if ((catch_up_next_ / kCatchUpBatch) % 20 == 0) {
    log::Info("worklist: catch-up " + std::to_string(catch_up_next_) + "/" + std::to_string(catch_up_.size()) +
              " studies, " + std::to_string(ms) + " ms");
  }
  Enqueue({Input::Kind::kCatchUp, "", ""});  // the next batch, behind the live inputs
}

void WorklistService::RefreshAi(const std::string& study_uid) {
  auto ai = store_.ReadStudyAi(study_uid);
  if (!ai.ok()) {
    log::Warn("worklist: AI state of " + study_uid + ": " + ai.status().ToString());
    return;
  }
  const PriorityRule& rule = options_.rule;
  bool changed = false;
  auto updated = store_.Mutate(study_uid, [&](storage::WorklistItem& w)
                                              -> Result<std::optional<storage::AuditEntry>> {
    const std::string reason = AiReason(ai.value());
    changed = w.ai_pending != ai->pending || w.ai_rank != ai->rank || w.ai_reason != reason;
    w.ai_pending = ai->pending;
    w.ai_rank = ai->rank;
    w.ai_flag = ai->flag;
    w.ai_reason = ai->rank > 0 ? reason : "";
    Score(rule, w);
    return std::optional<storage::AuditEntry>{};
  });
  if (!updated.ok()) {
    // A job of a study without an item yet: its arrival will read the AI state again.
    if (updated.status().code() != ErrorCode::kNotFound) {
      log::Warn("worklist: AI state of " + study_uid + ": " + updated.status().ToString());
    }
    return;
  }
  if (changed) events_.Publish(study_uid, "ai");
}

// One study at a time, in arrival order: a C-MOVE of priors takes seconds.
void WorklistService::Prefetch() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !prefetch_queue_.empty(); });
    if (stopping_) break;
    storage::WorklistItem item = std::move(prefetch_queue_.front());
    prefetch_queue_.pop_front();
    lock.unlock();
    options_.prefetch(*this, item);
    lock.lock();
  }
}

void WorklistService::Sweep() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(options_.sweep_interval_ms), [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    const int64_t now = UnixMillis();
    auto expired = store_.ExpiredClaims(now);
    if (expired.ok()) {
      for (const auto& study : expired.value()) {
        auto done = store_.Mutate(study, [&](storage::WorklistItem& w) { return Result<std::optional<storage::AuditEntry>>(Expire(w, now)); });
        if (done.ok()) {
          log::Info("worklist: claim on " + study + " expired");
          events_.Publish(study, "released");
        }
      }
    }
    lock.lock();
  }
}

Result<storage::WorklistItem> WorklistService::Act(const std::string& study_uid, const std::string& reason,
                                                   const storage::WorkflowStore::Change& change) {
  auto out = store_.Mutate(study_uid, change);
  if (out.ok() && !reason.empty()) events_.Publish(study_uid, reason);
  return out;
}

namespace {
// Wraps an audited rule of reading_state.h as a store change.
template <typename Fn>
storage::WorkflowStore::Change Audited(Fn fn) {
  return [fn](storage::WorklistItem& w) -> Result<std::optional<storage::AuditEntry>> {
    auto entry = fn(w);
    if (!entry.ok()) return entry.status();
    return std::optional<storage::AuditEntry>(std::move(entry.value()));
  };
}
}  // namespace

Result<storage::WorklistItem> WorklistService::Claim(const std::string& study_uid, const std::string& reader) {
  const int64_t now = UnixMillis();
  return Act(study_uid, "claimed", Audited([&](storage::WorklistItem& w) {
               return workflow::Claim(w, reader, now, options_.claim_ms);
             }));
}

Result<storage::WorklistItem> WorklistService::Release(const std::string& study_uid, const std::string& reader) {
  const int64_t now = UnixMillis();
  return Act(study_uid, "released",
             Audited([&](storage::WorklistItem& w) { return workflow::Release(w, reader, now); }));
}

Result<storage::WorklistItem> WorklistService::Heartbeat(const std::string& study_uid, const std::string& reader) {
  const int64_t now = UnixMillis();
  // Renewals are not audited (one a minute per open study).
  return Act(study_uid, "", [&](storage::WorklistItem& w) -> Result<std::optional<storage::AuditEntry>> {
    auto entry = workflow::Heartbeat(w, reader, now, options_.claim_ms);
    if (!entry.ok()) return entry.status();
    return std::optional<storage::AuditEntry>{};
  });
}

Result<storage::WorklistItem> WorklistService::ChangeState(const std::string& study_uid, const std::string& reader,
                                                           const std::string& state, const std::string& note) {
  const int64_t now = UnixMillis();
  return Act(study_uid, "state", Audited([&](storage::WorklistItem& w) {
               return workflow::ChangeState(w, reader, state, note, now);
             }));
}

Result<storage::WorklistItem> WorklistService::SetOrderPriority(const std::string& study_uid,
                                                                const std::string& reader,
                                                                const std::string& priority) {
  const std::string normalised = NormaliseOrderPriority(priority);
  if (normalised.empty() && !priority.empty()) {
    return Status(ErrorCode::kInvalidArgument, "order_priority '" + priority +
                                                   "' is not STAT, HIGH, ROUTINE, MEDIUM or LOW");
  }
  const int64_t now = UnixMillis();
  const PriorityRule& rule = options_.rule;
  return Act(study_uid, "priority", [&](storage::WorklistItem& w) -> Result<std::optional<storage::AuditEntry>> {
    storage::AuditEntry a;
    a.at = now;
    a.reader = reader;
    a.action = "priority";
    a.from_state = w.state;
    a.to_state = w.state;
    a.note = "order priority " + (w.order_priority.empty() ? std::string("(none)") : w.order_priority) +
             " → " + (normalised.empty() ? std::string("(none)") : normalised);
    w.order_priority = normalised;
    Score(rule, w);
    return std::optional<storage::AuditEntry>(a);
  });
}

void WorklistService::ExpectPrior(const std::string& study_uid) {
  std::lock_guard lock(mu_);
  expected_priors_.insert(study_uid);
}

Result<std::vector<RankedPrior>> WorklistService::Priors(const std::string& study_uid) {
  auto item = store_.Get(study_uid);
  if (!item.ok()) return item.status();
  if (!item->has_value()) return Status(ErrorCode::kNotFound, "no worklist item for study " + study_uid);
  const auto& cur = item->value();
  if (cur.patient_id.empty()) return std::vector<RankedPrior>{};  // no identity to match on
  auto same = store_.SamePatient(cur.patient_id, cur.issuer_of_patient_id);
  if (!same.ok()) return same.status();
  auto facts = [](const storage::WorklistItem& w) {
    return StudyFacts{w.study_uid, w.patient_id, w.issuer_of_patient_id, w.study_date,
                      w.modalities, w.body_part, w.study_description};
  };
  std::vector<StudyFacts> candidates;
  for (const auto& w : same.value()) candidates.push_back(facts(w));
  return RankPriors(facts(cur), candidates);
}

}  // namespace radflow::workflow
