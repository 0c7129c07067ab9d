// Internal to radflow_report: the measurements of an AI finding as pre-fill and QA read them.
#pragma once

#include <optional>
#include <string>

#include "report/lung_rads.h"
#include "report/model.h"

namespace radflow::report::detail {

// A measurement by code value, else by a word of its (lower-case) name.
std::optional<double> Meas(const AiFinding& f, const std::string& code, const std::string& name_word);

struct NoduleFacts {
  NoduleType type = NoduleType::kSolid;
  bool mass = false;
  double long_axis = 0, short_axis = 0, mean = 0, volume = 0;  // mm, mm, mm, mL
  std::optional<double> solid_component;
};
NoduleFacts Nodule(const AiFinding& f);

// Lung-RADS v2022 of a nodule from its mean diameter (`n.mean`) and the finding's prior
// change; *known false when the category cannot be told (part-solid without its solid part).
LungRadsResult NoduleCategory(const AiFinding& f, const NoduleFacts& n, bool* known);

}  // namespace radflow::report::detail
