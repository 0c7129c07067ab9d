// QIDO-RS (PS3.18 10.6): search for studies, series and instances. Matching is the same
// code as C-FIND's (query::ParseMatchingKey → storage::Index::Find).
#include <set>

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
        auto tag = dicom::ParseTag(f);
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
      auto tag = dicom::ParseTag(name);
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

  nlohmann::json out = nlohmann::json::array();
  for (const auto& row : rows.value()) {
    const auto& v = row.values;
    std::string url = ctx.root + "/studies/" + v.at(t::kStudyInstanceUID);
    if (level >= ResourceLevel::kSeries) url += "/series/" + v.at(t::kSeriesInstanceUID);
    if (level == ResourceLevel::kInstance) url += "/instances/" + v.at(t::kSOPInstanceUID);
    out.push_back(RowJson(row, fields, all, url));
  }
  http::Response res;
  res.content_type = "application/dicom+json";
  res.body = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (!ignored.empty()) {
    std::string list;
    for (const auto& i : ignored) list += (list.empty() ? "" : ", ") + i;
    res.headers.emplace_back("Warning", "299 radflow: matching not supported on " + list + "; ignored");
  }
  return res;
}

}  // namespace radflow::api
