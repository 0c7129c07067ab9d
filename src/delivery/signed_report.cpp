#include "delivery/signed_report.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>

namespace radflow::delivery {

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// CID 7001 "Diagnostic Imaging Report Heading" (LOINC form, PS3.16 2024+), and where a
// heading goes in the report: 0 before the findings, 1 findings-like, 3 after the impression.
struct Heading {
  const char* code;
  const char* meaning;
  int rank;
};
constexpr Heading kHistory{"11329-0", "History", 0};
constexpr Heading kRequest{"55115-0", "Request", 0};
constexpr Heading kIndications{"18785-6", "Indications for Procedure", 0};
constexpr Heading kPresentation{"55108-5", "Patient Presentation", 0};
constexpr Heading kCurrentProcedure{"55111-9", "Current Procedure Descriptions", 0};
constexpr Heading kPriorProcedure{"55114-3", "Prior Procedure Descriptions", 0};
constexpr Heading kPreviousFindings{"18834-2", "Previous Findings", 0};
constexpr Heading kFindings{"59776-5", "Findings", 1};
constexpr Heading kImpressions{"19005-8", "Impressions", 3};
constexpr Heading kRecommendations{"18783-1", "Recommendations", 3};
constexpr Heading kConclusions{"55110-1", "Conclusions", 3};
constexpr Heading kAddendum{"55107-7", "Addendum", 3};
constexpr Heading kSummary{"55112-7", "Summary", 3};
constexpr Heading kComplications{"55109-3", "Complications", 3};

// The heading a template section's title names (substring match); Findings otherwise.
Heading HeadingFor(const std::string& title) {
  const std::string t = Lower(title);
  auto has = [&](const char* word) { return t.find(word) != std::string::npos; };
  if (has("impression")) return kImpressions;
  if (has("recommend") || has("follow-up") || has("follow up")) return kRecommendations;
  if (has("conclusion")) return kConclusions;
  if (has("addend")) return kAddendum;
  if (has("summary")) return kSummary;
  if (has("complication")) return kComplications;
  if (has("previous finding")) return kPreviousFindings;
  if (has("comparison") || has("prior")) return kPriorProcedure;
  if (has("indication") || has("reason") || has("clinical question")) return kIndications;
  if (has("history") || has("clinical")) return kHistory;
  if (has("request")) return kRequest;
  if (has("presentation")) return kPresentation;
  if (has("technique") || has("procedure") || has("protocol") || has("examination") || has("exam")) {
    return kCurrentProcedure;
  }
  return kFindings;
}

}  // namespace

int64_t SignedAtMs(const SignedReport& report) {
  if (report.signed_at > 0) return report.signed_at;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<DeliveredMeasurement> AcceptedMeasurements(const SignedReport& report) {
  std::vector<DeliveredMeasurement> out;
  for (const report::Proposal& p : report.accepted) {
    const report::AiFinding& f = p.finding;
    auto has = [&](const std::string& code) {
      for (const auto& m : f.measurements) {
        if (m.code == code) return true;
      }
      return false;
    };
    for (const auto& m : f.measurements) out.push_back({m, &p});
    if (f.size_mm > 0 && !has("103339001")) {
      out.push_back({report::Measurement{"Long Axis", "103339001", "SCT", f.size_mm, "mm"}, &p});
    }
    if (f.volume_ml > 0 && !has("118565006")) {
      out.push_back({report::Measurement{"Volume", "118565006", "SCT", f.volume_ml, "ml"}, &p});
    }
  }
  return out;
}

std::vector<ReportSection> ReportSections(const SignedReport& report) {
  struct Ranked {
    double rank;
    size_t order;
    ReportSection section;
  };
  std::vector<Ranked> all;
  const std::string findings = Trim(report.findings_text);
  const std::string impression = Trim(report.impression_text);
  for (size_t i = 0; i < report.sections.size(); ++i) {
    const auto& [title, raw] = report.sections[i];
    const std::string text = Trim(raw);
    if (text.empty() || text == findings || text == impression) continue;
    const Heading h = HeadingFor(title);
    all.push_back(
        {static_cast<double>(h.rank), i, {h.code, h.meaning, title.empty() ? h.meaning : title, text, false}});
  }
  const bool has_measurements = !AcceptedMeasurements(report).empty();
  if (!findings.empty() || has_measurements) {
    all.push_back({2.0, 0, {kFindings.code, kFindings.meaning, "Findings", findings, true}});
  }
  std::string imp = impression;
  if (!Trim(report.critical_communicated).empty()) {
    if (!imp.empty()) imp += "\n";
    imp += "Critical result communication: " + Trim(report.critical_communicated);
  }
  if (!imp.empty()) all.push_back({2.5, 0, {kImpressions.code, kImpressions.meaning, "Impression", imp, false}});
  std::stable_sort(all.begin(), all.end(), [](const Ranked& a, const Ranked& b) {
    return a.rank != b.rank ? a.rank < b.rank : a.order < b.order;
  });
  std::vector<ReportSection> out;
  for (auto& r : all) out.push_back(std::move(r.section));
  return out;
}

std::string ReportText(const SignedReport& report) {
  std::string out;
  std::string title = report.template_title.empty() ? "Diagnostic imaging report" : report.template_title;
  if (report.corrected) title += " (addendum)";
  if (report.status == "preliminary") title += " (preliminary)";
  out += title + "\n";
  std::string exam = report.study_description;
  if (report.study_date.size() == 8) {
    const std::string d =
        report.study_date.substr(0, 4) + "-" + report.study_date.substr(4, 2) + "-" + report.study_date.substr(6, 2);
    exam += exam.empty() ? d : " of " + d;
  }
  if (!exam.empty()) out += "Examination: " + exam + "\n";
  if (!report.accession_number.empty()) out += "Accession: " + report.accession_number + "\n";
  for (const ReportSection& s : ReportSections(report)) {
    if (s.text.empty()) continue;
    std::string heading = s.title;
    for (char& c : heading) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out += "\n" + heading + ":\n" + s.text + "\n";
  }
  const std::time_t t = static_cast<std::time_t>(SignedAtMs(report) / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
  const std::string signer = PersonDisplay(report.signed_by);
  out += '\n';
  out += report.status == "final" ? "Signed by " : "Preliminary, signed by ";
  out += signer.empty() ? std::string("unknown") : signer;
  out += " on ";
  out += when;
  out += '\n';
  return out;
}

std::string PersonDisplay(const std::string& pn) {
  if (pn.find('^') == std::string::npos) return Trim(pn);
  std::vector<std::string> c;
  size_t start = 0;
  while (true) {
    size_t p = pn.find('^', start);
    c.push_back(pn.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  c.resize(5);
  std::string out;
  for (const std::string& part : {c[3], c[1], c[2], c[0], c[4]}) {
    const std::string t = Trim(part);
    if (t.empty()) continue;
    if (!out.empty()) out += ' ';
    out += t;
  }
  return out;
}

std::string UcumMeaning(const std::string& unit) {
  static const std::map<std::string, std::string> kNames = {
      {"mm", "millimeter"},
      {"cm", "centimeter"},
      {"ml", "milliliter"},
      {"mL", "milliliter"},
      {"cm3", "cubic centimeter"},
      {"mm3", "cubic millimeter"},
      {"mm2", "square millimeter"},
      {"cm2", "square centimeter"},
      {"[hnsf'U]", "Hounsfield unit"},
      {"%", "percent"},
      {"d", "day"},
      {"deg", "degree"},
      {"1", "no units"},
      {"g", "gram"},
      {"s", "second"},
      {"mo", "month"},
      {"a", "year"},
      {"{ratio}", "ratio"},
  };
  auto it = kNames.find(unit);
  return it == kNames.end() ? unit : it->second;
}

}  // namespace radflow::delivery
