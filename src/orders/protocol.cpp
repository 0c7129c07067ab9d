// Protocol selection: rule file parsing and first-match proposal (docs/protocols.md).
#include "orders/protocol.h"

#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/log.h"

namespace radflow::orders {
namespace {

// config/protocols.json as compiled in (src/orders/CMakeLists.txt generates the include).
constexpr std::string_view kDefaultRulesJson =
#include "protocol_rules_default.inc"
    ;

// Latin-1 supplement letters (U+00C0..U+00FF) folded to ASCII; '\0': not a letter.
char FoldLatin1(unsigned char c) {
  static constexpr char kFold[64 + 1] =
      "aaaaaaaceeeeiiii"   // C0..CF
      "dnooooo\0ouuuuyts"  // D0..DF (D7 multiplication sign, DF sharp s)
      "aaaaaaaceeeeiiii"   // E0..EF
      "dnooooo\0ouuuuyty"; // F0..FF (F7 division sign)
  return c >= 0xC0 ? kFold[c - 0xC0] : '\0';
}

struct Word {
  std::string text;
  bool prefix = false;  // written with a trailing '*'
};
using Phrase = std::vector<Word>;
// One list entry: alternatives, each a phrase.
using Entry = std::vector<Phrase>;

std::vector<std::string> SplitWords(const std::string& normalized) {
  std::vector<std::string> words;
  std::istringstream in(normalized);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// "ct|cta head" -> [[ct], [cta, head]]; a word's trailing '*' survives normalisation because
// it is split off first. Returns an empty entry when some alternative has no word.
Entry CompileEntry(const std::string& text) {
  Entry entry;
  size_t start = 0;
  while (start <= text.size()) {
    size_t bar = text.find('|', start);
    std::string alt = text.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
    Phrase phrase;
    std::istringstream in(alt);
    for (std::string raw; in >> raw;) {
      bool prefix = !raw.empty() && raw.back() == '*';
      if (prefix) raw.pop_back();
      std::vector<std::string> parts = SplitWords(NormalizeProtocolText(raw));
      for (size_t i = 0; i < parts.size(); ++i)
        phrase.push_back({parts[i], prefix && i + 1 == parts.size()});
    }
    if (phrase.empty()) return {};
    entry.push_back(std::move(phrase));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return entry;
}

bool WordMatches(const Word& w, const std::string& token) {
  return w.prefix ? token.compare(0, w.text.size(), w.text) == 0 : token == w.text;
}

bool PhraseAt(const Phrase& p, const std::vector<std::string>& tokens, size_t at) {
  if (at + p.size() > tokens.size()) return false;
  for (size_t i = 0; i < p.size(); ++i)
    if (!WordMatches(p[i], tokens[at + i])) return false;
  return true;
}

// The alternative of `entry` that occurs in `tokens` (its text as written), or "".
std::string FindEntry(const std::string& text, const std::vector<std::string>& tokens) {
  Entry entry = CompileEntry(text);
  for (const Phrase& p : entry) {
    for (size_t at = 0; at < tokens.size(); ++at) {
      if (!PhraseAt(p, tokens, at)) continue;
      std::string shown;
      for (size_t i = 0; i < p.size(); ++i) shown += (i ? " " : "") + tokens[at + i];
      return shown;
    }
  }
  return "";
}

bool ModalityMatches(const std::string& rule_modality, const std::string& order_modality) {
  if (rule_modality.empty() || order_modality.empty()) return true;
  std::string want = NormalizeProtocolText(order_modality);
  for (const std::string& m : SplitWords(NormalizeProtocolText(rule_modality)))
    if (m == want) return true;
  return false;
}

std::string Quoted(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "'" : " + '") + w + "'";
  return out;
}

Status FieldError(size_t index, const std::string& id, const std::string& field,
                  const std::string& what) {
  std::string where = "rule " + std::to_string(index);
  if (!id.empty()) where += " (" + id + ")";
  return Status(ErrorCode::kInvalidArgument, "protocol rules: " + where + ": field '" + field + "' " + what);
}

Status ReadString(const nlohmann::json& j, size_t index, const std::string& id, const char* field,
                  std::string& out) {
  if (!j.contains(field)) return Status::Ok();
  if (!j[field].is_string()) return FieldError(index, id, field, "must be a string");
  out = j[field].get<std::string>();
  return Status::Ok();
}

Status ReadList(const nlohmann::json& j, size_t index, const std::string& id, const char* field,
                std::vector<std::string>& out) {
  if (!j.contains(field)) return Status::Ok();
  if (!j[field].is_array()) return FieldError(index, id, field, "must be an array of strings");
  for (size_t k = 0; k < j[field].size(); ++k) {
    const nlohmann::json& v = j[field][k];
    if (!v.is_string()) return FieldError(index, id, field, "item " + std::to_string(k) + " is not a string");
    std::string s = v.get<std::string>();
    if (CompileEntry(s).empty())
      return FieldError(index, id, field, "item " + std::to_string(k) + " ('" + s + "') has an empty alternative");
    out.push_back(std::move(s));
  }
  return Status::Ok();
}

}  // namespace

std::string NormalizeProtocolText(std::string_view text) {
  std::string out;
  bool space = true;  // the last char written is a break (or nothing written yet)
  auto put = [&](char c) {
    if (c == ' ') {
      if (!space) out += ' ';
      space = true;
    } else {
      out += c;
      space = false;
    }
  };
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c >= 'A' && c <= 'Z') put(static_cast<char>(c - 'A' + 'a'));
      else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) put(static_cast<char>(c));
      else put(' ');
      continue;
    }
    // UTF-8: C3 xx encodes U+00C0..U+00FF; everything else non-ASCII is a word break.
    if (c == 0xC3 && i + 1 < text.size()) {
      unsigned char d = static_cast<unsigned char>(text[i + 1]);
      if ((d & 0xC0) == 0x80) {
        char f = FoldLatin1(static_cast<unsigned char>(0xC0 + (d & 0x3F)));
        if (f) {
          put(f);
          if (d == 0x9F) put('s');  // sharp s -> "ss"
        } else {
          put(' ');
        }
        ++i;
        continue;
      }
    }
    put(' ');
    while (i + 1 < text.size() && (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80) ++i;
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

Result<ProtocolRules> ParseProtocolRules(const std::string& json) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status(ErrorCode::kInvalidArgument, "protocol rules: not valid JSON");
  if (!doc.is_object()) return Status(ErrorCode::kInvalidArgument, "protocol rules: the top level must be an object");
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (it.key() != "version" && it.key() != "rules" && it.key() != "note")
      return Status(ErrorCode::kInvalidArgument, "protocol rules: unknown top-level field '" + it.key() + "'");
  }
  ProtocolRules rules;
  if (doc.contains("version")) {
    if (!doc["version"].is_number_integer() || doc["version"].get<int64_t>() != 1)
      return Status(ErrorCode::kInvalidArgument, "protocol rules: field 'version' must be 1");
  }
  if (!doc.contains("rules") || !doc["rules"].is_array())
    return Status(ErrorCode::kInvalidArgument, "protocol rules: field 'rules' must be an array");
  static const std::set<std::string> kFields = {
      "id", "protocol_code", "protocol_name", "modality", "procedure_any", "procedure_all",
      "procedure_none", "reason_any", "reason_none", "body_part", "duration_minutes", "contrast", "note"};
  std::set<std::string> ids;
  const nlohmann::json& list = doc["rules"];
  for (size_t i = 0; i < list.size(); ++i) {
    const nlohmann::json& j = list[i];
    if (!j.is_object()) return FieldError(i, "", "rules", "item is not an object");
    ProtocolRule r;
    RADFLOW_RETURN_IF_ERROR(ReadString(j, i, "", "id", r.id));
    if (r.id.empty()) return FieldError(i, "", "id", "is required");
    for (auto it = j.begin(); it != j.end(); ++it)
      if (!kFields.count(it.key())) return FieldError(i, r.id, it.key(), "is not a rule field");
    if (!ids.insert(r.id).second) return FieldError(i, r.id, "id", "is used by an earlier rule");
    RADFLOW_RETURN_IF_ERROR(ReadString(j, i, r.id, "protocol_code", r.protocol_code));
    RADFLOW_RETURN_IF_ERROR(ReadString(j, i, r.id, "protocol_name", r.protocol_name));
    if (r.protocol_code.empty()) return FieldError(i, r.id, "protocol_code", "is required");
    if (r.protocol_name.empty()) return FieldError(i, r.id, "protocol_name", "is required");
    RADFLOW_RETURN_IF_ERROR(ReadString(j, i, r.id, "modality", r.modality));
    RADFLOW_RETURN_IF_ERROR(ReadString(j, i, r.id, "body_part", r.body_part));
    RADFLOW_RETURN_IF_ERROR(ReadString(j, i, r.id, "contrast", r.contrast));
    RADFLOW_RETURN_IF_ERROR(ReadString(j, i, r.id, "note", r.note));
    if (!r.contrast.empty() && r.contrast != "none" && r.contrast != "iv" && r.contrast != "oral" &&
        r.contrast != "iv+oral")
      return FieldError(i, r.id, "contrast", "must be none, iv, oral or iv+oral (got '" + r.contrast + "')");
    RADFLOW_RETURN_IF_ERROR(ReadList(j, i, r.id, "procedure_any", r.procedure_any));
    RADFLOW_RETURN_IF_ERROR(ReadList(j, i, r.id, "procedure_all", r.procedure_all));
    RADFLOW_RETURN_IF_ERROR(ReadList(j, i, r.id, "procedure_none", r.procedure_none));
    RADFLOW_RETURN_IF_ERROR(ReadList(j, i, r.id, "reason_any", r.reason_any));
    RADFLOW_RETURN_IF_ERROR(ReadList(j, i, r.id, "reason_none", r.reason_none));
    if (r.procedure_any.empty() && r.procedure_all.empty())
      return FieldError(i, r.id, "procedure_any", "or 'procedure_all' must name at least one phrase");
    if (j.contains("duration_minutes")) {
      const nlohmann::json& d = j["duration_minutes"];
      if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > 24 * 60)
        return FieldError(i, r.id, "duration_minutes", "must be an integer 0..1440");
      r.duration_minutes = d.get<int>();
    }
    rules.rules.push_back(std::move(r));
  }
  return rules;
}

Result<ProtocolRules> LoadProtocolRules(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kNotFound, "protocol rules: cannot open '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status(ErrorCode::kIoError, "protocol rules: cannot read '" + path + "'");
  Result<ProtocolRules> rules = ParseProtocolRules(text.str());
  if (!rules.ok()) return Status(rules.status().code(), rules.status().message() + " (in " + path + ")");
  return rules;
}

std::string_view DefaultProtocolRulesJson() { return kDefaultRulesJson; }

const ProtocolRules& DefaultProtocolRules() {
  // The unit tests parse the same text and fail on an error; a broken build-time file
  // would leave no rules (every order: no proposal) rather than stop the hub.
  static const ProtocolRules rules = [] {
    Result<ProtocolRules> r = ParseProtocolRules(std::string(kDefaultRulesJson));
    if (r.ok()) return std::move(r).value();
    log::Error("built-in protocol rules: " + r.status().message() + "; no protocol will be proposed");
    return ProtocolRules{};
  }();
  return rules;
}

std::vector<ProtocolRule> ProtocolChoices(const ProtocolRules& rules) {
  std::vector<ProtocolRule> out;
  std::set<std::string> seen;
  for (const ProtocolRule& r : rules.rules)
    if (seen.insert(r.protocol_code).second) out.push_back(r);
  return out;
}

ProtocolProposal ProposeProtocol(const ProtocolRules& rules, const storage::OrderRow& order) {
  const std::vector<std::string> procedure =
      SplitWords(NormalizeProtocolText(order.procedure_text + " " + order.procedure_code));
  const std::vector<std::string> reason = SplitWords(NormalizeProtocolText(order.reason));
  ProtocolProposal out;
  for (const ProtocolRule& r : rules.rules) {
    if (!ModalityMatches(r.modality, order.modality)) continue;
    std::vector<std::string> why_procedure;
    bool ok = true;
    for (const std::string& e : r.procedure_all) {
      std::string hit = FindEntry(e, procedure);
      if (hit.empty()) {
        ok = false;
        break;
      }
      why_procedure.push_back(hit);
    }
    if (!ok) continue;
    if (!r.procedure_any.empty()) {
      std::string hit;
      for (const std::string& e : r.procedure_any)
        if (!(hit = FindEntry(e, procedure)).empty()) break;
      if (hit.empty()) continue;
      why_procedure.push_back(hit);
    }
    bool excluded = false;
    for (const std::string& e : r.procedure_none) excluded = excluded || !FindEntry(e, procedure).empty();
    if (excluded) continue;
    std::string why_reason;
    if (!r.reason_any.empty()) {
      for (const std::string& e : r.reason_any)
        if (!(why_reason = FindEntry(e, reason)).empty()) break;
      if (why_reason.empty()) continue;
    }
    for (const std::string& e : r.reason_none) excluded = excluded || !FindEntry(e, reason).empty();
    if (excluded) continue;

    out.found = true;
    out.rule_id = r.id;
    out.protocol_code = r.protocol_code;
    out.protocol_name = r.protocol_name;
    out.body_part = r.body_part;
    out.contrast = r.contrast;
    out.duration_minutes = r.duration_minutes;
    out.reason = "procedure " + Quoted(why_procedure);
    out.reason += why_reason.empty() ? ", any reason" : " and reason '" + why_reason + "'";
    out.reason += " (rule " + r.id + ")";
    return out;
  }
  out.reason = order.procedure_text.empty() && order.procedure_code.empty()
                   ? "no requested procedure: no rule can match"
                   : "no rule matched procedure '" + order.procedure_text + "'";
  return out;
}

}  // namespace radflow::orders
