// PS3.15 Annex E Table E.1-1 (Application Level Confidentiality Profile Attributes), parsed
// from the compiled-in confidentiality_profile.tsv, and the action each row resolves to
// under a set of options (E.1.1, E.3). No DCMTK types here.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace radflow::deid {

struct DeidOptions;

// The option columns of Table E.1-1, in the TSV's order.
enum class ProfileOption {
  kRetainSafePrivate,
  kRetainUids,
  kRetainDevice,
  kRetainInstitution,
  kRetainPatientChars,
  kRetainLongFullDates,
  kRetainLongModifiedDates,
  kCleanDescriptors,
  kCleanStructured,
  kCleanGraphics,
};
inline constexpr int kProfileOptionCount = 10;

// PS3.15 E.1.1 action codes; compound codes resolved (see Resolve).
enum class Action {
  kDummy,   // D: a non-zero-length dummy value consistent with the VR
  kZero,    // Z: zero length
  kRemove,  // X
  kKeep,    // K
  kClean,   // C: keep a cleaned value (dates shifted, text scrubbed, sequences cleaned)
  kUid,     // U: replace by MapUid
};

struct ProfileRow {
  uint16_t group = 0;
  uint16_t element = 0;
  uint16_t group_mask = 0xFFFF;    // 0xFF00 for the 50xx / 60xx repeating-group rows
  uint16_t element_mask = 0xFFFF;  // 0x0000 for (50xx,xxxx)
  std::string keyword;
  std::string basic;  // as in the table: "X", "X/Z/D", "X/Z/U*", ...
  std::array<char, kProfileOptionCount> option{};  // 0 when the column is empty, else K/C/X
  std::string name;
};

class ProfileTable {
 public:
  // The compiled-in table, parsed once (thread-safe).
  static const ProfileTable& Get();
  // Parses a TSV in the confidentiality_profile.tsv format ('#' lines are comments, the first
  // other line is the header). Malformed rows are skipped and counted in errors().
  static ProfileTable Parse(std::string_view tsv);

  // The row for a public (even group) tag: the exact row, else a repeating-group rule
  // (50xx curves, 60xx overlays); nullptr when the table does not list the attribute.
  const ProfileRow* Find(uint16_t group, uint16_t element) const;
  // The "(GGGG,EEEE) where GGGG is odd" row (private attributes).
  const ProfileRow* private_rule() const { return private_rule_; }
  const std::vector<ProfileRow>& rows() const { return rows_; }
  int errors() const { return errors_; }

 private:
  std::vector<ProfileRow> rows_;  // sorted by (group, element); rules at the end
  size_t exact_count_ = 0;
  const ProfileRow* private_rule_ = nullptr;
  int errors_ = 0;
};

// The action for a row under the options (PS3.15 E.3: an option's K or C replaces the
// basic action; K wins over C when two options apply). Compound basic codes, which the
// standard resolves per IOD, are resolved to the form valid in every IOD: any code with D
// -> kDummy; "X/Z/U*" -> kKeep (the sequence stays, the UIDs inside are replaced by their
// own rows); "X/Z" -> kZero.
Action Resolve(const ProfileRow& row, const DeidOptions& options);
// Which option produced a kClean / kKeep (for choosing how to clean); -1 for the basic code.
int ResolvingOption(const ProfileRow& row, const DeidOptions& options);

}  // namespace radflow::deid
