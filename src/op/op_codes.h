// Coded values of an ophthalmic photograph (SNOMED CT, PS3.16): the acquisition device
// (CID 4202 Ophthalmic Photography Acquisition Device) and the structure imaged (CID 4209
// Ophthalmic Anatomic Structure Imaged), chosen on the command line by a short name.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace radflow::op {

struct CodedConcept {
  std::string_view name;  // the command-line name, e.g. "fundus-camera"
  std::string_view code_value;
  std::string_view coding_scheme;  // "SCT"
  std::string_view code_meaning;
};

std::optional<CodedConcept> FindDevice(std::string_view name);   // CID 4202
std::optional<CodedConcept> FindAnatomy(std::string_view name);  // CID 4209
// "fundus-camera, slit-lamp, …" for help and error messages.
std::string DeviceNames();
std::string AnatomyNames();

}  // namespace radflow::op
