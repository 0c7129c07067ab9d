// Fuzzy person-name matching for QIDO-RS (PS3.18 8.3.4.1): case- and accent-insensitive
// prefix matching on name components.
#pragma once

#include <string>
#include <string_view>

namespace radflow::storage {

// Lower-case ASCII, Latin-1 and Latin Extended-A letters folded to their base letter.
std::string FoldForMatching(std::string_view utf8);
// True when every word of `query` (split on spaces, '^' and ',') is a prefix of some
// component of `name` (split on '^', '=', spaces and '-'), after folding. "*" in the
// query is ignored (OHIF sends "*doe*").
bool FuzzyPersonNameMatch(std::string_view name, std::string_view query);

}  // namespace radflow::storage
