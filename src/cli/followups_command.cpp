#include "cli/followups_command.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "followups/extract.h"

namespace radflow::cli {

namespace {

int Fail(const std::string& message) {
  std::cerr << "radflow followups: " << message << "\n";
  return 1;
}

std::string IntervalText(const followups::Recommendation& r) {
  if (!r.interval_max_days) return "";
  if (r.interval_min_days && *r.interval_min_days != *r.interval_max_days) {
    return " [" + std::to_string(*r.interval_min_days) + "-" + std::to_string(*r.interval_max_days) + " d]";
  }
  return " [" + std::to_string(*r.interval_max_days) + " d]";
}

// The key order (nlohmann::json sorts keys; ordered_json keeps insertion order).
nlohmann::ordered_json Ordered(const std::vector<followups::Recommendation>& recs) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& r : recs) {
    nlohmann::json j = followups::RecommendationJson(r);
    nlohmann::ordered_json o;
    for (const char* k : {"finding", "modality", "body_region", "interval_days", "conditional", "text"}) {
      o[k] = nlohmann::ordered_json::parse(j[k].dump());
    }
    list.push_back(std::move(o));
  }
  return {{"recommendations", std::move(list)}};
}

}  // namespace

int RunFollowups(const FollowupsCommandOptions& options) {
  if (options.format != "json" && options.format != "text") {
    return Fail("--format must be json or text, not '" + options.format + "'");
  }
  if (options.files.empty()) return Fail("no report file given");
  std::vector<std::vector<followups::Recommendation>> results;
  for (const auto& file : options.files) {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) return Fail(file + ": is a directory, not a report file");
    std::ifstream in(file, std::ios::binary);
    if (!in) return Fail(file + ": cannot be read (" + (std::filesystem::exists(file, ec) ? "permission?" : "no such file") + ")");
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return Fail(file + ": read error");
    results.push_back(followups::ExtractRecommendations(text.str()));
  }
  if (options.format == "json") {
    if (options.files.size() == 1) {
      std::cout << Ordered(results[0]).dump(2) << "\n";
    } else {
      // Keyed by the file name as given, in argument order (a name given twice: the last).
      nlohmann::ordered_json all = nlohmann::ordered_json::object();
      for (size_t i = 0; i < options.files.size(); ++i) {
        all[options.files[i]] = Ordered(results[i]);
      }
      std::cout << all.dump(2) << "\n";
    }
    return 0;
  }
  for (size_t i = 0; i < options.files.size(); ++i) {
    const auto& recs = results[i];
    std::cout << options.files[i] << ": " << recs.size() << " recommendation"
              << (recs.size() == 1 ? "" : "s") << "\n";
    for (const auto& r : recs) {
      std::cout << "  " << r.modality << " " << r.body_region << IntervalText(r)
                << (r.conditional ? " conditional" : "") << ": "
                << (r.finding.empty() ? "(finding not named)" : r.finding) << " — " << r.text << "\n";
    }
  }
  return 0;
}

}  // namespace radflow::cli
