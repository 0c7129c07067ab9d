// Values given on a command line that go into a DICOM header as they are, checked against
// their value representation (PS3.5 6.2, 9.1) before any file is written. Shared: any CLI
// that writes header values from options can use it (radflow_op exports it).
#pragma once

#include <string_view>

#include "base/status.h"

namespace radflow::op {

// `vr` is one of "UI", "SH" (16 characters), "LO" (64), "PN" (3 groups of 64, 5 components
// each). An empty value passes (Type 2: present and empty). Text must be UTF-8 (the objects
// say ISO_IR 192) without backslash (the value delimiter) or control characters (ESC is
// allowed, as PS3.5 6.2 allows it). Errors are kInvalidArgument and name `option`.
Status CheckVrValue(std::string_view option, std::string_view vr, std::string_view value);

}  // namespace radflow::op
