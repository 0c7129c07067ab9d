#include "research/selection.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "dicom/instance.h"
#include "dicom/tag.h"
#include "query/matching.h"
#include "research/ibsi_features.h"
#include "storage/ai_admin_store.h"
#include "storage/blob_store.h"
#include "storage/index.h"
#include "storage/model.h"

namespace radflow::research {

namespace {

namespace t = dicom::tags;
constexpr dicom::Tag kFrameOfReferenceUID = dicom::MakeTag(0x0020, 0x0052);

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  size_t b = 0;
  while (b < s.size() && s[b] == ' ') ++b;
  return s.substr(b);
}
bool Contains(const std::string& hay, const std::string& needle) {
  return Lower(hay).find(Lower(needle)) != std::string::npos;
}
bool AnyEqual(const std::vector<std::string>& wanted, const std::string& value) {
  if (wanted.empty()) return true;
  const std::string v = Lower(Trim(value));
  for (const auto& w : wanted) {
    if (Lower(Trim(w)) == v) return true;
  }
  return false;
}

// The code value of "value^scheme".
std::string CodeValue(const std::string& type_code) { return type_code.substr(0, type_code.find('^')); }

}  // namespace

bool IsDerivedModality(const std::string& modality) {
  static const std::set<std::string> kDerived{"SEG", "SR", "KO", "PR", "RTSTRUCT", "RTPLAN", "RTDOSE",
                                              "RTRECORD", "REG", "DOC", "PLAN", "AU", "FID"};
  return kDerived.count(Trim(modality)) != 0;
}

bool MatchSeries(const Criteria& c, const SeriesFacts& s) {
  if (IsDerivedModality(s.modality)) return false;
  if (!AnyEqual(c.modality, s.modality)) return false;
  if (!AnyEqual(c.body_part, s.body_part)) return false;
  if (!c.study_date_from.empty() && (s.study_date.empty() || s.study_date < c.study_date_from)) return false;
  if (!c.study_date_to.empty() && (s.study_date.empty() || s.study_date > c.study_date_to)) return false;
  if (!c.manufacturer.empty() && !Contains(s.manufacturer, c.manufacturer)) return false;
  if (!c.model.empty() && !Contains(s.model, c.model)) return false;
  return true;
}

bool MatchFinding(const Criteria& c, const FindingFacts& f) {
  if (c.finding) {
    const FindingCriteria& fc = *c.finding;
    if (!fc.type.empty()) {
      const bool code = Lower(CodeValue(f.row.type_code)) == Lower(fc.type);
      if (!code && !Contains(f.row.type_meaning, fc.type) && !Contains(f.row.label, fc.type)) return false;
    }
    if (fc.min_size_mm && !(f.row.size_mm >= *fc.min_size_mm)) return false;
    if (fc.max_size_mm && !(f.row.size_mm <= *fc.max_size_mm)) return false;
    if (!fc.severity.empty() && SeverityRank(f.row.severity) < SeverityRank(fc.severity)) return false;
  }
  const auto& names = IbsiFeatureNames();
  for (const auto& r : c.features) {
    const size_t i = static_cast<size_t>(std::find(names.begin(), names.end(), r.name) - names.begin());
    if (i >= f.ibsi.size() || std::isnan(f.ibsi[i])) return false;  // no such feature: no match
    if (r.min && !(f.ibsi[i] >= *r.min)) return false;
    if (r.max && !(f.ibsi[i] <= *r.max)) return false;
  }
  return true;
}

StudySet SelectStudies(const Criteria& criteria, const std::vector<SeriesFacts>& series,
                       const std::map<std::string, std::vector<FindingFacts>>& findings) {
  struct Work {
    SelectedStudy study;
    std::set<std::string> frames;  // Frames of Reference of the matched image series
  };
  std::map<std::string, Work> matched;
  for (const auto& s : series) {
    if (!MatchSeries(criteria, s)) continue;
    std::vector<int64_t> ids;
    if (auto it = findings.find(s.series_uid); it != findings.end()) {
      for (const auto& f : it->second) {
        if (MatchFinding(criteria, f)) ids.push_back(f.row.id);
      }
    }
    if (criteria.SelectsFindings() && ids.empty()) continue;
    Work& w = matched[s.study_uid];
    w.study.study_uid = s.study_uid;
    w.study.patient_id = s.patient_id;
    w.study.series_uids.push_back(s.series_uid);
    w.study.finding_ids.insert(w.study.finding_ids.end(), ids.begin(), ids.end());
    w.study.instances += s.instances;
    if (!s.frame_of_reference.empty()) w.frames.insert(s.frame_of_reference);
  }
  // The derived series of the matched studies: those on a matched series' frame, or on none.
  for (const auto& s : series) {
    if (!IsDerivedModality(s.modality)) continue;
    auto it = matched.find(s.study_uid);
    if (it == matched.end()) continue;
    if (!s.frame_of_reference.empty() && !it->second.frames.count(s.frame_of_reference)) continue;
    it->second.study.series_uids.push_back(s.series_uid);
    it->second.study.instances += s.instances;
  }
  StudySet out;
  std::set<std::string> patients;
  for (auto& [uid, w] : matched) {
    patients.insert(w.study.patient_id);
    out.counts.studies++;
    out.counts.series += static_cast<int64_t>(w.study.series_uids.size());
    out.counts.instances += w.study.instances;
    out.counts.lesions += static_cast<int64_t>(w.study.finding_ids.size());
    out.studies.push_back(std::move(w.study));
  }
  out.counts.patients = static_cast<int64_t>(patients.size());
  return out;
}

Result<StudySet> Select(const Criteria& criteria, const SelectionSources& src) {
  if (src.index == nullptr || src.blobs == nullptr || src.jobs == nullptr) {
    return Status(ErrorCode::kInternal, "research selection without its sources");
  }
  storage::Query q;
  q.level = storage::ResourceLevel::kSeries;
  if (!criteria.study_date_from.empty() || !criteria.study_date_to.empty()) {
    storage::Constraint date;
    date.tag = t::kStudyDate;
    date.type = storage::Constraint::Type::kRange;
    date.range_lower = criteria.study_date_from;
    date.range_upper = criteria.study_date_to;
    q.constraints.push_back(date);
  }
  auto rows = src.index->Find(q);
  if (!rows.ok()) return rows.status();
  auto value = [](const storage::Row& r, dicom::Tag tag) {
    auto it = r.values.find(tag);
    return it == r.values.end() ? std::string() : Trim(it->second);
  };
  std::vector<SeriesFacts> series;
  series.reserve(rows->size());
  for (const auto& r : rows.value()) {
    SeriesFacts s;
    s.patient_id = value(r, t::kPatientID);
    s.study_uid = value(r, t::kStudyInstanceUID);
    s.series_uid = value(r, t::kSeriesInstanceUID);
    s.study_date = value(r, t::kStudyDate);
    s.modality = value(r, t::kModality);
    s.body_part = value(r, t::kBodyPartExamined);
    s.manufacturer = value(r, t::kManufacturer);
    s.instances = std::atoll(value(r, t::kNumberOfSeriesRelatedInstances).c_str());
    series.push_back(std::move(s));
  }
  // The index's columns first: only a series they let through has a file read (model,
  // frame of reference), and a derived series only in a study with such a series.
  Criteria without_file = criteria;
  without_file.model.clear();
  std::set<std::string> candidate_studies;
  auto model_of = src.model_of ? src.model_of : [](const std::string& path) -> std::pair<std::string, std::string> {
    auto parsed = dicom::ParsePart10File(path);
    if (!parsed.ok()) return {"", ""};
    return {Trim(parsed->attributes.Get(t::kManufacturerModelName)),
            Trim(parsed->attributes.Get(kFrameOfReferenceUID))};
  };
  auto read_file_facts = [&](SeriesFacts& s) -> Status {
    auto located = query::LocateSeries(*src.index, s.series_uid);
    if (!located.ok() || located->empty()) return Status::Ok();  // emptied meanwhile
    auto first = src.blobs->LocalPath(located->front().blob_path);
    if (!first.ok()) return Status::Ok();  // unreadable: no model, no frame (as an unparsable file)
    auto [model, frame] = model_of(first.value());
    s.model = model;
    s.frame_of_reference = frame;
    return Status::Ok();
  };
  // The frame of reference only matters in a study with derived series; the model only
  // when asked for.
  std::set<std::string> with_derived;
  for (const auto& s : series) {
    if (IsDerivedModality(s.modality)) with_derived.insert(s.study_uid);
  }
  for (auto& s : series) {
    if (!MatchSeries(without_file, s)) continue;
    if (!criteria.model.empty() || with_derived.count(s.study_uid)) RADFLOW_RETURN_IF_ERROR(read_file_facts(s));
    if (MatchSeries(criteria, s)) candidate_studies.insert(s.study_uid);
  }
  for (auto& s : series) {
    if (IsDerivedModality(s.modality) && candidate_studies.count(s.study_uid)) {
      RADFLOW_RETURN_IF_ERROR(read_file_facts(s));
    }
  }
  // The findings of the candidate image series, with their cached features.
  std::map<std::string, std::vector<FindingFacts>> findings;
  std::vector<int64_t> ids;
  for (const auto& s : series) {
    if (!candidate_studies.count(s.study_uid) || !MatchSeries(criteria, s)) continue;
    auto rows_of = src.jobs->Findings("", s.series_uid);
    if (!rows_of.ok()) return rows_of.status();
    // An app run again on the series leaves the findings of its earlier jobs: the newest
    // job of each app is the app's answer.
    std::map<std::string, int64_t> newest_job;
    for (const auto& f : rows_of.value()) newest_job[f.app_id] = std::max(newest_job[f.app_id], f.job_id);
    auto& list = findings[s.series_uid];
    for (auto& f : rows_of.value()) {
      if (f.job_id != newest_job[f.app_id]) continue;
      ids.push_back(f.id);
      list.push_back({std::move(f), {}});
    }
  }
  if (src.features != nullptr && !ids.empty()) {
    auto cached = src.features->Features(ids, "v1");
    if (!cached.ok()) return cached.status();
    std::map<int64_t, std::vector<double>> by_id;
    for (const auto& fr : cached.value()) {
      if (fr.source == "ibsi") by_id[fr.finding_id] = IbsiFromCached(fr.feature_set, fr.values);
    }
    for (auto& [uid, list] : findings) {
      for (auto& f : list) {
        if (auto it = by_id.find(f.row.id); it != by_id.end()) f.ibsi = it->second;
      }
    }
  }
  return SelectStudies(criteria, series, findings);
}

}  // namespace radflow::research
