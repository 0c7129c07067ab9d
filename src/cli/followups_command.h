// `radflow followups FILE… [--format json|text]`: the follow-up recommendations of plain-text
// reports, one file a report (issue 13), a thin shell over followups::ExtractRecommendations.
#pragma once

#include <string>
#include <vector>

namespace radflow::cli {

struct FollowupsCommandOptions {
  std::vector<std::string> files;
  std::string format = "json";  // json | text
};

// json, one file: {"recommendations": [...]} (extract.h RecommendationsJson).
// json, several files: {"<file as given>": {"recommendations": [...]}, ...} in argument order.
// text: per file "<file>: N recommendation(s)" then one line per recommendation
// ("  CT chest [90-180 d] conditional: <finding> — <sentence>").
// A missing or unreadable file: a message naming it on stderr, nothing on stdout, exit 1
// (no partial output: all files are read before anything is printed). Bad --format: exit 1.
int RunFollowups(const FollowupsCommandOptions& options);

}  // namespace radflow::cli
