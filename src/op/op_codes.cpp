#include "op/op_codes.h"

namespace radflow::op {

namespace {

// PS3.16 CID 4202 (SCT codes as the 2023 edition lists them).
constexpr CodedConcept kDevices[] = {
    {"fundus-camera", "409898007", "SCT", "Fundus Camera"},
    {"slo", "392001008", "SCT", "Scanning Laser Ophthalmoscope"},
    {"slit-lamp", "397247004", "SCT", "Slit Lamp Biomicroscope"},
    {"external-camera", "409903006", "SCT", "External Camera"},
    {"direct-ophthalmoscope", "409900009", "SCT", "Direct Ophthalmoscope"},
    {"indirect-ophthalmoscope", "409901008", "SCT", "Indirect Ophthalmoscope"},
    {"operating-microscope", "102321001", "SCT", "Operating Microscope"},
};

// PS3.16 CID 4209 (a subset: what a photograph of the eye shows).
constexpr CodedConcept kAnatomy[] = {
    {"retina", "5665001", "SCT", "Retina"},
    {"optic-nerve-head", "81016008", "SCT", "Optic nerve head"},
    {"fovea", "67046006", "SCT", "Fovea centralis"},
    {"eye", "81745001", "SCT", "Eye"},
    {"cornea", "28726007", "SCT", "Cornea"},
    {"iris", "41296002", "SCT", "Iris"},
    {"lens", "78076003", "SCT", "Lens"},
    {"conjunctiva", "29445007", "SCT", "Conjunctiva"},
    {"eyelid", "80243003", "SCT", "Eyelid"},
};

template <size_t N>
std::optional<CodedConcept> Find(const CodedConcept (&table)[N], std::string_view name) {
  for (const auto& c : table) {
    if (c.name == name || c.code_value == name) return c;
  }
  return std::nullopt;
}

template <size_t N>
std::string Names(const CodedConcept (&table)[N]) {
  std::string out;
  for (const auto& c : table) {
    if (!out.empty()) out += ", ";
    out += c.name;
  }
  return out;
}

}  // namespace

std::optional<CodedConcept> FindDevice(std::string_view name) { return Find(kDevices, name); }
std::optional<CodedConcept> FindAnatomy(std::string_view name) { return Find(kAnatomy, name); }
std::string DeviceNames() { return Names(kDevices); }
std::string AnatomyNames() { return Names(kAnatomy); }

}  // namespace radflow::op
