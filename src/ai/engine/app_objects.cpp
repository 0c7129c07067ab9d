#include "ai/engine/app_objects.h"

#include <algorithm>
#include <filesystem>
#include <set>

namespace radflow::ai {
namespace {

namespace fs = std::filesystem;

Status Bad(const std::string& what, const std::string& reason) {
  return Status(ErrorCode::kInvalidArgument, "the app's object " + what + ": " + reason);
}

std::string Fact(const SeriesFacts& facts, const char* key) {
  auto it = facts.find(key);
  return it == facts.end() ? "" : it->second;
}

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// PS3.4 B.5: Segmentation Storage and Label Map Segmentation Storage; the SR Storage
// classes (Basic Text, Enhanced, Comprehensive, Comprehensive 3D, …) are
// 1.2.840.10008.5.1.4.1.1.88.*, except Key Object Selection Document Storage (88.59),
// which selects instances and reports nothing.
constexpr const char* kKeyObjectSelection = "1.2.840.10008.5.1.4.1.1.88.59";

bool KindMatches(const std::string& kind, const std::string& sop_class) {
  if (kind == "seg") {
    return sop_class == "1.2.840.10008.5.1.4.1.1.66.4" || sop_class == "1.2.840.10008.5.1.4.1.1.66.7";
  }
  return kind == "sr" && StartsWith(sop_class, "1.2.840.10008.5.1.4.1.1.88.") && sop_class != kKeyObjectSelection;
}

bool Wanted(const AppManifest& app, const std::string& kind) {
  return app.outputs.empty() || std::find(app.outputs.begin(), app.outputs.end(), kind) != app.outputs.end();
}

}  // namespace

Result<std::vector<WrittenResult>> CollectAppObjects(const std::vector<AppObject>& objects,
                                                     const std::string& out_dir, const SeriesFacts& source,
                                                     const AppManifest& app,
                                                     const std::vector<std::string>& source_files) {
  std::vector<WrittenResult> out;
  std::error_code ec;
  const fs::path folder = fs::weakly_canonical(fs::absolute(out_dir, ec), ec);
  if (ec) return Status(ErrorCode::kIoError, "the app's folder " + out_dir + ": " + ec.message());
  const std::string study = Fact(source, "StudyInstanceUID");
  const std::string source_series = Fact(source, "SeriesInstanceUID");
  std::set<std::string> seen;
  std::set<std::string> source_sops;  // read once, when the first object is checked
  bool source_read = false;
  for (const AppObject& o : objects) {
    const std::string what = "'" + o.path + "'";
    if (o.kind != "seg" && o.kind != "sr") return Bad(what, "kind '" + o.kind + "' is not one of seg, sr");
    if (!Wanted(app, o.kind)) continue;  // the manifest does not list it: not stored
    fs::path path(o.path);
    if (path.is_relative()) path = folder / path;
    // Only what the app wrote into its own folder is stored (never a path elsewhere).
    const fs::path resolved = fs::weakly_canonical(path, ec);
    if (ec) return Bad(what, ec.message());
    const fs::path rel = resolved.lexically_relative(folder);
    if (rel.empty() || *rel.begin() == ".." || rel == ".") return Bad(what, "is not inside " + folder.string());
    if (!fs::is_regular_file(resolved, ec)) return Bad(what, "no such file");
    auto facts = ReadSeriesFacts({resolved.string()});
    if (!facts.ok()) return Bad(what, "not a readable DICOM file: " + facts.status().message());
    WrittenResult r;
    r.path = resolved.string();
    r.kind = o.kind;
    r.sop_class_uid = Fact(facts.value(), "SOPClassUID");
    r.sop_instance_uid = Fact(facts.value(), "SOPInstanceUID");
    r.series_instance_uid = Fact(facts.value(), "SeriesInstanceUID");
    if (r.sop_class_uid.empty() || r.sop_instance_uid.empty() || r.series_instance_uid.empty()) {
      return Bad(what, "has no SOPClassUID, SOPInstanceUID or SeriesInstanceUID");
    }
    if (!KindMatches(o.kind, r.sop_class_uid)) {
      return Bad(what, "SOP class " + r.sop_class_uid + " is not a " + (o.kind == "seg" ? "Segmentation" : "Structured Report"));
    }
    if (!study.empty() && Fact(facts.value(), "StudyInstanceUID") != study) {
      return Bad(what, "StudyInstanceUID '" + Fact(facts.value(), "StudyInstanceUID") + "' is not the source's " + study);
    }
    if (r.series_instance_uid == source_series) return Bad(what, "is in the source series (results need a series of their own)");
    if (!seen.insert(r.sop_instance_uid).second) return Bad(what, "SOPInstanceUID " + r.sop_instance_uid + " given twice");
    if (!source_read) {
      source_read = true;
      for (const auto& f : source_files) {
        auto sf = ReadSeriesFacts({f});
        if (sf.ok()) source_sops.insert(Fact(sf.value(), "SOPInstanceUID"));
      }
    }
    // PS3.3 C.12.1.1.1: a new object needs a new SOP Instance UID; a source's would make
    // ingest keep (or replace) the source instead of storing the result.
    if (source_sops.count(r.sop_instance_uid)) {
      return Bad(what, "SOPInstanceUID " + r.sop_instance_uid + " is a source instance's (results need UIDs of their own)");
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace radflow::ai
