#include "op/op_import.h"

#include <filesystem>

#include "op/op_codes.h"
#include "op/vr_values.h"

namespace radflow::op {

Status CheckOptions(const OpOptions& o) {
  if (o.laterality != "R" && o.laterality != "L" && o.laterality != "B") {
    return Status(ErrorCode::kInvalidArgument,
                  "--laterality must be R, L or B (ImageLaterality, PS3.3 C.8.17.5), not '" + o.laterality + "'");
  }
  if (o.patient_id.empty()) return Status(ErrorCode::kInvalidArgument, "--patient-id is required");
  // Each value goes into the header as it is: it must fit its VR (PS3.5 6.2).
  RADFLOW_RETURN_IF_ERROR(CheckVrValue("--patient-id", "LO", o.patient_id));
  RADFLOW_RETURN_IF_ERROR(CheckVrValue("--patient-name", "PN", o.patient_name));
  RADFLOW_RETURN_IF_ERROR(CheckVrValue("--study-uid", "UI", o.study_instance_uid));
  RADFLOW_RETURN_IF_ERROR(CheckVrValue("--accession", "SH", o.accession_number));
  RADFLOW_RETURN_IF_ERROR(CheckVrValue("--series-description", "LO", o.series_description));
  if (!FindDevice(o.device)) {
    return Status(ErrorCode::kInvalidArgument, "unknown --device '" + o.device + "' (CID 4202): " + DeviceNames());
  }
  if (!FindAnatomy(o.anatomy)) {
    return Status(ErrorCode::kInvalidArgument, "unknown --anatomy '" + o.anatomy + "' (CID 4209): " + AnatomyNames());
  }
  return Status::Ok();
}

Result<OpImportResult> ImportPhotograph(const std::string& image_path, const OpOptions& options,
                                        ingest::IngestService& ingest) {
  const std::string temp = ingest.NewTempPath();
  auto written = WriteOphthalmicPhotograph(image_path, options, temp);
  if (!written.ok()) {
    std::error_code ec;
    std::filesystem::remove(temp, ec);
    return written.status();
  }
  auto stored = ingest.Store(temp, {ingest::Origin::Kind::kImport, image_path, "", ""});
  if (!stored.ok()) return stored.status();
  OpImportResult r;
  r.object = std::move(written.value());
  r.object.path.clear();  // the temp file is the store's now
  r.outcome = stored->outcome;
  return r;
}

}  // namespace radflow::op
