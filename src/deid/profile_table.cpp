#include "deid/profile_table.h"

#include <algorithm>
#include <cstdlib>

#include "deid/deidentify.h"
#include "profile_tsv.h"

namespace radflow::deid {

namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

// "0008" -> 0x0008; "60XX" -> 0x6000 with mask 0xFF00; "XXXX" -> 0 with mask 0.
bool ParseHalf(std::string_view s, uint16_t& value, uint16_t& mask) {
  if (s.size() != 4) return false;
  value = 0;
  mask = 0;
  for (char c : s) {
    value = static_cast<uint16_t>(value << 4);
    mask = static_cast<uint16_t>(mask << 4);
    if (c == 'X' || c == 'x') continue;
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    value = static_cast<uint16_t>(value | d);
    mask = static_cast<uint16_t>(mask | 0xF);
  }
  return true;
}

// Whether the option column applies under these options. Retain Safe Private is always on
// (docs/deidentification.md); Retain UIDs, Retain Institution Identity and Retain
// Longitudinal Temporal Information with Full Dates are not offered.
bool Enabled(int column, const DeidOptions& o) {
  switch (static_cast<ProfileOption>(column)) {
    case ProfileOption::kRetainSafePrivate: return true;
    case ProfileOption::kRetainUids: return false;
    case ProfileOption::kRetainDevice: return o.retain_device;
    case ProfileOption::kRetainInstitution: return false;
    case ProfileOption::kRetainPatientChars: return o.retain_patient_chars;
    case ProfileOption::kRetainLongFullDates: return false;
    case ProfileOption::kRetainLongModifiedDates: return o.retain_dates;
    case ProfileOption::kCleanDescriptors: return o.clean_descriptors;
    case ProfileOption::kCleanStructured: return o.clean_structured;
    case ProfileOption::kCleanGraphics: return o.clean_graphics;
  }
  return false;
}

}  // namespace

ProfileTable ProfileTable::Parse(std::string_view tsv) {
  ProfileTable t;
  bool header = true;
  std::vector<ProfileRow> rules;
  for (std::string_view line : Split(tsv, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    if (header) {
      header = false;
      continue;
    }
    auto f = Split(line, '\t');
    if (f.size() < 3 + kProfileOptionCount) {
      ++t.errors_;
      continue;
    }
    ProfileRow r;
    std::string_view tag = f[0];
    r.keyword = std::string(f[1]);
    r.basic = std::string(f[2]);
    for (int i = 0; i < kProfileOptionCount; ++i) {
      std::string_view c = f[3 + i];
      r.option[i] = c.empty() ? 0 : c[0];
    }
    if (f.size() > 3 + kProfileOptionCount) r.name = std::string(f[3 + kProfileOptionCount]);
    if (tag == "(GGGG,EEEE)") {
      r.group_mask = 0;
      r.element_mask = 0;
      rules.push_back(std::move(r));
      continue;
    }
    if (tag.size() != 11 || tag[0] != '(' || tag[5] != ',' || tag[10] != ')' ||
        !ParseHalf(tag.substr(1, 4), r.group, r.group_mask) ||
        !ParseHalf(tag.substr(6, 4), r.element, r.element_mask)) {
      ++t.errors_;
      continue;
    }
    if (r.group_mask != 0xFFFF || r.element_mask != 0xFFFF) rules.push_back(std::move(r));
    else t.rows_.push_back(std::move(r));
  }
  std::sort(t.rows_.begin(), t.rows_.end(), [](const ProfileRow& a, const ProfileRow& b) {
    return a.group != b.group ? a.group < b.group : a.element < b.element;
  });
  t.exact_count_ = t.rows_.size();
  for (auto& r : rules) t.rows_.push_back(std::move(r));
  for (size_t i = t.exact_count_; i < t.rows_.size(); ++i) {
    if (t.rows_[i].group_mask == 0) t.private_rule_ = &t.rows_[i];
  }
  return t;
}

const ProfileTable& ProfileTable::Get() {
  static const ProfileTable table = Parse(kProfileTsv);
  return table;
}

const ProfileRow* ProfileTable::Find(uint16_t group, uint16_t element) const {
  auto end = rows_.begin() + static_cast<std::ptrdiff_t>(exact_count_);
  auto it = std::lower_bound(rows_.begin(), end, std::make_pair(group, element),
                             [](const ProfileRow& r, const std::pair<uint16_t, uint16_t>& k) {
                               return r.group != k.first ? r.group < k.first : r.element < k.second;
                             });
  if (it != end && it->group == group && it->element == element) return &*it;
  for (size_t i = exact_count_; i < rows_.size(); ++i) {
    const ProfileRow& r = rows_[i];
    if (r.group_mask == 0) continue;  // the private rule
    if ((group & r.group_mask) == r.group && (element & r.element_mask) == r.element &&
        (group & 1) == 0) {
      return &r;
    }
  }
  return nullptr;
}

int ResolvingOption(const ProfileRow& row, const DeidOptions& options) {
  int clean = -1;
  for (int i = 0; i < kProfileOptionCount; ++i) {
    if (!row.option[i] || !Enabled(i, options)) continue;
    if (row.option[i] == 'K') return i;
    if (clean < 0) clean = i;
  }
  return clean;
}

Action Resolve(const ProfileRow& row, const DeidOptions& options) {
  int opt = ResolvingOption(row, options);
  if (opt >= 0) {
    switch (row.option[opt]) {
      case 'K': return Action::kKeep;
      case 'C': return Action::kClean;
      case 'X': return Action::kRemove;
      default: break;
    }
  }
  const std::string& b = row.basic;
  if (b == "U") return Action::kUid;
  if (b == "K") return Action::kKeep;
  if (b == "C") return Action::kClean;
  if (b.find('D') != std::string::npos) return Action::kDummy;
  if (b.find("U*") != std::string::npos) return Action::kKeep;
  if (b.find('Z') != std::string::npos) return Action::kZero;
  return Action::kRemove;
}

}  // namespace radflow::deid
