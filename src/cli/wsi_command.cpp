// `radflow wsi import SLIDE` (docs/wsi-import.md): a vendor slide (Aperio SVS, generic tiled
// TIFF) into a DICOM VL Whole Slide Microscopy pyramid, stored in the data directory
// through IngestService::Store, or written to a folder with --out.
#include "cli/wsi_command.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/index_option.h"
#include "server/hub.h"
#include "wsi/wsi_import.h"

namespace fs = std::filesystem;

namespace radflow::cli {

namespace {

struct WsiCliOptions {
  std::string slide, data = "./radflow-data", index, out, format = "text";
  std::string storage, s3_endpoint;
  wsi::ImportOptions import;
};

int Fail(const Status& st) {
  std::cerr << "radflow wsi import: " << st.message() << "\n";
  return st.code() == ErrorCode::kInvalidArgument || st.code() == ErrorCode::kNotFound ? 2 : 1;
}

void Print(const WsiCliOptions& o, const wsi::ConversionReport& r, double seconds, int stored, int present) {
  if (o.format == "json") {
    nlohmann::ordered_json j;
    j["study_instance_uid"] = r.study_instance_uid;
    j["series_instance_uid"] = r.series_instance_uid;
    j["frame_of_reference_uid"] = r.frame_of_reference_uid;
    j["container_identifier"] = r.container_identifier;
    j["seconds"] = seconds;
    j["stored"] = stored;
    j["already_present"] = present;
    auto list = nlohmann::ordered_json::array();
    for (const auto& w : r.instances) {
      list.push_back({{"kind", w.kind}, {"sop_instance_uid", w.sop_instance_uid},
                      {"total_columns", w.total_columns}, {"total_rows", w.total_rows}, {"frames", w.frames},
                      {"copied", w.copied}, {"photometric", w.photometric}, {"bytes", w.bytes},
                      {"path", o.out.empty() ? "" : w.path}});
    }
    j["instances"] = std::move(list);
    std::cout << j.dump(2) << "\n";
    return;
  }
  for (const auto& w : r.instances) {
    std::cout << w.kind << " " << w.total_columns << "x" << w.total_rows << ", " << w.frames << " frame"
              << (w.frames == 1 ? "" : "s") << ", " << (w.copied ? "tiles copied" : "encoded") << ", "
              << w.photometric << ", " << w.bytes << " bytes\n";
  }
  std::cout << r.instances.size() << " instances, study " << r.study_instance_uid << ", series "
            << r.series_instance_uid;
  if (o.out.empty()) std::cout << "; stored " << stored << ", already present " << present;
  else std::cout << "; written to " << o.out;
  std::cout << " (" << seconds << " s)\n";
}

// Values that go into the header as they are must fit their VR (PS3.5 6.2).
Status CheckValues(const wsi::ImportOptions& i) {
  const std::string& uid = i.study_instance_uid;
  if (!uid.empty() && (uid.size() > 64 || uid.find_first_not_of("0123456789.") != std::string::npos ||
                       uid.front() == '.' || uid.back() == '.' || uid.find("..") != std::string::npos)) {
    return Status(ErrorCode::kInvalidArgument, "--study-uid '" + uid + "' is not a UID (digits and dots, at most 64)");
  }
  if (i.patient_id.size() > 64) return Status(ErrorCode::kInvalidArgument, "--patient-id is longer than 64 characters (LO)");
  if (i.patient_name.size() > 324) return Status(ErrorCode::kInvalidArgument, "--patient-name is too long (PN)");
  if (i.accession_number.size() > 16) {
    return Status(ErrorCode::kInvalidArgument, "--accession is longer than 16 characters (SH)");
  }
  if (i.container_identifier.size() > 64) {
    return Status(ErrorCode::kInvalidArgument, "--container-id is longer than 64 characters (LO)");
  }
  for (const std::string* v : {&i.patient_id, &i.patient_name, &i.accession_number, &i.container_identifier}) {
    if (v->find_first_of("\\\r\n") != std::string::npos) {
      return Status(ErrorCode::kInvalidArgument, "'" + *v + "': backslash and line breaks are not allowed");
    }
  }
  return Status::Ok();
}

int RunImport(const WsiCliOptions& o) {
  if (Status st = CheckValues(o.import); !st.ok()) return Fail(st);
  if (o.format != "text" && o.format != "json") {
    return Fail({ErrorCode::kInvalidArgument, "--format must be text or json, not '" + o.format + "'"});
  }
  if (!(o.import.section_thickness_um > 0 && o.import.section_thickness_um < 1000)) {
    return Fail({ErrorCode::kInvalidArgument, "--thickness-um must be in (0, 1000)"});
  }
  if (!(o.import.mpp == 0 || (o.import.mpp > 0 && o.import.mpp < 1000))) {
    return Fail({ErrorCode::kInvalidArgument, "--mpp must be in (0, 1000) microns per pixel"});
  }
  if (o.import.jpeg_quality < 1 || o.import.jpeg_quality > 100) {
    return Fail({ErrorCode::kInvalidArgument, "--quality must be 1..100"});
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  if (!o.out.empty()) {
    std::error_code ec;
    fs::create_directories(o.out, ec);
    if (ec) return Fail({ErrorCode::kIoError, o.out + ": " + ec.message()});
    int n = 0;
    auto r = wsi::ConvertSlide(o.slide, o.import, [&] {
      char name[32];
      std::snprintf(name, sizeof name, "wsi-%03d.dcm", n++);
      return (fs::path(o.out) / name).string();
    });
    if (!r.ok()) return Fail(r.status());
    Print(o, *r, seconds(), 0, 0);
    return 0;
  }
  auto hub = server::Hub::Open(o.data, {}, false, o.index, {o.storage, o.s3_endpoint, ""});
  if (!hub.ok()) return Fail(hub.status());
  auto s = wsi::ImportSlide(o.slide, o.import, *hub.value()->ingest);
  if (!s.ok()) return Fail(s.status());
  Print(o, s->report, seconds(), s->stored, s->already_present);
  return 0;
}

}  // namespace

void AddWsiCommands(CLI::App& app, std::function<int()>& run) {
  auto o = std::make_shared<WsiCliOptions>();
  auto* wsi = app.add_subcommand("wsi", "whole-slide images (docs/wsi-import.md)");
  wsi->require_subcommand(1);
  auto* import = wsi->add_subcommand(
      "import", "convert a vendor slide (Aperio SVS, tiled TIFF) into a DICOM WSI pyramid and store it");
  import->add_option("slide", o->slide, "the slide file")->required();
  import->add_option("--data", o->data, "data directory")->capture_default_str();
  AddIndexOption(import, &o->index);
  AddStorageOptions(import, &o->storage, &o->s3_endpoint);
  import->add_option("--out", o->out, "write the DICOM files into this folder instead of storing them");
  import->add_option("--patient-id", o->import.patient_id, "PatientID (default WSI-<container id>)");
  import->add_option("--patient-name", o->import.patient_name, "PatientName (DICOM PN, e.g. DOE^JANE)");
  import->add_option("--accession", o->import.accession_number, "AccessionNumber");
  import->add_option("--study-uid", o->import.study_instance_uid, "StudyInstanceUID (default: a new one)");
  import->add_option("--container-id", o->import.container_identifier,
                     "ContainerIdentifier of the slide (default: the file name without extension)");
  import->add_option("--thickness-um", o->import.section_thickness_um,
                     "section thickness in micrometres (ImagedVolumeDepth)")->capture_default_str();
  import->add_option("--mpp", o->import.mpp,
                     "microns per pixel at level 0 (overrides the file; needed when it records none)");
  import->add_option("--quality", o->import.jpeg_quality, "JPEG quality of computed tiles")->capture_default_str();
  import->add_option("--threads", o->import.threads, "decoder/encoder threads (clamped to 1..4 x CPUs)")->capture_default_str();
  import->add_option("--format", o->format, "text | json")->capture_default_str();
  import->callback([o, &run] { run = [o] { return RunImport(*o); }; });
}

}  // namespace radflow::cli
