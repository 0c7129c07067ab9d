// Prefetch of relevant priors (docs/worklist.md, "Priors"): when a study arrives, each
// configured archive is asked by C-FIND for the patient's studies, the relevant ones not
// held here are ranked (workflow/priors.h) and the best are C-MOVEd to radflow itself.
#include "server/prefetch.h"

#include <algorithm>

#include "base/log.h"
#include "dimse/query_scu.h"
#include "workflow/priors.h"

namespace radflow::server {

std::function<void(workflow::WorklistService&, const storage::WorklistItem&)> MakePrefetch(
    const ServerConfig& config, const dimse::DimseConfig& dimse_config) {
  std::vector<dimse::RemoteAe> remotes;
  for (const auto& ae : config.prefetch_from) {
    for (const auto& [title, remote] : dimse_config.modalities) {
      if (ae == "*" || ae == title) remotes.push_back(remote);
    }
  }
  if (remotes.empty()) return nullptr;
  const std::string self = dimse_config.ae_title;
  const int max = std::max(0, config.prefetch_max);
  return [remotes, self, max](workflow::WorklistService& wl, const storage::WorklistItem& item) {
    if (item.patient_id.empty() || max == 0) return;
    const workflow::StudyFacts current{item.study_uid, item.patient_id, item.issuer_of_patient_id,
                                       item.study_date, item.modalities, item.body_part,
                                       item.study_description};
    for (const auto& remote : remotes) {
      auto found = dimse::FindPatientStudies(remote, self, item.patient_id, item.issuer_of_patient_id);
      if (!found.ok()) {
        log::Warn("prefetch: C-FIND at " + remote.ae_title + " for patient " + item.patient_id + ": " +
                  found.status().ToString());
        continue;
      }
      std::vector<workflow::StudyFacts> candidates;
      for (const auto& r : found.value()) {
        auto local = wl.store().Get(r.study_uid);
        if (local.ok() && local->has_value()) continue;  // already here
        candidates.push_back({r.study_uid, r.patient_id.empty() ? item.patient_id : r.patient_id,
                              r.issuer_of_patient_id, r.study_date, r.modalities, r.body_part,
                              r.study_description});
      }
      int moved = 0;
      for (const auto& prior : workflow::RankPriors(current, candidates)) {
        if (moved >= max || prior.score < workflow::kPrefetchMinScore) break;
        wl.ExpectPrior(prior.study.study_uid);
        auto outcome = dimse::MoveStudy(remote, self, prior.study.study_uid, self);
        if (!outcome.ok()) {
          log::Warn("prefetch: C-MOVE of " + prior.study.study_uid + " from " + remote.ae_title + ": " +
                    outcome.status().ToString());
          continue;
        }
        ++moved;
        log::Info("prefetch: prior " + prior.study.study_uid + " (" + prior.study.study_date + ", score " +
                  std::to_string(static_cast<int>(prior.score)) + ") of " + item.study_uid + " from " +
                  remote.ae_title + ": " + std::to_string(outcome->completed) + " instances, " +
                  std::to_string(outcome->failed) + " failed");
      }
    }
  };
}

}  // namespace radflow::server
