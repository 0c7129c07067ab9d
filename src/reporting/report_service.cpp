#include "reporting/report_service.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "ai/results/results.h"
#include "ai/routing.h"
#include "base/clock.h"
#include "base/log.h"
#include "delivery/fhir.h"
#include "delivery/oru.h"
#include "delivery/signed_report.h"
#include "delivery/sr_tid2000.h"
#include "followups/extract.h"
#include "followups/match.h"
#include "hl7/message.h"
#include "hl7/mllp.h"
#include "query/matching.h"
#include "report/prefill.h"
#include "report/qa.h"

namespace radflow::reporting {

using nlohmann::json;

// Everything signing and the FHIR resources are made of.
struct ReportService::SignedParts {
  delivery::SignedReport report;
  bool study_known = false;  // the index holds the study
};

namespace {

constexpr const char* kSrClassPrefix = "1.2.840.10008.5.1.4.1.1.88.";

bool IsUid(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

// A value usable as a literal DICOM matching key: no wildcard or list characters.
bool IsLiteralKey(const std::string& s) {
  return !s.empty() && s.find_first_of("*?\\") == std::string::npos;
}

bool IsImageModality(const std::string& m) {
  static const std::set<std::string> kNonImage{"SR", "SEG", "KO", "PR", "REG", "RTSTRUCT", "RTPLAN",
                                               "RTRECORD", "DOC", "PLAN"};
  return !m.empty() && !kNonImage.count(m);
}

std::string Fact(const ai::SeriesFacts& facts, const std::string& key) {
  auto it = facts.find(key);
  return it == facts.end() ? "" : it->second;
}

std::string Stringify(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.10g", v.get<double>());
    return buf;
  }
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v) {
      std::string s = Stringify(e);
      if (s.empty()) continue;
      if (!out.empty()) out += ", ";
      out += s;
    }
    return out;
  }
  return "";
}

std::map<std::string, std::string> ContentMember(const std::string& content_json, const char* member) {
  std::map<std::string, std::string> out;
  auto doc = json::parse(content_json, nullptr, false);
  if (!doc.is_object() || !doc.contains(member) || !doc[member].is_object()) return out;
  for (const auto& [k, v] : doc[member].items()) {
    if (v.is_null()) continue;
    out[k] = Stringify(v);
  }
  return out;
}

std::map<std::string, std::string> JsonStringMap(const std::string& text) {
  std::map<std::string, std::string> out;
  auto doc = json::parse(text, nullptr, false);
  if (!doc.is_object()) return out;
  for (const auto& [k, v] : doc.items()) {
    if (!v.is_null()) out[k] = Stringify(v);
  }
  return out;
}

report::Decision ToDecision(const storage::DecisionRow& d) {
  report::Decision out;
  out.finding_id = d.finding_id;
  out.decision = d.decision;
  out.reason = d.reason;
  out.reader = d.reader;
  out.at = d.at;
  out.values = JsonStringMap(d.values_json);
  out.sentence = d.sentence;
  return out;
}

std::vector<report::Decision> Decisions(const StudyProposals& p) {
  std::vector<report::Decision> out;
  for (const auto& [id, d] : p.decisions) out.push_back(ToDecision(d));
  return out;
}

// Today's local date, YYYYMMDD.
std::string Today() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y%m%d", &tm);
  return buf;
}

std::string Digits(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), '-'), s.end());
  return s;
}

// YYYYMMDD[HHMM[SS]] as local time → unix ms; 0 when not a date.
int64_t ParseHl7Time(const std::string& s) {
  if (s.size() < 8 || !std::all_of(s.begin(), s.begin() + 8, ::isdigit)) return 0;
  std::tm tm{};
  tm.tm_year = std::stoi(s.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(s.substr(4, 2)) - 1;
  tm.tm_mday = std::stoi(s.substr(6, 2));
  auto part = [&](size_t at) {
    return s.size() >= at + 2 && std::isdigit(static_cast<unsigned char>(s[at])) &&
                   std::isdigit(static_cast<unsigned char>(s[at + 1]))
               ? std::stoi(s.substr(at, 2))
               : 0;
  };
  tm.tm_hour = part(8);
  tm.tm_min = part(10);
  tm.tm_sec = part(12);
  tm.tm_isdst = -1;
  std::time_t t = std::mktime(&tm);
  return t < 0 ? 0 : static_cast<int64_t>(t) * 1000;
}

// An external report's text split at its IMPRESSION heading (a line starting "IMPRESSION").
std::pair<std::string, std::string> SplitImpression(const std::string& text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    size_t i = line.find_first_not_of(" \t");
    if (i != std::string::npos) {
      std::string head = line.substr(i, 10);
      std::transform(head.begin(), head.end(), head.begin(), ::toupper);
      if (head == "IMPRESSION") {
        auto trim = [](std::string s) {
          s.erase(0, s.find_first_not_of(" \t\r\n"));
          s.erase(s.find_last_not_of(" \t\r\n") + 1);
          return s;
        };
        std::string rest = line.substr(i + 10);
        rest.erase(0, rest.find_first_not_of(" \t:S"));  // "IMPRESSIONS:" too
        return {trim(text.substr(0, pos)), trim(rest + text.substr(end))};
      }
    }
    pos = end + 1;
  }
  return {text, ""};
}

uint64_t Fnv1a64(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// The AiFinding of one TID 1500 measurement group.
report::AiFinding FromSrGroup(const ai::SrMeasurementGroup& g, int index, const std::string& study_uid,
                              const StudyInfo::Instance& sr, const ai::SeriesFacts& facts) {
  report::AiFinding f;
  f.id = SrFindingId(sr.sop_uid, index);
  f.app_id = Fact(facts, "ManufacturerModelName");
  if (f.app_id.empty()) f.app_id = Fact(facts, "Manufacturer");
  if (f.app_id.empty()) f.app_id = "tid1500-sr";
  f.app_version = Fact(facts, "SoftwareVersions");
  f.study_uid = study_uid;
  if (!g.finding.empty()) f.type_code = g.finding.value + "^" + g.finding.scheme;
  f.type_meaning = g.finding.meaning;
  f.label = !g.tracking_identifier.empty() ? g.tracking_identifier : g.finding.meaning;
  f.tracking_uid = g.tracking_uid;
  f.sr_series_uid = sr.series_uid;
  f.sr_sop_uid = sr.sop_uid;
  for (const auto& m : g.measurements) {
    report::Measurement x{m.name.meaning, m.name.value, m.name.scheme, m.value, m.unit.value};
    f.measurements.push_back(x);
    const std::string& u = m.unit.value;
    if (u == "mm" && f.size_mm == 0) f.size_mm = m.value;
    if (u == "cm" && f.size_mm == 0) f.size_mm = m.value * 10;
    if ((u == "ml" || u == "mL" || u == "cm3") && f.volume_ml == 0) f.volume_ml = m.value;
    if (u == "mm3" && f.volume_ml == 0) f.volume_ml = m.value / 1000.0;
  }
  return f;
}

std::string ResultStatusOf(const delivery::SignedReport& r) {
  if (r.status == "preliminary") return "P";
  return r.corrected ? "C" : "F";
}

}  // namespace

// ---------------------------------------------------------------------------- pure helpers

Result<std::pair<std::string, int>> ParseReceiver(const std::string& spec) {
  auto colon = spec.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size()) {
    return Status(ErrorCode::kInvalidArgument, "--hl7-receiver '" + spec + "': expected host:port");
  }
  int port = 0;
  const std::string p = spec.substr(colon + 1);
  if (!std::all_of(p.begin(), p.end(), ::isdigit) || p.size() > 5 || (port = std::stoi(p)) < 1 || port > 65535) {
    return Status(ErrorCode::kInvalidArgument, "--hl7-receiver '" + spec + "': the port must be 1..65535");
  }
  return std::make_pair(spec.substr(0, colon), port);
}

int64_t RetryDelayMs(int failed_attempts, int64_t initial_ms, int64_t max_ms) {
  if (failed_attempts < 1) failed_attempts = 1;
  int64_t d = initial_ms;
  for (int i = 1; i < failed_attempts && d < max_ms; ++i) d *= 2;
  return std::min(d, max_ms);
}

int64_t SrFindingId(const std::string& sr_sop_uid, int group_index) {
  const uint64_t h = Fnv1a64(sr_sop_uid + "#" + std::to_string(group_index)) & ((uint64_t{1} << 52) - 1);
  return -1 - static_cast<int64_t>(h);
}

std::map<std::string, std::string> ContentFields(const std::string& content_json) {
  return ContentMember(content_json, "fields");
}
std::map<std::string, std::string> ContentSections(const std::string& content_json) {
  return ContentMember(content_json, "sections");
}

report::Draft DraftOf(const storage::ReportRow& row) {
  report::Draft d;
  d.template_id = row.template_id;
  d.fields = ContentFields(row.content_json);
  d.findings_text = row.findings_text;
  d.impression_text = row.impression_text;
  d.critical_communicated = row.critical_communicated;
  return d;
}

// ------------------------------------------------------------------------------- service

ReportService::ReportService(Deps deps, ReportingOptions options)
    : d_(deps), options_(std::move(options)), templates_(report::LoadTemplates(options_.template_folders)) {
  for (const auto& [file, error] : templates_.rejected) log::Warn("report template rejected: " + error);
}

ReportService::~ReportService() { Stop(); }

Status ReportService::Start() {
  for (const auto& r : options_.hl7_receivers) {
    auto parsed = ParseReceiver(r);
    if (!parsed.ok()) return parsed.status();
  }
  if (options_.hl7_port > 0) {
    listener_ = std::make_unique<hl7::MllpListener>();
    Status st = listener_->Start(options_.hl7_address, options_.hl7_port,
                                 [this](const std::string& message) { return HandleHl7(message); });
    if (!st.ok()) {
      listener_.reset();
      return {st.code(), "--hl7-port " + std::to_string(options_.hl7_port) + ": " + st.message()};
    }
    log::Info("HL7 MLLP listener on port " + std::to_string(listener_->port()));
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
    started_ = true;
    catch_up_ = true;
  }
  tracker_ = std::thread([this] { Track(); });
  sender_ = std::thread([this] { Send(); });
  return Status::Ok();
}

void ReportService::Stop() {
  if (listener_) listener_->Stop();
  {
    std::lock_guard lock(mu_);
    if (!started_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  idle_cv_.notify_all();
  if (tracker_.joinable()) tracker_.join();
  if (sender_.joinable()) sender_.join();
  std::lock_guard lock(mu_);
  started_ = false;
}

int ReportService::hl7_port() const { return listener_ ? listener_->port() : 0; }

// ----------------------------------------------------------------------------- study data

Result<StudyInfo> ReportService::Study(const std::string& study_uid) {
  if (!IsUid(study_uid)) return Status(ErrorCode::kInvalidArgument, "'" + study_uid + "' is not a Study Instance UID");
  auto q = query::BuildQuery(storage::ResourceLevel::kInstance, {{dicom::tags::kStudyInstanceUID, study_uid}});
  if (!q.ok()) return q.status();
  auto found = d_.index.Locate(q.value());
  if (!found.ok()) return found.status();
  if (found->empty()) return Status(ErrorCode::kNotFound, "no study " + study_uid);
  StudyInfo info;
  info.study_uid = study_uid;
  std::vector<std::string> series_order;
  std::map<std::string, std::string> first_of_series;  // series → an instance's path
  for (const auto& loc : found.value()) {
    auto path = d_.blobs.LocalPath(loc.blob_path);
    if (!path.ok()) return path.status();
    StudyInfo::Instance inst{loc.series_uid, loc.sop_class_uid, loc.sop_uid, path.value()};
    if (!first_of_series.count(loc.series_uid)) {
      first_of_series[loc.series_uid] = inst.path;
      series_order.push_back(loc.series_uid);
    }
    info.instances.push_back(std::move(inst));
  }
  // Patient and study attributes from the first image series (else the first series).
  std::optional<ai::SeriesFacts> primary;
  for (const auto& series : series_order) {
    auto facts = ai::ReadSeriesFacts({first_of_series[series]});
    if (!facts.ok()) {
      log::Warn("study " + study_uid + ": series " + series + ": " + facts.status().message());
      continue;
    }
    const std::string modality = Fact(*facts, "Modality");
    if (!modality.empty() && std::find(info.modalities.begin(), info.modalities.end(), modality) == info.modalities.end()) {
      info.modalities.push_back(modality);
    }
    const bool image = IsImageModality(modality);
    if (image && info.body_part.empty()) info.body_part = Fact(*facts, "BodyPartExamined");
    if (image && info.source_file.empty()) {
      info.source_file = first_of_series[series];
      primary = facts.value();
    }
    if (!primary) primary = facts.value();
  }
  if (primary) {
    const ai::SeriesFacts& f = *primary;
    info.patient_id = Fact(f, "PatientID");
    info.issuer_of_patient_id = Fact(f, "IssuerOfPatientID");
    info.patient_name = Fact(f, "PatientName");
    info.birth_date = Fact(f, "PatientBirthDate");
    info.sex = Fact(f, "PatientSex");
    info.accession_number = Fact(f, "AccessionNumber");
    info.study_date = Fact(f, "StudyDate");
    info.study_time = Fact(f, "StudyTime");
    info.study_description = Fact(f, "StudyDescription");
    info.referring_physician = Fact(f, "ReferringPhysicianName");
  }
  if (info.source_file.empty() && !info.instances.empty()) info.source_file = info.instances.front().path;
  return info;
}

report::TemplateChoice ReportService::ChooseTemplate(const StudyInfo& info) const {
  report::StudyContext ctx;
  ctx.modalities = info.modalities;
  ctx.body_part = info.body_part;
  ctx.study_description = info.study_description;
  return report::SelectTemplate(templates_, ctx);
}

Result<report::TemplateChoice> ReportService::TemplateFor(const std::string& study_uid) {
  auto info = Study(study_uid);
  if (!info.ok()) return info.status();
  return ChooseTemplate(info.value());
}

Result<std::vector<report::AiFinding>> ReportService::SrFindings(const StudyInfo& study,
                                                                 const std::set<std::string>& job_srs,
                                                                 const std::string& skip_sop) {
  std::vector<report::AiFinding> out;
  for (const auto& inst : study.instances) {
    if (inst.sop_class_uid.rfind(kSrClassPrefix, 0) != 0) continue;
    if (job_srs.count(inst.sop_uid) || inst.sop_uid == skip_sop) continue;
    std::vector<report::AiFinding> found;
    bool cached = false;
    {
      std::lock_guard lock(cache_mu_);
      auto it = sr_cache_.find(inst.sop_uid);
      if (it != sr_cache_.end()) {
        found = it->second;
        cached = true;
      }
    }
    if (!cached) {
      // Only TID 1500 measurement reports (radflow's own TID 2000 reports are skipped).
      auto doc = ai::ReadMeasurementReport(inst.path);
      if (doc.ok() && doc->template_id == "1500") {
        auto facts = ai::ReadSeriesFacts({inst.path});
        ai::SeriesFacts none;
        for (size_t i = 0; i < doc->groups.size(); ++i) {
          found.push_back(FromSrGroup(doc->groups[i], static_cast<int>(i), study.study_uid, inst,
                                      facts.ok() ? facts.value() : none));
        }
      } else if (!doc.ok() && doc.status().code() != ErrorCode::kInvalidArgument) {
        log::Warn("study " + study.study_uid + ": SR " + inst.sop_uid + ": " + doc.status().message());
      }
      std::lock_guard lock(cache_mu_);
      sr_cache_[inst.sop_uid] = found;
      for (const auto& f : found) sr_finding_study_[f.id] = study.study_uid;
    }
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

Result<std::vector<report::AiFinding>> ReportService::Findings(const std::string& study_uid) {
  auto info = Study(study_uid);
  if (!info.ok()) return info.status();
  return FindingsOf(info.value());
}

Result<std::vector<report::AiFinding>> ReportService::FindingsOf(const StudyInfo& info) {
  const std::string& study_uid = info.study_uid;
  // The jobs of the study: app versions and the SRs they wrote.
  storage::JobFilter filter;
  filter.study_uid = study_uid;
  filter.limit = 0;
  auto jobs = d_.jobs.List(filter);
  if (!jobs.ok()) return jobs.status();
  std::map<int64_t, const storage::Job*> job_by_id;
  std::map<int64_t, std::pair<std::string, std::string>> job_sr;  // job → (series, sop) of its SR
  std::set<std::string> job_srs;
  for (const auto& j : jobs.value()) {
    job_by_id[j.id] = &j;
    // {"objects": [{"kind", "series_uid", "sop_uid", ...}], "timings": {...}} (ai/engine), or
    // the bare array of objects.
    auto results = json::parse(j.results_json, nullptr, false);
    if (results.is_object() && results.contains("objects")) results = results["objects"];
    if (!results.is_array()) continue;
    for (const auto& r : results) {
      if (!r.is_object() || r.value("kind", "") != "sr") continue;
      job_srs.insert(r.value("sop_uid", ""));
      if (!job_sr.count(j.id)) job_sr[j.id] = {r.value("series_uid", ""), r.value("sop_uid", "")};
    }
  }
  auto rows = d_.jobs.Findings(study_uid, "");
  if (!rows.ok()) return rows.status();
  // A rerun replaces the findings of an app on a series: only the newest job's count.
  std::map<std::pair<std::string, std::string>, int64_t> newest;
  for (const auto& r : rows.value()) {
    auto& n = newest[{r.app_id, r.series_uid}];
    n = std::max(n, r.job_id);
  }
  // Longitudinal tracking (issue 12): the prior comparison and tracking UID per finding.
  std::map<int64_t, report::PriorChange> priors;
  std::map<int64_t, std::string> tracking;
  std::string followup_sr;
  if (auto tracks = d_.lesions.Tracks(study_uid); tracks.ok()) {
    for (const auto& t : tracks.value()) {
      if (t.finding_id == 0 || t.status == "resolved") continue;
      report::PriorChange p;
      p.prior_study_uid = t.prior_study_uid;
      p.status = t.status;
      p.trend = t.trend;
      p.interval_days = t.interval_days;
      p.volume_change_pct = t.volume_change_pct;
      p.diameter_change_mm = t.diameter_change_mm;
      p.doubling_time_days = t.doubling_time_days;
      priors[t.finding_id] = p;
      if (!t.tracking_uid.empty()) tracking[t.finding_id] = t.tracking_uid;
    }
  }
  if (auto ids = d_.lesions.Identities(study_uid); ids.ok()) {
    for (const auto& i : ids.value()) {
      if (!tracking.count(i.finding_id)) tracking[i.finding_id] = i.tracking_uid;
    }
  }
  if (auto fu = d_.lesions.FollowUp(study_uid); fu.ok() && fu->has_value()) followup_sr = fu->value().sr_sop_uid;

  std::vector<report::AiFinding> out;
  for (const auto& r : rows.value()) {
    if (newest[{r.app_id, r.series_uid}] != r.job_id) continue;
    report::AiFinding f;
    f.id = r.id;
    f.job_id = r.job_id;
    f.app_id = r.app_id;
    if (auto it = job_by_id.find(r.job_id); it != job_by_id.end()) f.app_version = it->second->app_version;
    f.study_uid = r.study_uid;
    f.series_uid = r.series_uid;
    f.type_code = r.type_code;
    f.type_meaning = r.type_meaning;
    f.label = r.label;
    f.x = r.x;
    f.y = r.y;
    f.z = r.z;
    f.size_mm = r.size_mm;
    f.volume_ml = r.volume_ml;
    f.score = r.score;
    f.severity = r.severity.empty() ? "info" : r.severity;
    auto details = json::parse(r.details_json, nullptr, false);
    if (details.is_object() && details.contains("measurements") && details["measurements"].is_array()) {
      for (const auto& m : details["measurements"]) {
        if (!m.is_object() || !m.contains("value") || !m["value"].is_number()) continue;
        f.measurements.push_back({m.value("name", ""), m.value("code", ""), m.value("scheme", ""),
                                  m["value"].get<double>(), m.value("unit", "")});
      }
    }
    if (auto it = priors.find(r.id); it != priors.end()) f.prior = it->second;
    if (auto it = tracking.find(r.id); it != tracking.end()) f.tracking_uid = it->second;
    if (auto it = job_sr.find(r.job_id); it != job_sr.end()) {
      f.sr_series_uid = it->second.first;
      f.sr_sop_uid = it->second.second;
    }
    out.push_back(std::move(f));
  }
  auto from_srs = SrFindings(info, job_srs, followup_sr);
  if (!from_srs.ok()) return from_srs.status();
  out.insert(out.end(), from_srs->begin(), from_srs->end());
  return out;
}

Result<StudyProposals> ReportService::ProposalsFor(const StudyInfo& info, const std::string& template_id,
                                                   int64_t decisions_as_of) {
  const std::string& study_uid = info.study_uid;
  StudyProposals out;
  if (!template_id.empty()) {
    out.tmpl = templates_.Find(template_id);
    if (!out.tmpl) return Status(ErrorCode::kInvalidArgument, "template_id: no template '" + template_id + "'");
    out.rule = "template " + template_id + " (as chosen)";
  } else {
    auto choice = ChooseTemplate(info);
    out.tmpl = choice.chosen;
    out.rule = choice.rule;
  }
  auto findings = FindingsOf(info);
  if (!findings.ok()) return findings.status();
  static const report::Template kNoTemplate;
  out.proposals = report::ProposeFindings(out.tmpl ? *out.tmpl : kNoTemplate, findings.value());
  auto decisions = d_.store.CurrentDecisions(study_uid, decisions_as_of);
  if (!decisions.ok()) return decisions.status();
  for (const auto& d : decisions.value()) out.decisions[d.finding_id] = d;
  return out;
}

Result<StudyProposals> ReportService::Proposals(const std::string& study_uid, const std::string& template_id) {
  auto info = Study(study_uid);
  if (!info.ok()) return info.status();
  return ProposalsFor(info.value(), template_id, 0);
}

// -------------------------------------------------------------------------------- reports

Result<storage::ReportStore::Created> ReportService::CreateDraft(const std::string& study_uid,
                                                                 const std::string& template_id,
                                                                 const std::string& author) {
  // An open draft is returned as it is (the template asked for does not replace its own).
  auto existing = d_.store.StudyReports(study_uid);
  if (!existing.ok()) return existing.status();
  for (const auto& r : existing.value()) {
    if (r.origin == "radflow" && r.status == "draft") return storage::ReportStore::Created{r, false};
  }
  auto info = Study(study_uid);
  if (!info.ok()) return info.status();
  auto p = ProposalsFor(info.value(), template_id, 0);
  if (!p.ok()) return p.status();
  // Fields: the first proposal that has a value for a field (proposals come most severe
  // first), else the field's default.
  json fields = json::object();
  if (p->tmpl) {
    for (const auto& section : p->tmpl->sections) {
      for (const auto& field : section.fields) {
        std::string value;
        for (const auto& prop : p->proposals) {
          auto it = prop.values.find(field.id);
          if (it != prop.values.end() && !it->second.empty()) {
            value = it->second;
            break;
          }
        }
        if (value.empty()) value = field.default_value;
        if (!value.empty()) fields[field.id] = value;
      }
    }
  }
  // A low-dose screening CT is managed by Lung-RADS, any other chest CT by Fleischner 2017
  // (report/qa.h reads exam_type); the template's default says "diagnostic".
  if (p->tmpl && p->tmpl->FindField("exam_type")) {
    report::StudyContext ctx;
    ctx.modalities = info->modalities;
    ctx.body_part = info->body_part;
    ctx.study_description = info->study_description;
    if (report::IsLungScreening(ctx)) fields["exam_type"] = "screening";
  }
  storage::ReportRow row;
  row.study_uid = study_uid;
  row.patient_id = info->patient_id;
  row.issuer_of_patient_id = info->issuer_of_patient_id;
  row.accession_number = info->accession_number;
  row.template_id = p->tmpl ? p->tmpl->id : "";
  row.content_json = json{{"fields", fields}, {"sections", json::object()}}.dump();
  row.findings_text = report::ComposeFindingsText(p->proposals, Decisions(p.value()));
  row.author = author;
  return d_.store.CreateDraft(row);
}

Result<ReportView> ReportService::View(int64_t report_id) {
  auto row = d_.store.Get(report_id);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return Status(ErrorCode::kNotFound, "no report " + std::to_string(report_id));
  ReportView v;
  v.row = row->value();
  if (v.row.origin != "radflow" || v.row.study_uid.empty()) return v;
  auto info = Study(v.row.study_uid);
  if (!info.ok()) {
    if (info.status().code() != ErrorCode::kNotFound) return info.status();
    return v;  // the study is not stored (any more): the report alone
  }
  const std::string tmpl = templates_.Find(v.row.template_id) ? v.row.template_id : "";
  auto p = ProposalsFor(info.value(), tmpl, v.row.status == "draft" ? 0 : v.row.signed_at);
  if (!p.ok()) return p.status();
  v.proposals = std::move(p.value());
  if (v.row.status != "final") {
    report::QaOptions options;
    if (v.proposals.tmpl) options.ai_keys = report::FieldAiKeys(*v.proposals.tmpl);
    v.qa = report::CheckReport(DraftOf(v.row), v.proposals.proposals, Decisions(v.proposals), options);
  }
  return v;
}

Result<std::vector<storage::ReportRow>> ReportService::StudyReports(const std::string& study_uid) {
  return d_.store.StudyReports(study_uid);
}

Result<std::vector<storage::ReportRow>> ReportService::PatientReports(const std::string& patient_id,
                                                                      const std::string& issuer) {
  return d_.store.PatientReports(patient_id, issuer);
}

Result<storage::ReportRow> ReportService::Save(int64_t report_id, int64_t revision, const storage::ReportRow& content) {
  if (!content.template_id.empty() && !templates_.Find(content.template_id)) {
    return Status(ErrorCode::kInvalidArgument, "template_id: no template '" + content.template_id + "'");
  }
  if (!content.content_json.empty()) {
    auto doc = json::parse(content.content_json, nullptr, false);
    if (!doc.is_object()) return Status(ErrorCode::kInvalidArgument, "content: must be a JSON object");
  }
  return d_.store.SaveDraft(report_id, revision, content);
}

Result<std::vector<report::QaIssue>> ReportService::Qa(int64_t report_id) {
  auto v = View(report_id);
  if (!v.ok()) return v.status();
  return v->qa;
}

Result<ReportService::SignedParts> ReportService::Assemble(const storage::ReportRow& row, int64_t decisions_as_of) {
  SignedParts parts;
  delivery::SignedReport& r = parts.report;
  r.report_id = row.id;
  r.version = row.version;
  r.status = row.status;
  r.signed_by = row.signed_by;
  r.signed_at = row.signed_at;
  r.author = row.author;
  r.organization = options_.organization;
  r.template_id = row.template_id;
  r.findings_text = row.findings_text;
  r.impression_text = row.impression_text;
  r.critical_communicated = row.critical_communicated;
  r.sr_sop_uid = row.sr_sop_uid;
  r.study_uid = row.study_uid;
  r.patient_id = row.patient_id;
  r.issuer_of_patient_id = row.issuer_of_patient_id;
  r.accession_number = row.accession_number;
  std::optional<StudyInfo> study;
  if (!row.study_uid.empty()) {
    auto info = Study(row.study_uid);
    if (info.ok()) {
      study = info.value();
      parts.study_known = true;
      r.patient_name = info->patient_name;
      r.birth_date = info->birth_date;
      r.sex = info->sex;
      r.study_date = info->study_date;
      r.study_time = info->study_time;
      r.study_description = info->study_description;
      r.referring_physician = info->referring_physician;
      for (const auto& m : info->modalities) r.modalities += (r.modalities.empty() ? "" : "\\") + m;
      r.source_file = info->source_file;
      if (r.patient_id.empty()) r.patient_id = info->patient_id;
      if (r.issuer_of_patient_id.empty()) r.issuer_of_patient_id = info->issuer_of_patient_id;
      if (r.accession_number.empty()) r.accession_number = info->accession_number;
      for (const auto& inst : info->instances) {
        r.evidence.push_back({row.study_uid, inst.series_uid, inst.sop_class_uid, inst.sop_uid});
        if (inst.sop_class_uid.rfind(kSrClassPrefix, 0) == 0) r.sr_sop_classes[inst.sop_uid] = inst.sop_class_uid;
      }
    } else if (info.status().code() != ErrorCode::kNotFound && info.status().code() != ErrorCode::kInvalidArgument) {
      return info.status();
    }
  }
  if (row.origin != "radflow") {
    r.template_title = "External report";
    r.corrected = row.version > 1;
    return parts;
  }
  const report::Template* tmpl = templates_.Find(row.template_id);
  r.template_title = tmpl ? tmpl->title : "Radiology report";
  // The template's sections: their free text, then their fields with a value.
  const auto fields = ContentFields(row.content_json);
  const auto texts = ContentSections(row.content_json);
  std::set<std::string> used;
  if (tmpl) {
    for (const auto& section : tmpl->sections) {
      std::string text;
      if (auto it = texts.find(section.id); it != texts.end() && !it->second.empty()) {
        text = it->second;
        used.insert(section.id);
      }
      for (const auto& field : section.fields) {
        auto it = fields.find(field.id);
        if (it == fields.end() || it->second.empty()) continue;
        std::string value = it->second;
        for (const auto& o : field.options) {
          if (o.value == value && !o.label.empty()) value = o.label;
        }
        if (field.type == "boolean") value = value == "true" ? "yes" : value == "false" ? "no" : value;
        if (!text.empty()) text += "\n";
        text += field.label + ": " + value + (field.unit.empty() || field.type != "number" ? "" : " " + field.unit);
      }
      if (!text.empty()) r.sections.emplace_back(section.title.empty() ? section.id : section.title, text);
    }
  }
  for (const auto& [id, text] : texts) {
    if (!used.count(id) && !text.empty() && (!tmpl || !tmpl->FindSection(id))) r.sections.emplace_back(id, text);
  }
  // The accepted findings, as decided up to the signature.
  if (study) {
    auto p = ProposalsFor(*study, tmpl ? tmpl->id : "", decisions_as_of);
    if (!p.ok()) return p.status();
    for (const auto& prop : p->proposals) {
      auto it = p->decisions.find(prop.finding.id);
      if (it == p->decisions.end() || it->second.decision == "rejected") continue;
      r.accepted.push_back(report::ApplyDecision(prop, ToDecision(it->second),
                                                 tmpl ? report::FieldAiKeys(*tmpl) : std::map<std::string, std::string>{}));
    }
  }
  // Earlier versions: an addendum of a final report is a correction of it.
  auto versions = d_.store.StudyReports(row.study_uid);
  if (!versions.ok()) return versions.status();
  for (const auto& v : versions.value()) {
    if (v.origin != "radflow" || v.version >= row.version) continue;
    if (v.status == "final") r.corrected = true;
    if (v.version == row.version - 1) {
      r.predecessor_sop_uid = v.sr_sop_uid;
      r.predecessor_series_uid = v.sr_series_uid;
    }
  }
  return parts;
}

Result<SignOutcome> ReportService::Sign(int64_t report_id, const std::string& status, const std::string& reader,
                                        const std::set<std::string>& acknowledged) {
  if (reader.empty()) return Status(ErrorCode::kInvalidArgument, "signing needs a signed-in reader");
  if (status != "preliminary" && status != "final") {
    return Status(ErrorCode::kInvalidArgument, "status: must be preliminary or final, not '" + status + "'");
  }
  auto view = View(report_id);
  if (!view.ok()) return view.status();
  SignOutcome out;
  storage::ReportRow row = view->row;
  if (row.origin != "radflow") return Status(ErrorCode::kConflict, "report " + std::to_string(report_id) + " is an external report");
  if (row.status == "final") return Status(ErrorCode::kConflict, "report " + std::to_string(report_id) + " is final already");
  if (row.status == "preliminary" && status == "preliminary") {
    return Status(ErrorCode::kConflict, "report " + std::to_string(report_id) + " is preliminary already");
  }
  for (const auto& issue : view->qa) {
    if (issue.severity == "error" && !acknowledged.count(issue.id)) out.blocking.push_back(issue);
  }
  if (!out.blocking.empty()) {
    out.row = row;
    return out;
  }
  const std::string expected_status = row.status;
  const std::string previous_sr = row.sr_sop_uid, previous_sr_series = row.sr_series_uid;
  row.status = status;
  row.signed_by = reader;
  row.signed_at = UnixMillis();
  if (row.author.empty()) row.author = reader;
  auto parts = Assemble(row, 0);
  if (!parts.ok()) return parts.status();
  if (!parts->study_known) return Status(ErrorCode::kNotFound, "no study " + row.study_uid + " to sign a report of");
  delivery::SignedReport& report = parts->report;
  if (expected_status == "preliminary" && !previous_sr.empty()) {
    // The final report replaces the preliminary one's SR (PS3.3 C.17.2.3: a provisional
    // report included in this one).
    report.predecessor_sop_uid = previous_sr;
    report.predecessor_series_uid = previous_sr_series;
  }

  // 1. The SR, stored in the study through the ingest chokepoint.
  std::error_code ec;
  const std::string out_dir = d_.ingest.NewTempPath() + ".report";
  std::filesystem::create_directories(out_dir, ec);
  auto sr = delivery::WriteReportSr(report, out_dir);
  if (!sr.ok()) {
    std::filesystem::remove_all(out_dir, ec);
    return Status(sr.status().code(), "writing the report's SR: " + sr.status().message());
  }
  ingest::Origin origin;
  origin.kind = ingest::Origin::Kind::kApp;
  origin.detail = "report " + std::to_string(row.id);
  origin.expected_study_instance_uid = row.study_uid;
  auto stored = d_.ingest.Store(sr->path, origin);
  std::filesystem::remove_all(out_dir, ec);
  if (!stored.ok()) return Status(stored.status().code(), "storing the report's SR: " + stored.status().message());
  (void)d_.jobs.MarkRouted(sr->series_uid, UnixMillis());  // no app runs on a report
  report.sr_sop_uid = sr->sop_uid;

  // 2. One transaction: the signature, the outbox, the follow-ups.
  storage::Signature sig;
  sig.report_id = row.id;
  sig.expected_status = expected_status;
  sig.expected_revision = view->row.revision;
  sig.status = status;
  sig.signed_by = reader;
  sig.signed_at = row.signed_at;
  sig.sr_series_uid = sr->series_uid;
  sig.sr_sop_uid = sr->sop_uid;
  const std::string result_status = ResultStatusOf(report);
  delivery::OruOptions oru;
  oru.sending_application = options_.sending_application;
  oru.sending_facility = options_.sending_facility;
  oru.receiving_application = options_.receiving_application;
  oru.receiving_facility = options_.receiving_facility;
  for (const auto& receiver : options_.hl7_receivers) {
    storage::OutboxRow o;
    o.receiver = receiver;
    o.control_id = hl7::NewControlId();
    o.result_status = result_status;
    o.message = delivery::BuildOruR01(report, oru, result_status[0], o.control_id);
    sig.outbox.push_back(std::move(o));
  }
  const std::string base = Digits(report.study_date).size() == 8 ? Digits(report.study_date) : Today();
  sig.followups = FollowupsOf(delivery::ReportText(report), row, base);
  auto signed_row = d_.store.Sign(sig);
  if (!signed_row.ok()) {
    log::Warn("report " + std::to_string(row.id) + ": its SR " + sr->sop_uid +
              " is stored but the signature failed: " + signed_row.status().ToString());
    return signed_row.status();
  }
  out.row = signed_row.value();
  log::Info("report " + std::to_string(row.id) + " signed " + status + " by " + reader + " (SR " + sr->sop_uid + ", " +
            std::to_string(sig.outbox.size()) + " HL7 message(s), " + std::to_string(sig.followups.size()) +
            " follow-up(s))");
  auto delivery = d_.store.Outbox(row.id);
  if (delivery.ok()) out.delivery = delivery.value();
  {
    std::lock_guard lock(mu_);
    ++send_requested_;
    if (!sig.followups.empty()) patients_.push_back({row.patient_id, row.issuer_of_patient_id});
  }
  cv_.notify_all();
  if (signed_listener_) signed_listener_(out.row, reader);
  return out;
}

Result<storage::ReportRow> ReportService::Addendum(int64_t report_id, const std::string& reader) {
  return d_.store.CreateAddendum(report_id, reader, UnixMillis());
}

Result<std::vector<storage::OutboxRow>> ReportService::Delivery(int64_t report_id) {
  auto row = d_.store.Get(report_id);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return Status(ErrorCode::kNotFound, "no report " + std::to_string(report_id));
  return d_.store.Outbox(report_id);
}

std::vector<storage::FollowupRow> ReportService::FollowupsOf(const std::string& text, const storage::ReportRow& row,
                                                             const std::string& base_date) {
  std::vector<storage::FollowupRow> out;
  for (const auto& rec : followups::ExtractRecommendations(text)) {
    storage::FollowupRow f;
    f.study_uid = row.study_uid;
    f.patient_id = row.patient_id;
    f.issuer_of_patient_id = row.issuer_of_patient_id;
    f.finding = rec.finding;
    f.modality = rec.modality;
    f.body_region = rec.body_region;
    f.interval_min_days = rec.interval_min_days;
    f.interval_max_days = rec.interval_max_days;
    f.conditional = rec.conditional;
    f.text = rec.text;
    f.base_date = base_date;
    f.due_date = Digits(followups::DueDate(base_date, rec));
    out.push_back(std::move(f));
  }
  return out;
}

// ------------------------------------------------------------------------ external reports

Result<storage::ReportStore::Created> ReportService::ReceiveExternal(const ExternalInput& in, const std::string& origin) {
  if (in.patient_id.empty()) return Status(ErrorCode::kInvalidArgument, "patient_id: an external report needs the patient's ID");
  if (in.status != "final" && in.status != "preliminary" && in.status != "corrected") {
    return Status(ErrorCode::kInvalidArgument, "status: must be final, preliminary or corrected, not '" + in.status + "'");
  }
  if (in.text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Status(ErrorCode::kInvalidArgument, "text: an external report needs its text");
  }
  if (!in.study_uid.empty() && !IsUid(in.study_uid)) {
    return Status(ErrorCode::kInvalidArgument, "study_uid: '" + in.study_uid + "' is not a UID");
  }
  if (!in.observed_at.empty() && ParseHl7Time(in.observed_at) == 0) {
    return Status(ErrorCode::kInvalidArgument, "observed_at: expected YYYYMMDD[HHMM[SS]], not '" + in.observed_at + "'");
  }
  storage::ReportRow row;
  row.patient_id = in.patient_id;
  row.issuer_of_patient_id = in.issuer_of_patient_id;
  row.accession_number = in.accession_number;
  row.study_uid = in.study_uid;
  // The study whose accession number matches (and of the same patient), when the index has it.
  if (IsLiteralKey(in.accession_number)) {
    auto q = query::BuildQuery(storage::ResourceLevel::kStudy, {{dicom::tags::kAccessionNumber, in.accession_number}});
    if (q.ok()) {
      auto rows = d_.index.Find(q.value());
      if (rows.ok()) {
        std::vector<std::string> matches;
        for (const auto& r : rows.value()) {
          auto pid = r.values.find(dicom::tags::kPatientID);
          auto uid = r.values.find(dicom::tags::kStudyInstanceUID);
          if (uid == r.values.end()) continue;
          if (pid != r.values.end() && pid->second != in.patient_id) continue;
          matches.push_back(uid->second);
        }
        if (matches.size() == 1) row.study_uid = matches.front();
      }
    }
  }
  row.status = in.status == "preliminary" ? "preliminary" : "final";
  row.origin = origin;
  row.external_id = in.external_id;
  auto [findings, impression] = SplitImpression(in.text);
  row.findings_text = findings;
  row.impression_text = impression;
  row.author = in.author;
  row.signed_by = in.author;
  row.signed_at = in.observed_at.empty() ? UnixMillis() : ParseHl7Time(in.observed_at);
  row.content_json = json{{"fields", json::object()}, {"sections", json::object()},
                          {"patient_name", in.patient_name}}.dump();
  std::string base;
  if (!row.study_uid.empty()) {
    if (auto info = Study(row.study_uid); info.ok()) base = Digits(info->study_date);
  }
  if (base.size() != 8 && in.observed_at.size() >= 8) base = in.observed_at.substr(0, 8);
  if (base.size() != 8) base = Today();
  auto created = d_.store.InsertExternal(row, FollowupsOf(in.text, row, base));
  if (!created.ok()) return created.status();
  if (created->created) {
    log::Info("external report " + std::to_string(created->report.id) + " (" + origin + ") of patient " + in.patient_id +
              (row.study_uid.empty() ? "" : ", study " + row.study_uid));
    std::lock_guard lock(mu_);
    patients_.push_back({row.patient_id, row.issuer_of_patient_id});
    cv_.notify_all();
  }
  return created;
}

std::string ReportService::HandleHl7(const std::string& message) {
  auto parsed = hl7::Parse(message);
  if (!parsed.ok()) return hl7::BuildRejectAck(message, parsed.status().message());
  const std::string type = parsed->Type();
  if (type.rfind("ORU^R01", 0) != 0) {
    if (options_.other_hl7) return options_.other_hl7(message);
    return hl7::BuildAck(parsed.value(), "AR", "MSH-9: unsupported message type '" + type + "' (only ORU^R01)",
                         "MSH^1^9", hl7::ErrorCondition::kUnsupportedMessageType);
  }
  auto ext = delivery::ParseOruR01(message);
  if (!ext.ok()) {
    const std::string& error = ext.status().message();
    return hl7::BuildAck(parsed.value(), "AE", error, hl7::ErrorLocation(error));
  }
  ExternalInput in;
  in.patient_id = ext->patient_id;
  in.issuer_of_patient_id = ext->issuer_of_patient_id;
  in.patient_name = ext->patient_name;
  in.accession_number = ext->accession_number;
  in.study_uid = IsUid(ext->study_uid) ? ext->study_uid : "";
  in.status = ext->status;
  in.text = ext->text;
  in.author = ext->author;
  in.observed_at = ParseHl7Time(ext->observed_at) > 0 ? ext->observed_at : "";
  in.external_id = !ext->filler_order_number.empty() ? ext->filler_order_number : ext->control_id;
  auto stored = ReceiveExternal(in, "hl7");
  if (!stored.ok()) {
    const std::string& error = stored.status().message();
    const bool bad_input = stored.status().code() == ErrorCode::kInvalidArgument;
    return hl7::BuildAck(parsed.value(), "AE", error, hl7::ErrorLocation(error),
                         bad_input ? hl7::ErrorCondition::kAccepted : hl7::ErrorCondition::kApplicationInternalError);
  }
  return hl7::BuildAck(parsed.value(), "AA",
                       std::string(stored->created ? "stored as report " : "already stored as report ") +
                           std::to_string(stored->report.id));
}

// ------------------------------------------------------------------------------ decisions

Result<storage::DecisionRow> ReportService::Decide(int64_t finding_id, const DecisionInput& in, const std::string& reader) {
  if (in.decision != "accepted" && in.decision != "edited" && in.decision != "rejected") {
    return Status(ErrorCode::kInvalidArgument, "decision: must be accepted, edited or rejected, not '" + in.decision + "'");
  }
  if (in.decision == "edited" && in.values.empty() && in.sentence.empty()) {
    return Status(ErrorCode::kInvalidArgument, "values: an edited decision needs values or a sentence");
  }
  std::string study = in.study_uid;
  if (study.empty() && finding_id > 0) {
    auto s = d_.store.StudyOfFinding(finding_id);
    if (!s.ok()) return s.status();
    if (s->has_value()) study = s->value();
  }
  if (study.empty() && finding_id < 0) {
    std::lock_guard lock(cache_mu_);
    auto it = sr_finding_study_.find(finding_id);
    if (it != sr_finding_study_.end()) study = it->second;
  }
  if (study.empty()) {
    return Status(ErrorCode::kNotFound, "no finding " + std::to_string(finding_id) +
                                            (finding_id < 0 ? " (a finding of an SR: give its study_uid)" : ""));
  }
  auto findings = Findings(study);
  if (!findings.ok()) return findings.status();
  const report::AiFinding* finding = nullptr;
  for (const auto& f : findings.value()) {
    if (f.id == finding_id) finding = &f;
  }
  if (!finding) {
    return Status(ErrorCode::kNotFound, "finding " + std::to_string(finding_id) + " is not a current AI finding of study " + study);
  }
  storage::DecisionRow d;
  d.finding_id = finding_id;
  d.study_uid = study;
  d.app_id = finding->app_id;
  d.app_version = finding->app_version;
  if (auto reports = d_.store.StudyReports(study); reports.ok()) {
    for (const auto& r : reports.value()) {
      if (r.origin == "radflow" && r.status == "draft") d.report_id = r.id;
    }
  }
  d.decision = in.decision;
  d.reason = in.reason;
  json values = json::object();
  for (const auto& [k, v] : in.values) values[k] = v;
  d.values_json = values.dump();
  d.sentence = in.sentence;
  d.reader = reader;
  return d_.store.AddDecision(d);
}

// ----------------------------------------------------------------------------------- FHIR

Result<std::string> ReportService::FhirDiagnosticReport(int64_t report_id, const std::string& base_url) {
  (void)base_url;
  auto row = d_.store.Get(report_id);
  if (!row.ok()) return row.status();
  if (!row->has_value() || row->value().status == "draft") {
    return Status(ErrorCode::kNotFound, "no signed report " + std::to_string(report_id));
  }
  auto parts = Assemble(row->value(), row->value().signed_at);
  if (!parts.ok()) return parts.status();
  return delivery::DiagnosticReportResource(parts->report).dump();
}

Result<std::string> ReportService::FhirObservation(const std::string& id, const std::string& base_url) {
  (void)base_url;
  auto dash = id.find('-');
  int64_t report_id = 0;
  try {
    if (dash == std::string::npos || dash == 0) throw std::invalid_argument(id);
    report_id = std::stoll(id.substr(0, dash));
  } catch (const std::exception&) {
    return Status(ErrorCode::kNotFound, "no Observation " + id + " (ids are <report id>-<n>)");
  }
  auto row = d_.store.Get(report_id);
  if (!row.ok()) return row.status();
  if (!row->has_value() || row->value().status == "draft") return Status(ErrorCode::kNotFound, "no Observation " + id);
  auto parts = Assemble(row->value(), row->value().signed_at);
  if (!parts.ok()) return parts.status();
  for (const auto& o : delivery::ObservationResources(parts->report)) {
    if (o.value("id", "") == id) return o.dump();
  }
  return Status(ErrorCode::kNotFound, "no Observation " + id);
}

Result<std::string> ReportService::FhirImagingStudy(const std::string& id, const std::string& base_url) {
  (void)base_url;
  // ImagingStudy ids are the Study Instance UID (delivery::ImagingStudyId).
  if (!IsUid(id)) return Status(ErrorCode::kNotFound, "no ImagingStudy " + id);
  auto reports = d_.store.StudyReports(id);
  if (!reports.ok()) return reports.status();
  storage::ReportRow row;
  row.study_uid = id;
  row.status = "final";
  for (const auto& r : reports.value()) {
    if (r.status != "draft") {
      row = r;
      break;
    }
  }
  auto parts = Assemble(row, row.signed_at);
  if (!parts.ok()) return parts.status();
  if (!parts->study_known) return Status(ErrorCode::kNotFound, "no ImagingStudy " + id);
  return delivery::ImagingStudyResource(parts->report).dump();
}

Result<std::string> ReportService::FhirSearch(const std::string& study_uid, const std::string& patient_id,
                                              const std::string& base_url, const std::string& self_url) {
  Result<std::vector<storage::ReportRow>> rows =
      !study_uid.empty() ? d_.store.StudyReports(study_uid) : d_.store.PatientReports(patient_id, "");
  if (!rows.ok()) return rows.status();
  std::vector<delivery::SignedReport> reports;
  for (const auto& r : rows.value()) {
    if (r.status == "draft" || r.superseded) continue;
    if (!study_uid.empty() && r.study_uid != study_uid) continue;
    auto parts = Assemble(r, r.signed_at);
    if (!parts.ok()) return parts.status();
    reports.push_back(std::move(parts->report));
  }
  return delivery::SearchsetBundle(reports, base_url, self_url).dump();
}

// ------------------------------------------------------------------------------ follow-ups

Result<FollowupView> ReportService::ViewOf(const storage::FollowupRow& row) {
  FollowupView v;
  v.row = row;
  v.state = row.state;
  if (row.state == "pending" && !row.due_date.empty() && row.due_date < Today()) v.state = "overdue";
  // The patient's name, from the index (patient level of the study's row).
  std::vector<std::pair<dicom::Tag, std::string>> keys;
  if (IsUid(row.study_uid)) {
    keys = {{dicom::tags::kStudyInstanceUID, row.study_uid}};
  } else if (IsLiteralKey(row.patient_id)) {
    keys = {{dicom::tags::kPatientID, row.patient_id}};
  }
  if (!keys.empty()) {
    auto q = query::BuildQuery(storage::ResourceLevel::kStudy, keys);
    if (q.ok()) {
      q->limit = 1;
      auto found = d_.index.Find(q.value());
      if (found.ok() && !found->empty()) {
        auto it = found->front().values.find(dicom::MakeTag(0x0010, 0x0010));
        if (it != found->front().values.end()) v.patient_name = it->second;
      }
    }
  }
  return v;
}

Result<std::vector<FollowupView>> ReportService::Followups(const storage::FollowupFilter& filter) {
  storage::FollowupFilter f = filter;
  if (f.today.empty()) f.today = Today();
  auto rows = d_.store.Followups(f);
  if (!rows.ok()) return rows.status();
  std::vector<FollowupView> out;
  for (const auto& r : rows.value()) {
    auto v = ViewOf(r);
    if (!v.ok()) return v.status();
    out.push_back(std::move(v.value()));
  }
  return out;
}

Result<FollowupView> ReportService::Followup(int64_t id) {
  auto row = d_.store.Followup(id);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return Status(ErrorCode::kNotFound, "no follow-up " + std::to_string(id));
  return ViewOf(row->value());
}

Result<FollowupView> ReportService::CloseFollowup(int64_t id, const std::string& reason, const std::string& by) {
  auto row = d_.store.CloseFollowup(id, reason, by, UnixMillis());
  if (!row.ok()) return row.status();
  return ViewOf(row.value());
}

void ReportService::OnSeriesStable(const std::string& study_uid, const std::string&) {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  studies_.push_back(study_uid);
  cv_.notify_all();
}

void ReportService::SatisfyWith(const StudyInfo& study) {
  if (study.patient_id.empty()) return;
  auto pending = d_.store.PendingFollowups(study.patient_id, study.issuer_of_patient_id);
  if (!pending.ok()) {
    log::Warn("follow-up tracking: " + pending.status().ToString());
    return;
  }
  followups::StudyFacts facts;
  facts.modalities = study.modalities;
  facts.body_part = study.body_part;
  facts.study_description = study.study_description;
  facts.study_date = study.study_date;
  std::vector<int64_t> ids;
  for (const auto& f : pending.value()) {
    if (f.study_uid == study.study_uid) continue;  // the recommending study itself
    if (followups::SatisfiesRecommendation(f.modality, f.body_region, facts, f.base_date)) ids.push_back(f.id);
  }
  if (ids.empty()) return;
  auto done = d_.store.SatisfyFollowups(ids, study.study_uid, UnixMillis());
  if (!done.ok()) {
    log::Warn("follow-up tracking: " + done.status().ToString());
    return;
  }
  for (const auto& f : done.value()) {
    log::Info("follow-up " + std::to_string(f.id) + " (" + f.modality + " " + f.body_region + ") satisfied by study " +
              study.study_uid);
  }
}

// The patient's studies in the index against the pending follow-ups (a study stored before
// the recommendation was signed, or while no server ran).
void ReportService::CatchUp() {
  std::deque<std::pair<std::string, std::string>> patients;
  {
    std::lock_guard lock(mu_);
    patients.swap(patients_);
  }
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& [pid, issuer] : patients) {
    if (!seen.insert({pid, issuer}).second || !IsLiteralKey(pid)) continue;
    auto q = query::BuildQuery(storage::ResourceLevel::kStudy, {{dicom::tags::kPatientID, pid}});
    if (!q.ok()) continue;
    auto rows = d_.index.Find(q.value());
    if (!rows.ok()) {
      log::Warn("follow-up tracking: " + rows.status().ToString());
      continue;
    }
    for (const auto& r : rows.value()) {
      auto uid = r.values.find(dicom::tags::kStudyInstanceUID);
      if (uid == r.values.end()) continue;
      auto info = Study(uid->second);
      if (!info.ok()) continue;
      if (!issuer.empty() && !info->issuer_of_patient_id.empty() && issuer != info->issuer_of_patient_id) continue;
      SatisfyWith(info.value());
    }
  }
}

void ReportService::Track() {
  std::unique_lock lock(mu_);
  if (catch_up_) {
    catch_up_ = false;
    lock.unlock();
    // Every patient with a pending follow-up, once at start.
    storage::FollowupFilter f;
    f.state = "pending";
    f.limit = 0;
    auto pending = d_.store.Followups(f);
    lock.lock();
    if (pending.ok()) {
      for (const auto& p : pending.value()) patients_.push_back({p.patient_id, p.issuer_of_patient_id});
    }
  }
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !studies_.empty() || !patients_.empty(); });
    if (stopping_) break;
    tracking_ = true;
    if (!patients_.empty()) {
      lock.unlock();
      CatchUp();
      lock.lock();
    } else {
      std::string study = studies_.front();
      studies_.pop_front();
      // A study whose series become stable one after another is checked once per batch.
      studies_.erase(std::remove(studies_.begin(), studies_.end(), study), studies_.end());
      lock.unlock();
      auto info = Study(study);
      if (info.ok()) SatisfyWith(info.value());
      lock.lock();
    }
    tracking_ = false;
    idle_cv_.notify_all();
  }
  tracking_ = false;
  idle_cv_.notify_all();
}

// ---------------------------------------------------------------------------------- outbox

void ReportService::SendOne(const storage::OutboxRow& row) {
  const int64_t now = UnixMillis();
  auto target = ParseReceiver(row.receiver);
  if (!target.ok()) {
    (void)d_.store.OutboxFailed(row.id, target.status().message(), "", now, true);
    return;
  }
  auto retry = [&](const std::string& error, const std::string& ack) {
    const int64_t next = UnixMillis() + RetryDelayMs(row.attempts + 1, options_.retry_initial_ms, options_.retry_max_ms);
    log::Warn("HL7 to " + row.receiver + " (report " + std::to_string(row.report_id) + ", " + row.control_id +
              "): " + error + "; attempt " + std::to_string(row.attempts + 2) + " in " +
              std::to_string((next - UnixMillis() + 500) / 1000) + " s");
    (void)d_.store.OutboxFailed(row.id, error, ack, next, false);
  };
  auto reply = hl7::MllpSend(target->first, target->second, row.message, options_.send_timeout_ms);
  if (!reply.ok()) return retry(reply.status().message(), "");
  auto ack = hl7::Parse(reply.value());
  const hl7::Segment* msa = ack.ok() ? ack->Find("MSA") : nullptr;
  if (!msa) return retry("the reply is not an acknowledgment with MSA", reply.value());
  const std::string code = msa->Get(1);
  if (msa->Get(2) != row.control_id) {
    return retry("MSA-2: the acknowledgment is for '" + msa->Get(2) + "', not " + row.control_id, reply.value());
  }
  if (code == "AA" || code == "CA") {
    (void)d_.store.OutboxSent(row.id, reply.value(), UnixMillis());
    log::Info("HL7 ORU^R01 " + row.result_status + " of report " + std::to_string(row.report_id) + " delivered to " +
              row.receiver);
    return;
  }
  std::string why = "MSA-1 " + code + (msa->Get(3).empty() ? "" : ": " + msa->Get(3));
  if (const hl7::Segment* err = ack->Find("ERR"); err && !err->Get(8).empty() && msa->Get(3).empty()) {
    why += ": " + err->Get(8);
  }
  if (code == "AR" || code == "CR") {
    // A rejection: the same bytes would be rejected again.
    log::Warn("HL7 to " + row.receiver + " (report " + std::to_string(row.report_id) + "): rejected, " + why);
    (void)d_.store.OutboxFailed(row.id, why, reply.value(), 0, true);
    return;
  }
  retry(why, reply.value());
}

void ReportService::Send() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const uint64_t pass = send_requested_;
    sending_ = true;
    lock.unlock();
    auto due = d_.store.DueOutbox(UnixMillis());
    if (!due.ok()) log::Warn("HL7 outbox: " + due.status().ToString());
    bool any = false;
    for (const auto& row : due.ok() ? due.value() : std::vector<storage::OutboxRow>{}) {
      {
        std::lock_guard check(mu_);
        if (stopping_) break;
      }
      SendOne(row);
      any = true;
    }
    auto next = d_.store.NextOutboxAttempt();
    lock.lock();
    sending_ = false;
    if (!any) send_done_ = std::max(send_done_, pass);
    idle_cv_.notify_all();
    if (any) continue;  // a delivered message may have unblocked the next one of its receiver
    auto wake = std::chrono::system_clock::now() + std::chrono::seconds(30);
    if (next.ok() && next->has_value()) {
      wake = std::min(wake, std::chrono::system_clock::time_point(std::chrono::milliseconds(next->value())));
    }
    cv_.wait_until(lock, wake, [&] { return stopping_ || send_requested_ != pass; });
  }
  sending_ = false;
  idle_cv_.notify_all();
}

void ReportService::Flush() {
  std::unique_lock lock(mu_);
  if (!started_) return;
  const uint64_t want = ++send_requested_;
  cv_.notify_all();
  idle_cv_.wait(lock, [&] {
    return stopping_ || (studies_.empty() && patients_.empty() && !tracking_ && send_done_ >= want);
  });
}

}  // namespace radflow::reporting
