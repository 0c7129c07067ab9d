#include "research/exporter.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/log.h"
#include "dicom/instance.h"
#include "dicom/tag.h"
#include "imaging/nifti_io.h"
#include "imaging/seg.h"
#include "imaging/series_volume.h"
#include "query/matching.h"
#include "research/export_files.h"
#include "research/ibsi_features.h"
#include "research/selection.h"
#include "similar/features.h"
#include "storage/ai_admin_store.h"
#include "storage/blob_store.h"
#include "storage/index.h"
#include "storage/job_store.h"

#ifndef RADFLOW_VERSION
#define RADFLOW_VERSION "unknown"
#endif

namespace radflow::research {

namespace {

namespace fs = std::filesystem;
namespace t = dicom::tags;
constexpr dicom::Tag kFrameOfReferenceUID = dicom::MakeTag(0x0020, 0x0052);
constexpr const char* kStaging = ".staging";  // de-identified DICOM when "dicom" is not exported

struct SeriesPlan {
  std::string uid, key, modality;
  std::vector<std::string> sop_uids, sources;  // original instances (absolute paths)
  std::vector<std::pair<std::string, std::string>> outputs;  // (SOP UID, de-identified file) written
  std::string frame_of_reference;
  std::optional<imaging::Geometry> grid;       // of its NIfTI volume, once written
};

struct StudyPlan {
  std::string uid, key, patient;  // patient: the pseudonym
  std::vector<SeriesPlan> series;
  std::vector<int64_t> finding_ids;
};

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) return Status(ErrorCode::kIoError, "cannot write " + path);
  return Status::Ok();
}

// A binary mask (0/1) as float32 NIfTI (imaging::WriteNifti writes float32).
Status WriteMask(const imaging::Mask& mask, const std::string& path) {
  imaging::ImageVolume v(mask.geometry(), 0.f);
  for (size_t i = 0; i < mask.data().size(); ++i) v.data()[i] = mask.data()[i] != 0 ? 1.f : 0.f;
  return imaging::WriteNifti(v, path);
}

std::string SiteOf(const std::string& details_json) {
  auto j = nlohmann::json::parse(details_json, nullptr, false);
  if (!j.is_object()) return "";
  for (const char* key : {"site", "finding_site"}) {
    auto it = j.find(key);
    if (it == j.end()) continue;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object() && it->contains("meaning") && (*it)["meaning"].is_string()) {
      return (*it)["meaning"].get<std::string>();
    }
  }
  return "";
}

// details_json "measurements": [{"name","value","unit"}] → ("<name> [<unit>]", value).
std::vector<std::pair<std::string, double>> MeasurementsOf(const std::string& details_json) {
  std::vector<std::pair<std::string, double>> out;
  auto j = nlohmann::json::parse(details_json, nullptr, false);
  if (!j.is_object() || !j.contains("measurements") || !j["measurements"].is_array()) return out;
  for (const auto& m : j["measurements"]) {
    if (!m.is_object() || !m.contains("value") || !m["value"].is_number()) continue;
    const std::string name = m.contains("name") && m["name"].is_string() ? m["name"].get<std::string>() : "";
    if (name.empty()) continue;
    const std::string unit = m.contains("unit") && m["unit"].is_string() ? m["unit"].get<std::string>() : "";
    out.emplace_back(unit.empty() ? name : name + " [" + unit + "]", m["value"].get<double>());
  }
  return out;
}

class Writer {
 public:
  Writer(const ExportPlan& plan, const ExportSources& src, std::string out, const ProgressFn& progress,
         const std::function<bool()>& cancelled)
      : plan_(plan), src_(src), out_(std::move(out)), progress_(progress), cancelled_(cancelled),
        deid_(plan.options) {}

  Result<std::string> Run() {
    RADFLOW_RETURN_IF_ERROR(Prepare());
    const bool dicom = plan_.formats.count("dicom") != 0, nifti = plan_.formats.count("nifti") != 0;
    const std::string dicom_root = dicom ? out_ + "/dicom" : out_ + "/" + kStaging;
    for (auto& study : studies_) {
      if (dicom || nifti) {
        for (auto& series : study.series) {
          for (size_t i = 0; i < series.sources.size(); ++i) {
            RADFLOW_RETURN_IF_ERROR(Check());
            const std::string rel = study.patient + "/" + study.key + "/" + series.key + "/" +
                                    deid_.MapUid(series.sop_uids[i]) + ".dcm";
            const std::string dest = dicom_root + "/" + rel;
            auto report = deid_.DeidentifyFile(series.sources[i], dest);
            if (!report.ok()) {
              ++manifest_.dicom_skipped;
              manifest_.skipped_reasons.push_back("an object of series " + series.key + ": " +
                                                  std::string(Describe(report.status().code()).name));
            } else if (report->skipped) {
              ++manifest_.dicom_skipped;
              manifest_.skipped_reasons.push_back("an object of series " + series.key + ": " + report->reason);
            } else {
              series.outputs.emplace_back(series.sop_uids[i], dest);
              if (dicom) ++manifest_.dicom_files;
            }
            Step();
          }
        }
      }
      if (nifti) RADFLOW_RETURN_IF_ERROR(Nifti(study));
    }
    if (!dicom && nifti) {
      std::error_code ec;
      fs::remove_all(dicom_root, ec);
    }
    if (plan_.formats.count("csv")) {
      RADFLOW_RETURN_IF_ERROR(Check());
      RADFLOW_RETURN_IF_ERROR(Csv());
      Step();
    }
    return Manifest();
  }

 private:
  Status Check() const {
    if (cancelled_ && cancelled_()) return Status(ErrorCode::kCancelled, "stopped");
    return Status::Ok();
  }
  void Step() {
    ++done_;
    if (progress_) progress_(done_, total_);
  }

  // The studies' series and files from the index; the total.
  Status Prepare() {
    std::error_code ec;
    if (fs::exists(out_, ec) && !fs::is_empty(out_, ec)) {
      return Status(ErrorCode::kConflict, "the export folder " + out_ + " is not empty");
    }
    fs::create_directories(out_, ec);
    if (ec) return Status(ErrorCode::kIoError, "cannot create " + out_ + ": " + ec.message());
    const bool files = plan_.formats.count("dicom") || plan_.formats.count("nifti");
    for (const auto& s : plan_.studies) {
      storage::Query q;
      q.level = storage::ResourceLevel::kSeries;
      storage::Constraint c;
      c.tag = t::kStudyInstanceUID;
      c.value = s.study_uid;
      q.constraints.push_back(c);
      auto rows = src_.index->Find(q);
      if (!rows.ok()) return rows.status();
      std::map<std::string, std::pair<std::string, std::string>> found;  // series → (modality, patient)
      for (const auto& r : rows.value()) {
        auto get = [&](dicom::Tag tag) {
          auto it = r.values.find(tag);
          return it == r.values.end() ? std::string() : Trim(it->second);
        };
        found[get(t::kSeriesInstanceUID)] = {get(t::kModality), get(t::kPatientID)};
      }
      StudyPlan sp;
      sp.uid = s.study_uid;
      sp.key = deid_.MapUid(s.study_uid);
      sp.finding_ids = s.finding_ids;
      std::string patient_id;
      for (const auto& uid : s.series_uids) {
        auto it = found.find(uid);
        if (it == found.end()) {
          manifest_.warnings.push_back("a series of study " + sp.key + " is no longer stored");
          continue;
        }
        patient_id = it->second.second;
        SeriesPlan se;
        se.uid = uid;
        se.key = deid_.MapUid(uid);
        se.modality = it->second.first;
        auto located = query::LocateSeries(*src_.index, uid);
        if (located.ok()) {
          for (const auto& l : located.value()) {
            auto path = src_.blobs->LocalPath(l.blob_path);  // S3: fetched into the read cache
            if (!path.ok()) {
              manifest_.warnings.push_back("an instance of study " + sp.key + " cannot be read: " +
                                           path.status().message());
              continue;
            }
            se.sop_uids.push_back(l.sop_uid);
            se.sources.push_back(path.value());
          }
        }
        if (files) total_ += static_cast<int64_t>(se.sources.size());
        if (plan_.formats.count("nifti") && (se.modality == "SEG" || !IsDerivedModality(se.modality))) ++total_;
        sp.series.push_back(std::move(se));
      }
      if (sp.series.empty()) continue;
      sp.patient = deid_.PseudonymFor(patient_id);
      studies_.push_back(std::move(sp));
    }
    if (plan_.formats.count("csv")) ++total_;
    ++total_;  // manifest.json
    if (progress_) progress_(0, total_);
    return Status::Ok();
  }

  std::string Relative(const std::string& path) const {
    return fs::relative(path, out_).generic_string();
  }
  std::string Scrub(std::string message) const {
    for (size_t p; (p = message.find(out_ + "/")) != std::string::npos;) message.erase(p, out_.size() + 1);
    return message;
  }

  Status Nifti(StudyPlan& study) {
    const std::string dir = out_ + "/nifti/" + study.patient + "/" + study.key;
    std::error_code ec;
    // Image series: one volume each, from the de-identified files (Clean Pixel Data applies).
    for (auto& se : study.series) {
      if (IsDerivedModality(se.modality)) continue;
      RADFLOW_RETURN_IF_ERROR(Check());
      if (!se.outputs.empty()) {
        auto first = dicom::ParsePart10File(se.outputs.front().second);
        if (first.ok()) se.frame_of_reference = Trim(first->attributes.Get(kFrameOfReferenceUID));
        std::vector<std::string> files;
        for (const auto& o : se.outputs) files.push_back(o.second);
        auto loaded = imaging::LoadSeries(files);
        if (loaded.ok()) {
          fs::create_directories(dir, ec);
          const std::string path = dir + "/" + se.key + ".nii.gz";
          Status w = imaging::WriteNifti(loaded->volume, path);
          if (w.ok()) {
            se.grid = loaded->volume.geometry();
            ++manifest_.nifti_images;
          } else {
            manifest_.warnings.push_back("series " + se.key + ": NIfTI not written (" + Scrub(w.ToString()) + ")");
          }
        } else {
          manifest_.warnings.push_back("series " + se.key + ": not a volume (" + Scrub(loaded.status().ToString()) + ")");
        }
      }
      Step();
    }
    // SEG series: every segment as a mask on the grid of the image series it was drawn on
    // (same Frame of Reference, frames on its planes), else on the SEG's own grid.
    for (auto& seg : study.series) {
      if (seg.modality != "SEG") continue;
      RADFLOW_RETURN_IF_ERROR(Check());
      for (size_t i = 0; i < seg.outputs.size(); ++i) {
        const std::string& path = seg.outputs[i].second;
        auto segments = imaging::ListSegments(path);
        if (!segments.ok() || segments->empty()) {
          manifest_.warnings.push_back("SEG of series " + seg.key + ": no segments read");
          continue;
        }
        auto parsed = dicom::ParsePart10File(path);
        const std::string frame = parsed.ok() ? Trim(parsed->attributes.Get(kFrameOfReferenceUID)) : "";
        const std::string first = std::to_string(segments->front().number);
        const SeriesPlan* on = nullptr;
        for (const auto& im : study.series) {
          if (!im.grid || (!frame.empty() && !im.frame_of_reference.empty() && im.frame_of_reference != frame)) continue;
          if (imaging::ReadSegment(path, first, *im.grid).ok()) {
            on = &im;
            break;
          }
        }
        std::optional<imaging::Geometry> grid;
        if (on != nullptr) {
          grid = on->grid;
        } else if (auto own = imaging::SegmentationGrid(path); own.ok()) {
          grid = own.value();
        }
        if (!grid) {
          manifest_.warnings.push_back("SEG of series " + seg.key + ": no grid to place it on");
          continue;
        }
        const std::string base = on != nullptr ? on->key : seg.key;
        const std::string seg_key = deid_.MapUid(seg.outputs[i].first);
        for (const auto& s : segments.value()) {
          auto mask = imaging::ReadSegment(path, std::to_string(s.number), *grid);
          if (!mask.ok()) {
            manifest_.warnings.push_back("segment " + std::to_string(s.number) + " of SEG " + seg_key + ": " +
                                         Scrub(mask.status().ToString()));
            continue;
          }
          fs::create_directories(dir, ec);
          const std::string out = dir + "/" + base + "_seg_" + seg_key + "_" + std::to_string(s.number) + ".nii.gz";
          Status w = WriteMask(mask.value(), out);
          if (!w.ok()) {
            manifest_.warnings.push_back("segment " + std::to_string(s.number) + " of SEG " + seg_key + ": " +
                                         Scrub(w.ToString()));
            continue;
          }
          ++manifest_.nifti_masks;
          masks_[{seg.outputs[i].first, s.number}] = Relative(out);
        }
      }
      Step();
    }
    return Status::Ok();
  }

  Status Csv() {
    std::vector<FindingCsvRow> rows;
    std::map<int64_t, std::string> app_version;  // job id → version
    for (const auto& study : studies_) {
      std::set<int64_t> wanted(study.finding_ids.begin(), study.finding_ids.end());
      if (wanted.empty()) continue;
      std::vector<storage::FindingRow> found;
      for (const auto& se : study.series) {
        if (IsDerivedModality(se.modality)) continue;
        auto fs_of = src_.jobs->Findings("", se.uid);
        if (!fs_of.ok()) return fs_of.status();
        for (auto& f : fs_of.value()) {
          if (wanted.count(f.id)) found.push_back(std::move(f));
        }
      }
      std::vector<int64_t> ids;
      for (const auto& f : found) ids.push_back(f.id);
      std::map<int64_t, storage::FeatureRow> features;
      if (src_.features != nullptr && !ids.empty()) {
        auto cached = src_.features->Features(ids, "v1");
        if (!cached.ok()) return cached.status();
        for (auto& fr : cached.value()) features[fr.finding_id] = std::move(fr);
      }
      std::map<std::string, std::string> series_key;
      for (const auto& se : study.series) series_key[se.uid] = se.key;
      for (const auto& f : found) {
        FindingCsvRow r;
        r.patient = study.patient;
        r.study = study.key;
        r.series = series_key.count(f.series_uid) ? series_key[f.series_uid] : deid_.MapUid(f.series_uid);
        r.finding = static_cast<int64_t>(rows.size()) + 1;
        r.app = f.app_id;
        if (!app_version.count(f.job_id)) {
          auto job = src_.jobs->Get(f.job_id);
          app_version[f.job_id] = job.ok() && job->has_value() ? (*job)->app_version : "";
        }
        r.app_version = app_version[f.job_id];
        r.type_code = f.type_code;
        r.type_meaning = f.type_meaning;
        r.label = f.label;
        r.site = SiteOf(f.details_json);
        r.x = f.x;
        r.y = f.y;
        r.z = f.z;
        r.size_mm = f.size_mm;
        r.volume_ml = f.volume_ml;
        r.score = f.score;
        r.severity = f.severity;
        r.measurements = MeasurementsOf(f.details_json);
        const auto facts = similar::ParseLesionFacts(f.volume_ml, f.size_mm, f.details_json);
        if (auto m = masks_.find({facts.seg_sop_uid, facts.segment_number}); m != masks_.end()) r.mask_file = m->second;
        if (auto it = features.find(f.id); it != features.end() && it->second.source == "ibsi") {
          r.ibsi = IbsiFromCached(it->second.feature_set, it->second.values);
          if (!r.ibsi.empty()) r.features_source = "ibsi";
        }
        rows.push_back(std::move(r));
      }
    }
    manifest_.csv_rows = static_cast<int64_t>(rows.size());
    return WriteText(out_ + "/findings.csv", FindingsCsv(rows));
  }

  Result<std::string> Manifest() {
    RADFLOW_RETURN_IF_ERROR(Check());
    const auto& c = plan_.cohort;
    manifest_.radflow_version = RADFLOW_VERSION;
    manifest_.created_at_ms = UnixMillis();
    manifest_.cohort_name = c.name;
    manifest_.cohort_version = c.version;
    manifest_.cohort_description = c.description;
    manifest_.criteria_json = c.criteria_json;
    manifest_.patients = c.counts.patients;
    manifest_.studies = c.counts.studies;
    manifest_.series = c.counts.series;
    manifest_.instances = c.counts.instances;
    manifest_.lesions = c.counts.lesions;
    manifest_.options = plan_.options;
    manifest_.options.secret.clear();
    manifest_.formats.assign(plan_.formats.begin(), plan_.formats.end());
    auto files = ListFiles(out_);
    if (!files.ok()) return files.status();
    for (const auto& rel : files.value()) {
      if (rel == "manifest.json") continue;
      std::error_code ec;
      ManifestFile f;
      f.path = rel;
      f.size = static_cast<uint64_t>(fs::file_size(out_ + "/" + rel, ec));
      auto hash = Sha256File(out_ + "/" + rel);
      if (!hash.ok()) return hash.status();
      f.sha256 = hash.value();
      manifest_.files.push_back(std::move(f));
    }
    std::string text = ManifestJson(manifest_);
    RADFLOW_RETURN_IF_ERROR(WriteText(out_ + "/manifest.json", text));
    Step();
    return text;
  }

  const ExportPlan& plan_;
  const ExportSources& src_;
  std::string out_;
  const ProgressFn& progress_;
  const std::function<bool()>& cancelled_;
  deid::Deidentifier deid_;
  std::vector<StudyPlan> studies_;
  std::map<std::pair<std::string, int>, std::string> masks_;  // (SEG SOP UID, segment) → file
  ManifestInput manifest_;
  int64_t done_ = 0, total_ = 0;
};

}  // namespace

Result<std::string> WriteExport(const ExportPlan& plan, const ExportSources& sources, const std::string& out_dir,
                                const ProgressFn& progress, const std::function<bool()>& cancelled) {
  if (sources.index == nullptr || sources.blobs == nullptr || sources.jobs == nullptr) {
    return Status(ErrorCode::kInternal, "research export without its sources");
  }
  if (plan.options.secret.empty()) return Status(ErrorCode::kInternal, "research export without the site secret");
  std::error_code ec;
  const std::string out = fs::absolute(out_dir, ec).lexically_normal().string();
  Writer w(plan, sources, out.size() > 1 && out.back() == '/' ? out.substr(0, out.size() - 1) : out, progress,
           cancelled);
  return w.Run();
}

}  // namespace radflow::research
