// QIDO-RS (PS3.18 10.6): search for studies, series and instances. Matching is the same
// code as C-FIND's (query::ParseMatchingKey → storage::Index::Find).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <unordered_map>

#include "api/dicom_json.h"
#include "api/dicomweb.h"
#include "api/request_util.h"
#include "query/matching.h"

namespace radflow::api {

namespace t = dicom::tags;
using storage::ResourceLevel;

namespace {

// PS3.18 Table 10.6.3-3/4/5: the attributes returned by default at each level (of those
// radflow indexes), besides the matching keys and includefield ones.
std::set<dicom::Tag> DefaultFields(ResourceLevel level) {
  std::set<dicom::Tag> f;
  for (const auto& a : storage::IndexedAttributes()) {
    if (a.level == level) f.insert(a.tag);
  }
  if (level == ResourceLevel::kStudy) {
    for (auto tag : {t::kPatientName, t::kPatientID, t::kPatientBirthDate, t::kPatientSex}) f.insert(tag);
  }
  if (level >= ResourceLevel::kSeries) f.insert(t::kStudyInstanceUID);
  if (level == ResourceLevel::kInstance) f.insert(t::kSeriesInstanceUID);
  return f;
}

// A query key or includefield name → its tag. The indexed attributes' keywords come from a
// table made once: dicom::ParseTag finds a keyword by walking DCMTK's whole dictionary with
// strcmp (a third of a PatientID search's CPU). Other names still go through ParseTag.
std::optional<dicom::Tag> KeyTag(const std::string& name) {
  static const std::unordered_map<std::string, dicom::Tag> kKeywords = [] {
    std::unordered_map<std::string, dicom::Tag> m;
    for (const auto& a : storage::IndexedAttributes()) {
      std::string keyword = dicom::KeywordOf(a.tag);
      if (!keyword.empty()) m.emplace(std::move(keyword), a.tag);
    }
    return m;
  }();
  auto it = kKeywords.find(name);
  if (it != kKeywords.end()) return it->second;
  return dicom::ParseTag(name);
}

// The answer written straight into one string: the same JSON as RowJson's documents dumped
// (keys in order, "Value" before "vr"), without a document per attribute — building and
// dumping those was half of a 101-study page's CPU. Text with a byte >= 0x80 and decimals
// still go through nlohmann, for its UTF-8 repair and number format.
class AnswerWriter {
 public:
  void String(const std::string& v) {
    if (std::any_of(v.begin(), v.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
      out_ += nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return;
    }
    out_ += '"';
    for (char c : v) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\b': out_ += "\\b"; break;
        case '\f': out_ += "\\f"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            out_ += buf;
          } else {
            out_ += c;
          }
      }
    }
    out_ += '"';
  }

  // One attribute, AttributeJson's shape: {"Value":[...],"vr":VR}, no Value when empty.
  void Attribute(dicom::Tag tag, const std::string& vr, const std::string& value) {
    Key(tag);
    out_ += '{';
    if (!value.empty()) {
      out_ += "\"Value\":[";
      size_t start = 0;
      for (size_t i = 0; i <= value.size(); ++i) {
        if (i != value.size() && value[i] != '\\') continue;
        if (start != 0) out_ += ',';
        Value(vr, value.substr(start, i - start));
        start = i + 1;
      }
      out_ += "],";
    }
    out_ += "\"vr\":";
    String(vr);
    out_ += '}';
  }

  void Key(dicom::Tag tag) {
    if (out_.back() != '{') out_ += ',';
    char buf[16];
    std::snprintf(buf, sizeof buf, "\"%04X%04X\":", dicom::Group(tag), dicom::Element(tag));
    out_ += buf;
  }

  std::string& out() { return out_; }

 private:
  void Value(const std::string& vr, const std::string& v) {
    if (vr == "PN") {
      // Component groups: Alphabetic=Ideographic=Phonetic (PS3.5 6.2, PS3.18 F.2.2).
      static const char* kGroups[] = {"Alphabetic", "Ideographic", "Phonetic"};
      bool any = false;
      size_t g = 0, from = 0;
      for (size_t j = 0; j <= v.size() && g < 3; ++j) {
        if (j != v.size() && v[j] != '=') continue;
        if (j > from) {
          out_ += any ? ",\"" : "{\"";
          out_ += kGroups[g];
          out_ += "\":";
          String(v.substr(from, j - from));
          any = true;
        }
        ++g;
        from = j + 1;
      }
      out_ += any ? "}" : "null";
    } else if (vr == "IS" || vr == "SS" || vr == "US" || vr == "SL" || vr == "UL" || vr == "SV" || vr == "UV") {
      char* end = nullptr;
      long long n = std::strtoll(v.c_str(), &end, 10);
      out_ += end && *end == '\0' && !v.empty() ? std::to_string(n) : "null";
    } else if (vr == "DS" || vr == "FL" || vr == "FD") {
      char* end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      out_ += end && *end == '\0' && !v.empty() ? nlohmann::json(d).dump() : "null";
    } else {
      String(v);
    }
  }

  std::string out_;
};

// RowJson's object for one row, written by `w`: the row's attributes in `fields` (all when
// `all`), SpecificCharacterSet when one of them is not ASCII, RetrieveURL and
// InstanceAvailability (PS3.18 Table 10.6.3-3), keys in tag order.
void WriteRow(AnswerWriter& w, const storage::Row& row, const std::set<dicom::Tag>& fields, bool all,
              const std::string& retrieve_url, std::map<dicom::Tag, std::string>& vrs) {
  auto vr_of = [&](dicom::Tag tag) -> const std::string& {
    auto it = vrs.find(tag);
    if (it == vrs.end()) it = vrs.emplace(tag, dicom::VrOf(tag)).first;
    return it->second;
  };
  bool non_ascii = false;
  for (const auto& [tag, value] : row.values) {
    if (!all && fields.count(tag) == 0) continue;
    for (unsigned char c : value) non_ascii = non_ascii || c >= 0x80;
  }
  const dicom::Tag charset = t::kSpecificCharacterSet, availability = t::kInstanceAvailability;
  const dicom::Tag url = dicom::MakeTag(0x0008, 0x1190);  // RetrieveURL
  // The three added keys replace a row value of the same tag (RowJson's obj[key] = did).
  w.out() += '{';
  std::vector<std::pair<dicom::Tag, const std::string*>> attrs;
  attrs.reserve(row.values.size());
  for (const auto& [tag, value] : row.values) {
    if (!all && fields.count(tag) == 0) continue;
    if (tag == charset && non_ascii) continue;
    if (tag == availability || tag == url) continue;
    attrs.emplace_back(tag, &value);
  }
  static const std::string kCharset = "ISO_IR 192", kOnline = "ONLINE", kCs = "CS", kUr = "UR";
  bool charset_done = !non_ascii, availability_done = false, url_done = false;
  auto flush_extras = [&](dicom::Tag before) {
    if (!charset_done && charset < before) {
      w.Attribute(charset, kCs, kCharset);
      charset_done = true;
    }
    if (!availability_done && availability < before) {
      w.Attribute(availability, kCs, kOnline);
      availability_done = true;
    }
    if (!url_done && url < before) {
      w.Attribute(url, kUr, retrieve_url);
      url_done = true;
    }
  };
  for (const auto& [tag, value] : attrs) {
    flush_extras(tag);
    w.Attribute(tag, vr_of(tag), *value);
  }
  flush_extras(0xFFFFFFFF);
  w.out() += '}';
}

}  // namespace

http::Response QidoSearch(const DicomWebContext& ctx, const http::Request& req,
                          const std::vector<std::string>& seg) {
  // Resource paths: studies | studies/{s}/series | series | studies/{s}/series/{se}/instances
  // | studies/{s}/instances | instances.
  ResourceLevel level;
  std::vector<std::pair<dicom::Tag, std::string>> keys;
  const size_t n = seg.size();
  if (n == 1 && seg[0] == "studies") {
    level = ResourceLevel::kStudy;
  } else if (n == 1 && seg[0] == "series") {
    level = ResourceLevel::kSeries;
  } else if (n == 1 && seg[0] == "instances") {
    level = ResourceLevel::kInstance;
  } else if (n == 3 && seg[0] == "studies" && seg[2] == "series") {
    level = ResourceLevel::kSeries;
    keys.emplace_back(t::kStudyInstanceUID, seg[1]);
  } else if (n == 3 && seg[0] == "studies" && seg[2] == "instances") {
    level = ResourceLevel::kInstance;
    keys.emplace_back(t::kStudyInstanceUID, seg[1]);
  } else if (n == 5 && seg[0] == "studies" && seg[2] == "series" && seg[4] == "instances") {
    level = ResourceLevel::kInstance;
    keys.emplace_back(t::kStudyInstanceUID, seg[1]);
    keys.emplace_back(t::kSeriesInstanceUID, seg[3]);
  } else {
    return http::Response::Error(Status(ErrorCode::kNotFound, "no such QIDO-RS resource: " + req.path));
  }

  std::set<dicom::Tag> fields = DefaultFields(level);
  bool all = false;
  bool fuzzy = false;
  size_t limit = 0, offset = 0;
  std::vector<std::string> ignored;
  for (const auto& [name, value] : req.query) {
    if (name == "includefield") {
      for (const auto& f : SplitComma(value)) {
        if (f == "all") {
          all = true;
          continue;
        }
        auto tag = KeyTag(f);
        if (!tag) return BadRequest("includefield: unknown attribute '" + f + "'");
        fields.insert(*tag);
      }
    } else if (name == "limit" || name == "offset") {
      char* end = nullptr;
      long v = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || v < 0) return BadRequest(name + " must be a non-negative integer, got '" + value + "'");
      (name == "limit" ? limit : offset) = static_cast<size_t>(v);
    } else if (name == "fuzzymatching") {
      if (value != "true" && value != "false") return BadRequest("fuzzymatching must be true or false");
      fuzzy = value == "true";
    } else {
      auto tag = KeyTag(name);
      if (!tag) return BadRequest("unknown query parameter or attribute '" + name + "'");
      if (!storage::FindIndexedAttribute(*tag)) {
        ignored.push_back(name);  // matching on it is not supported: said in a Warning
        continue;
      }
      keys.emplace_back(*tag, value);
      fields.insert(*tag);
    }
  }
  auto query = query::BuildQuery(level, keys);
  if (!query.ok()) return http::Response::Error(query.status());
  for (auto& c : query->constraints) {
    const auto* a = storage::FindIndexedAttribute(c.tag);
    c.fuzzy = fuzzy && a && a->kind == storage::ValueKind::kPersonName;
  }
  query->limit = limit;
  query->offset = offset;
  auto rows = ctx.index->Find(query.value());
  if (!rows.ok()) return http::Response::Error(rows.status());

  AnswerWriter w;
  std::map<dicom::Tag, std::string> vrs;  // the dictionary's VR of each tag, looked up once
  w.out().reserve(rows->size() * 1024 + 2);
  w.out() += '[';
  for (const auto& row : rows.value()) {
    const auto& v = row.values;
    std::string url = ctx.root + "/studies/" + v.at(t::kStudyInstanceUID);
    if (level >= ResourceLevel::kSeries) url += "/series/" + v.at(t::kSeriesInstanceUID);
    if (level == ResourceLevel::kInstance) url += "/instances/" + v.at(t::kSOPInstanceUID);
    if (w.out().size() > 1) w.out() += ',';
    WriteRow(w, row, fields, all, url, vrs);
  }
  w.out() += ']';
  http::Response res;
  res.content_type = "application/dicom+json";
  res.body = std::move(w.out());
  if (!ignored.empty()) {
    std::string list;
    for (const auto& i : ignored) list += (list.empty() ? "" : ", ") + i;
    res.headers.emplace_back("Warning", "299 radflow: matching not supported on " + list + "; ignored");
  }
  return res;
}

}  // namespace radflow::api
