// Follow-up imaging recommendations extracted from a radiology report's plain text (issue 13).
// Rules, not a model: docs/followups.md lists every rule with an example and the measured
// precision / recall / F1 on the labelled IU chest-radiograph set
// (docs/followups-labelling.md is the labelling guideline the rules follow).
//
// The rules, in the order they run:
//  1. Sections. A line starting "INDICATION:", "HISTORY:", "CLINICAL HISTORY:", "REASON…:",
//     "COMPARISON:", "TECHNIQUE:" or "EXAM(INATION):" starts a skipped section (an indication
//     "follow-up pneumonia" or a comparison "CT chest 2019" is never a recommendation);
//     FINDINGS / IMPRESSION / anything else is read. A line without a header continues the
//     section above it.
//  2. Sentences. Split at '.', '!' or '?' followed by white space or the end of the line;
//     a '.' inside a number ("0.8 cm") or after an abbreviation ("Dr.", "vs.", "approx.")
//     does not split. A leading list marker ("2. ", "3.") is not part of the sentence.
//     Offsets are UTF-8 byte offsets into the report text.
//  3. A sentence is dropped when negated or historical: "no follow-up needed", "is not
//     necessary", "was recommended", "previously suggested", "already ordered".
//  4. A sentence must carry a cue: recommend…, suggest / is suggested (not "suggests",
//     "suggestive", "to suggest"), advise, consider(ed) (not "considering technical factors",
//     "considerations"), a modal with an action ("may be helpful / useful / warranted /
//     indicated / needed / performed", "would confirm", "could be evaluated further",
//     "may be of further XXXX"), a purpose ("for further evaluation / characterization",
//     "to further evaluate / assess / confirm / rule out"), or a follow-up word (follow-up,
//     followup, follow up, followed up, "following this process", repeat, short-interval).
//  5. Examinations named in the sentence (the modality lexicon, ModalityOfWord in
//     extract.cpp): CT / computed tomography / CTA / HRCT / high-resolution … → CT;
//     MRI / MR / MRA / magnetic resonance → MR; ultrasound / sonography / Doppler /
//     echocardiography → US; radiograph(y/ic/ically) / x-ray / film(s) / CXR / view(s) /
//     rib series / decubitus / fluoroscopy / esophagram → XR; mammogra… → MG;
//     PET / PET-CT → PT; bone scan / nuclear medicine / scintigraphy / V/Q → NM;
//     "repeat / follow-up / interval study / exam / examination / imaging" → XR.
//     A mention is not an examination to do when it is the object of a comparison or a
//     history: "prior", "previous", "old", "outside", "recent", "comparison with",
//     "correlation with", "reference to", "seen on" within the clause before it; "this /
//     current exam"; followed by "showed", "demonstrated", "dated", "from", "was", "were";
//     or a guided procedure ("CT-guided biopsy").
//  6. The corpus masks words as XXXX. Where no examination is named, an XXXX in an exam's
//     place is read as CT, as the labellers read it: "XXXX scan", "XXXX (of the) chest",
//     "recommend / consider / with / further imaging / further study / noncontrast XXXX",
//     "XXXX would / may / should / is … ", "high-resolution XXXX".
//  7. A follow-up cue or a generic "additional imaging" without any examination named or
//     masked is a repeat radiograph: XR (the reports are radiograph reports).
//  8. Body regions: the region words in the examination's phrase ("CT of the chest,
//     abdomen and pelvis" → three recommendations; "chest CT"; "abdominal decubitus views";
//     "views of the right ribs" → chest). Without one: MR / US / NM / PT take the region of
//     the finding in the two sentences before (spine words → spine, thyroid → neck, …),
//     PT and bone scans whole body; everything else is chest.
//  9. Conditional: "if" (not "to determine / see / assess if"), "unless", "should … persist",
//     "as / when clinically indicated / warranted", "XXXX clinically feasible", "as needed",
//     "depending on", "when the patient is able", "in case". "In the absence of prior
//     studies" is a reason, not a condition (docs/followups-labelling.md).
// 10. Interval (ParseInterval): "in 6 months" → 180, "3-6 months", "3 to 6 months",
//     "4 or 6 weeks" → [min, max], number words one … twelve, "a week"; day 1, week 7,
//     month 30, year 365; "a range of numbers then XXXX" ("4 to 6 XXXX post treatment") is
//     read as weeks. "short-term follow-up" alone has none.
// 11. One recommendation per (modality, body region) in a report: the IMPRESSION's sentence
//     wins over the FINDINGS', otherwise the first; an interval missing from it is taken
//     from a duplicate that has one.
// 12. Finding: a short noun phrase — the leading noun phrase of the sentence when it names
//     a finding, otherwise of the sentence before it ("" when none).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace radflow::followups {

struct Recommendation {
  std::string finding;       // "right lower lobe opacity", "" when the report does not say
  std::string modality;      // CT | MR | US | XR | MG | PT | NM
  std::string body_region;   // chest | abdomen | pelvis | head | neck | spine | breast |
                             // extremity | whole body
  std::optional<int> interval_min_days, interval_max_days;  // both or neither; equal: one value
  bool conditional = false;
  std::string text;          // the sentence, verbatim
  int offset = -1;           // UTF-8 byte offset of `text` in the report text
};

// The recommendations of one report, in the order of their sentences. Pure function.
std::vector<Recommendation> ExtractRecommendations(const std::string& report_text);

// {"finding","modality","body_region","interval_days": N | [min,max] | null,"conditional","text"}
nlohmann::json RecommendationJson(const Recommendation& r);
// {"recommendations": [RecommendationJson…]} — the CLI's shape per file (issue 13).
nlohmann::json RecommendationsJson(const std::vector<Recommendation>& recs);

// ---- the steps, exposed for tests ------------------------------------------------------

struct Sentence {
  std::string text;     // trimmed, list marker removed
  int offset = 0;       // byte offset in the report text
  std::string section;  // upper-case header ("FINDINGS", "IMPRESSION", "" before any)
  bool item_start = false;  // began with a list marker ("2. ")
};
// Rules 1 and 2: the sentences of the read sections.
std::vector<Sentence> SplitSentences(const std::string& report_text);

struct Interval {
  int min_days = 0, max_days = 0;
};
// Rule 10 on one sentence; nullopt when it gives no interval.
std::optional<Interval> ParseInterval(std::string_view sentence);

// Rule 9 on one sentence.
bool IsConditional(std::string_view sentence);

}  // namespace radflow::followups
