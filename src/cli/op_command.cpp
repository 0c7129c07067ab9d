// `radflow op import IMAGE` (docs/ophthalmic.md): a fundus photograph (JPEG, PNG) wrapped as
// DICOM Ophthalmic Photography and stored in the data directory through IngestService::Store,
// or written to a file with --out.
#include "cli/op_command.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

#include "cli/index_option.h"
#include "op/op_codes.h"
#include "op/op_import.h"
#include "server/hub.h"

namespace radflow::cli {

namespace {

struct OpCliOptions {
  std::string image, data = "./radflow-data", index, out, format = "text";
  std::string storage, s3_endpoint;
  op::OpOptions op;
};

int Fail(const Status& st) {
  std::cerr << "radflow op import: " << st.message() << "\n";
  return st.code() == ErrorCode::kInvalidArgument || st.code() == ErrorCode::kNotFound ||
                 st.code() == ErrorCode::kUnsupported
             ? 2
             : 1;
}

void Print(const OpCliOptions& o, const op::OpObject& r, const char* outcome) {
  if (o.format == "json") {
    nlohmann::ordered_json j;
    j["sop_class_uid"] = r.sop_class_uid;
    j["sop_instance_uid"] = r.sop_instance_uid;
    j["study_instance_uid"] = r.study_instance_uid;
    j["series_instance_uid"] = r.series_instance_uid;
    j["transfer_syntax_uid"] = r.transfer_syntax_uid;
    j["photometric_interpretation"] = r.photometric_interpretation;
    j["source_format"] = r.source_format;
    j["rows"] = r.rows;
    j["columns"] = r.columns;
    j["samples_per_pixel"] = r.samples_per_pixel;
    j["bits_allocated"] = r.bits_allocated;
    j["copied"] = r.copied;
    j["bytes"] = r.bytes;
    j["removed_segments"] = r.removed_segments;
    j["exif_orientation"] = r.exif_orientation;
    j["icc_profile_bytes"] = r.icc_profile_bytes;
    j["outcome"] = outcome;
    if (!o.out.empty()) j["path"] = o.out;
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << (r.bits_allocated == 16 ? "OP 16 Bit" : "OP 8 Bit") << " " << r.columns << "x" << r.rows << ", "
            << r.photometric_interpretation << ", " << (r.copied ? "JPEG copied" : "lossless") << ", "
            << r.bytes << " bytes; study " << r.study_instance_uid << ", instance " << r.sop_instance_uid << "; "
            << outcome << (o.out.empty() ? "" : " " + o.out) << "\n";
}

int RunImport(const OpCliOptions& o) {
  if (o.format != "text" && o.format != "json") {
    return Fail({ErrorCode::kInvalidArgument, "--format must be text or json, not '" + o.format + "'"});
  }
  if (Status st = op::CheckOptions(o.op); !st.ok()) return Fail(st);
  if (!o.out.empty()) {
    auto r = op::WriteOphthalmicPhotograph(o.image, o.op, o.out);
    if (!r.ok()) return Fail(r.status());
    Print(o, *r, "written to");
    return 0;
  }
  auto hub = server::Hub::Open(o.data, {}, false, o.index, {o.storage, o.s3_endpoint, ""});
  if (!hub.ok()) return Fail(hub.status());
  auto r = op::ImportPhotograph(o.image, o.op, *hub.value()->ingest);
  if (!r.ok()) return Fail(r.status());
  Print(o, r->object, ingest::OutcomeName(r->outcome));
  return 0;
}

}  // namespace

void AddOpCommands(CLI::App& app, std::function<int()>& run) {
  auto o = std::make_shared<OpCliOptions>();
  auto* op = app.add_subcommand("op", "ophthalmic photographs (docs/ophthalmic.md)");
  op->require_subcommand(1);
  auto* import = op->add_subcommand(
      "import", "wrap a fundus photograph (JPEG copied, PNG 8/16-bit) as DICOM Ophthalmic Photography and store it");
  import->add_option("image", o->image, "the photograph (JPEG or PNG)")->required();
  import->add_option("--laterality", o->op.laterality, "ImageLaterality: R, L or B")->required();
  import->add_option("--patient-id", o->op.patient_id, "PatientID")->required();
  import->add_option("--patient-name", o->op.patient_name, "PatientName (DICOM PN, e.g. DOE^JANE)");
  import->add_option("--study-uid", o->op.study_instance_uid, "StudyInstanceUID (default: a new one)");
  import->add_option("--accession", o->op.accession_number, "AccessionNumber");
  import->add_option("--series-description", o->op.series_description, "SeriesDescription");
  import->add_option("--device", o->op.device, "acquisition device (CID 4202): " + op::DeviceNames())
      ->capture_default_str();
  import->add_option("--anatomy", o->op.anatomy, "structure imaged (CID 4209): " + op::AnatomyNames())
      ->capture_default_str();
  import->add_option("--data", o->data, "data directory")->capture_default_str();
  AddIndexOption(import, &o->index);
  AddStorageOptions(import, &o->storage, &o->s3_endpoint);
  import->add_option("--out", o->out, "write the DICOM file here instead of storing it");
  import->add_option("--format", o->format, "text | json")->capture_default_str();
  import->callback([o, &run] { run = [o] { return RunImport(*o); }; });
}

}  // namespace radflow::cli
