// MRRT templates read with libxml2's HTML parser (the template is HTML5; libxml2 parses it as
// HTML without a schema, keeping unknown elements such as <section> and <datalist>), and the
// coded content of <script type="text/xml"> with libxml2's XML parser.
#include "report/templates.h"

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "report/text_scan.h"

namespace radflow::report {
namespace {

// The ai_key values pre-fill knows (prefill.h).
const std::set<std::string> kAiKeys = {
    "site", "laterality", "lobe", "size_mm", "mean_diameter_mm", "long_axis_mm", "short_axis_mm", "volume_ml",
    "nodule_type", "lung_rads", "lung_rads_management", "fleischner", "growth_pct", "diameter_change_mm",
    "doubling_time_days", "prior_interval_days", "prior_status", "laa950_pct", "laa950_left_pct",
    "laa950_right_pct", "emphysema_volume_ml", "perc15_hu", "bleed_volume_ml", "bleed_size_mm",
    "bleed_mean_hu", "solid_component_mm", "quality_warning", "sentence", "ai_app"};

std::string Attr(xmlNode* n, const char* name) {
  xmlChar* v = xmlGetProp(n, reinterpret_cast<const xmlChar*>(name));
  if (!v) return "";
  std::string s(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return s;
}
bool HasAttr(xmlNode* n, const char* name) { return xmlHasProp(n, reinterpret_cast<const xmlChar*>(name)) != nullptr; }

std::string Name(xmlNode* n) { return n && n->name ? scan::Lower(reinterpret_cast<const char*>(n->name)) : ""; }

std::string Trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

// Text content with whitespace runs collapsed.
std::string Text(xmlNode* n) {
  xmlChar* c = xmlNodeGetContent(n);
  std::string raw = c ? reinterpret_cast<const char*>(c) : "";
  if (c) xmlFree(c);
  std::string out;
  bool space = false;
  for (char ch : raw) {
    if (std::isspace(static_cast<unsigned char>(ch))) { space = true; continue; }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += ch;
  }
  return out;
}

std::string Upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> SplitList(const std::string& s, bool upper) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    std::string t = Trim(cur);
    if (!t.empty()) out.push_back(upper ? Upper(t) : t);
    cur.clear();
  };
  for (char c : s) {
    if (c == ',' || c == ';') flush();
    else cur += c;
  }
  flush();
  return out;
}

std::string Slug(const std::string& s) {
  std::string out;
  for (char c : scan::Lower(s)) {
    if (std::isalnum(static_cast<unsigned char>(c))) out += c;
    else if (!out.empty() && out.back() != '_') out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

bool ParseDouble(const std::string& s, double* out) {
  const std::string t = Trim(s);
  if (t.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(t.c_str(), &end);
  return end && *end == '\0' && std::isfinite(*out);
}

struct Code { std::string value, scheme, meaning; };

void CollectIds(xmlNode* n, std::map<std::string, xmlNode*>* ids, std::string* dup) {
  for (xmlNode* c = n; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    const std::string id = Attr(c, "id");
    if (!id.empty()) {
      if (ids->count(id) && dup->empty()) *dup = id;
      ids->emplace(id, c);
    }
    CollectIds(c->children, ids, dup);
  }
}

void FindAll(xmlNode* n, const std::string& name, std::vector<xmlNode*>* out) {
  for (xmlNode* c = n; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (Name(c) == name) out->push_back(c);
    FindAll(c->children, name, out);
  }
}

class Parser {
 public:
  Parser(const std::string& html, const std::string& file) : html_(html), file_(file) {
    base_ = std::filesystem::path(file).filename().string();
    if (base_.empty()) base_ = "template";
  }

  Result<Template> Run() {
    std::unique_ptr<xmlDoc, void (*)(xmlDoc*)> doc(
        htmlReadMemory(html_.data(), static_cast<int>(html_.size()), base_.c_str(), "UTF-8",
                       HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
                           HTML_PARSE_NOIMPLIED),
        xmlFreeDoc);
    if (!doc) return Fail("not an HTML document");
    xmlNode* root = xmlDocGetRootElement(doc.get());
    while (root && root->type == XML_ELEMENT_NODE && Name(root) != "html") root = root->next;
    if (!root || Name(root) != "html") return Fail("no <html> element");
    xmlNode* head = nullptr;
    xmlNode* body = nullptr;
    for (xmlNode* c = root->children; c; c = c->next) {
      if (c->type != XML_ELEMENT_NODE) continue;
      if (Name(c) == "head") {
        if (head) return Fail("more than one <head>");
        head = c;
      } else if (Name(c) == "body") {
        if (body) return Fail("more than one <body>");
        body = c;
      }
    }
    if (!head) return Fail("no <head> element");
    if (!body) return Fail("no <body> element");

    t_.html = html_;
    t_.file = file_;
    if (auto s = ReadHead(head); !s.ok()) return s;
    std::string dup;
    CollectIds(body->children, &ids_, &dup);
    if (!dup.empty()) return Fail((ids_.count(dup) && IsField(ids_[dup]) ? "field '" + dup + "': " : "") +
                                  "duplicate id '" + dup + "'");
    // <label for> must name an element of the body.
    std::vector<xmlNode*> labels;
    FindAll(body->children, "label", &labels);
    for (xmlNode* l : labels) {
      const std::string f = Attr(l, "for");
      if (f.empty()) continue;
      if (!ids_.count(f)) return Fail("<label for=\"" + f + "\"> names no element");
      if (!label_.count(f)) {
        std::string text = Text(l);
        while (!text.empty() && (text.back() == ':' || text.back() == ' ')) text.pop_back();
        if (!text.empty()) label_[f] = text;
      }
    }
    if (auto s = Walk(body->children, -1); !s.ok()) return s;
    if (t_.sections.empty()) return Fail("no <section data-section-name> in <body>");
    for (const auto& [id, codes] : entries_) {
      if (!ids_.count(id)) return Fail("coded content entry ORIGTXT=\"" + id + "\" names no element");
    }
    return std::move(t_);
  }

 private:
  Status Fail(const std::string& msg) const { return Status(ErrorCode::kInvalidArgument, base_ + ": " + msg); }
  Status FieldFail(const std::string& id, const std::string& msg) const { return Fail("field '" + id + "': " + msg); }

  static bool IsField(xmlNode* n) {
    if (HasAttr(n, "data-field-type")) return true;
    const std::string name = Name(n);
    if (name == "textarea" || name == "select") return true;
    if (name == "input") {
      const std::string type = scan::Lower(Attr(n, "type"));
      return type.empty() || type == "text" || type == "number" || type == "date" || type == "checkbox";
    }
    return false;
  }

  Status ReadHead(xmlNode* head) {
    std::map<std::string, std::string> meta;
    std::string title_element;
    int scripts = 0;
    for (xmlNode* c = head->children; c; c = c->next) {
      if (c->type != XML_ELEMENT_NODE) continue;
      const std::string n = Name(c);
      if (n == "meta" && HasAttr(c, "name")) {
        const std::string key = scan::Lower(Trim(Attr(c, "name")));
        if (!meta.count(key)) meta[key] = Trim(Attr(c, "content"));
      } else if (n == "title") {
        title_element = Text(c);
      } else if (n == "script" && scan::Lower(Attr(c, "type")) == "text/xml") {
        if (++scripts > 1) return Fail("more than one <script type=\"text/xml\"> (coded content)");
        if (auto s = ReadCodedContent(c); !s.ok()) return s;
      }
    }
    t_.title = meta["dcterms.title"];
    if (t_.title.empty()) t_.title = title_element;
    if (t_.title.empty()) return Fail("no <meta name=\"dcterms.title\">");
    t_.id = meta["dcterms.identifier"];
    if (t_.id.empty()) return Fail("no <meta name=\"dcterms.identifier\">");
    for (char c : t_.id) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':' || c == '/'))
        return Fail("dcterms.identifier '" + t_.id + "': only letters, digits and - _ . : / allowed");
    }
    if (meta.count("dcterms.type") && !meta["dcterms.type"].empty() && meta["dcterms.type"] != "IMAGE_REPORT_TEMPLATE")
      return Fail("dcterms.type '" + meta["dcterms.type"] + "' is not IMAGE_REPORT_TEMPLATE");
    t_.description = meta["dcterms.description"];
    t_.language = meta.count("dcterms.language") ? meta["dcterms.language"] : "en";
    t_.version = meta.count("radflow.version") ? meta["radflow.version"] : meta["dcterms.date"];
    t_.modalities = SplitList(meta["radflow.modalities"], true);
    t_.body_parts = SplitList(meta["radflow.body-parts"], true);
    t_.procedure_codes = SplitList(meta["radflow.procedure-codes"], false);
    t_.keywords = meta.count("radflow.keywords") ? SplitList(meta["radflow.keywords"], true) : t_.body_parts;
    const std::string fb = scan::Lower(meta["radflow.fallback"]);
    if (!fb.empty() && fb != "true" && fb != "false") return Fail("radflow.fallback '" + fb + "': true or false");
    t_.general = fb == "true";
    for (const auto& m : t_.modalities) {
      if (m.size() < 2 || m.size() > 3 || !std::all_of(m.begin(), m.end(), [](char c) { return std::isupper(static_cast<unsigned char>(c)); }))
        return Fail("radflow.modalities: '" + m + "' is not a DICOM modality (CT, MR, DX, CR, ...)");
    }
    return Status::Ok();
  }

  // <template_attributes> … <coded_content><entry ORIGTXT="field or option id"><term><code
  // meaning value scheme/></term></entry></coded_content> (MRRT Rev. 1 template attributes).
  Status ReadCodedContent(xmlNode* script) {
    std::string xml = Text(script);
    {
      xmlChar* c = xmlNodeGetContent(script);
      xml = c ? reinterpret_cast<const char*>(c) : "";
      if (c) xmlFree(c);
    }
    // Some publishers wrap the block in an HTML comment.
    std::string t = Trim(xml);
    if (t.rfind("<!--", 0) == 0) t = t.substr(4);
    if (t.size() >= 3 && t.compare(t.size() - 3, 3, "-->") == 0) t = t.substr(0, t.size() - 3);
    t = Trim(t);
    if (t.empty()) return Status::Ok();
    std::unique_ptr<xmlDoc, void (*)(xmlDoc*)> doc(
        xmlReadMemory(t.data(), static_cast<int>(t.size()), "coded-content.xml", "UTF-8",
                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
        xmlFreeDoc);
    if (!doc) return Fail("coded content (<script type=\"text/xml\">) is not well-formed XML");
    xmlNode* root = xmlDocGetRootElement(doc.get());
    if (!root || Name(root) != "template_attributes")
      return Fail("coded content: root element is not <template_attributes>");
    std::vector<xmlNode*> entries;
    FindAll(root->children, "entry", &entries);
    for (xmlNode* e : entries) {
      std::string orig = Attr(e, "ORIGTXT");
      if (orig.empty()) orig = Attr(e, "origtxt");
      if (orig.empty()) return Fail("coded content: <entry> without ORIGTXT");
      std::vector<xmlNode*> codes;
      FindAll(e->children, "code", &codes);
      if (codes.empty()) return Fail("coded content entry '" + orig + "': no <code>");
      for (xmlNode* c : codes) {
        Code code{Attr(c, "value"), Attr(c, "scheme"), Attr(c, "meaning")};
        if (code.value.empty() || code.scheme.empty() || code.meaning.empty())
          return Fail("coded content entry '" + orig + "': <code> needs value, scheme and meaning");
        entries_[orig].push_back(code);
      }
    }
    return Status::Ok();
  }

  std::string LabelOf(xmlNode* n, const std::string& id) {
    if (label_.count(id)) return label_[id];
    std::string name = Trim(Attr(n, "name"));
    return name.empty() ? id : name;
  }

  void Bind(FieldOption* o, const std::string& option_id) {
    if (option_id.empty() || !entries_.count(option_id)) return;
    const Code& c = entries_[option_id].front();
    o->code_value = c.value, o->code_scheme = c.scheme, o->code_meaning = c.meaning;
  }

  Status Options(xmlNode* list, TemplateField* f) {
    std::vector<xmlNode*> opts;
    FindAll(list->children, "option", &opts);
    std::set<std::string> seen;
    for (xmlNode* o : opts) {
      FieldOption fo;
      fo.label = Text(o);
      fo.value = HasAttr(o, "value") ? Attr(o, "value") : fo.label;
      if (fo.label.empty()) fo.label = fo.value;
      if (Trim(fo.value).empty()) continue;  // an empty placeholder option
      if (!seen.insert(fo.value).second) return FieldFail(f->id, "option '" + fo.value + "' appears twice");
      Bind(&fo, Attr(o, "id"));
      if (HasAttr(o, "selected") && f->default_value.empty()) f->default_value = fo.value;
      f->options.push_back(fo);
    }
    return Status::Ok();
  }

  Status Field(xmlNode* n, int section) {
    TemplateField f;
    f.id = Attr(n, "id");
    const std::string el = Name(n);
    if (f.id.empty()) return Fail("a <" + el + "> field without an id");
    if (section < 0) return FieldFail(f.id, "outside any <section data-section-name>");
    std::string type = Upper(Trim(Attr(n, "data-field-type")));
    if (type.empty()) {  // MRRT Rev. 0 style fields without data-field-type
      const std::string it = scan::Lower(Attr(n, "type"));
      type = el == "select" ? "SELECTION_LIST" : el == "textarea" ? "TEXT" : it == "number" ? "NUMBER"
           : it == "date" ? "DATE" : it == "checkbox" ? "CHECKBOX" : "TEXT";
    }
    f.label = LabelOf(n, f.id);
    f.default_value = (el == "textarea") ? Trim(Text(n)) : Attr(n, "value");
    const std::string action = Upper(Trim(Attr(n, "data-field-completion-action")));
    if (!action.empty() && action != "NONE" && action != "ALERT" && action != "PROHIBIT")
      return FieldFail(f.id, "data-field-completion-action '" + action + "' (MRRT: NONE, ALERT, PROHIBIT)");
    f.required = action == "PROHIBIT" || HasAttr(n, "required");
    f.ai_key = Trim(Attr(n, "data-radflow-ai-key"));
    if (!f.ai_key.empty() && !kAiKeys.count(f.ai_key)) return FieldFail(f.id, "unknown data-radflow-ai-key '" + f.ai_key + "'");

    if (type == "TEXT" || type == "TIME") {
      f.type = "text";
    } else if (type == "DATE") {
      f.type = "date";
      if (!f.default_value.empty() && !(f.default_value.size() == 10 && f.default_value[4] == '-' && f.default_value[7] == '-'))
        return FieldFail(f.id, "DATE value '" + f.default_value + "' is not YYYY-MM-DD");
    } else if (type == "NUMBER") {
      f.type = "number";
      f.unit = Trim(Attr(n, "data-field-units"));
      if (f.unit.empty()) f.unit = Trim(Attr(n, "data-field-unit"));
      if (f.unit.empty()) return FieldFail(f.id, "NUMBER without a unit (data-field-units)");
      double v = 0;
      const std::string mn = Attr(n, "min"), mx = Attr(n, "max");
      if (!Trim(mn).empty()) {
        if (!ParseDouble(mn, &v)) return FieldFail(f.id, "min '" + mn + "' is not a number");
        f.min = v;
      }
      if (!Trim(mx).empty()) {
        if (!ParseDouble(mx, &v)) return FieldFail(f.id, "max '" + mx + "' is not a number");
        f.max = v;
      }
      if (f.min && f.max && *f.min > *f.max) return FieldFail(f.id, "min is greater than max");
      if (!Trim(f.default_value).empty()) {
        if (!ParseDouble(f.default_value, &v)) return FieldFail(f.id, "value '" + f.default_value + "' is not a number");
        if ((f.min && v < *f.min) || (f.max && v > *f.max)) return FieldFail(f.id, "value outside min..max");
      }
    } else if (type == "SELECTION_LIST") {
      f.type = "select";
      f.multiple = HasAttr(n, "multiple");
      if (el == "select") {
        if (auto s = Options(n, &f); !s.ok()) return s;
      } else {
        const std::string list = Attr(n, "list");
        if (list.empty() || !ids_.count(list)) return FieldFail(f.id, "SELECTION_LIST without a <select> or a <datalist>");
        if (auto s = Options(ids_[list], &f); !s.ok()) return s;
      }
      if (f.options.empty()) return FieldFail(f.id, "SELECTION_LIST without options");
      if (std::all_of(f.options.begin(), f.options.end(), [](const FieldOption& o) { return !o.code_value.empty(); }))
        f.type = "code";
    } else if (type == "CHECKBOX" || type == "RADIO") {
      std::vector<xmlNode*> inputs;
      if (el == "input") inputs.push_back(n);
      else FindAll(n->children, "input", &inputs);
      const std::string want = type == "CHECKBOX" ? "checkbox" : "radio";
      std::vector<xmlNode*> boxes;
      for (xmlNode* i : inputs) if (scan::Lower(Attr(i, "type")) == want) boxes.push_back(i);
      if (boxes.empty()) return FieldFail(f.id, type + " without an <input type=\"" + want + "\">");
      if (type == "CHECKBOX" && boxes.size() == 1 && boxes[0] == n) {
        f.type = "boolean";
        f.default_value = HasAttr(n, "checked") ? "true" : "false";
      } else {
        f.type = "select";
        f.multiple = type == "CHECKBOX";
        f.default_value.clear();
        std::set<std::string> seen;
        for (xmlNode* b : boxes) {
          FieldOption o;
          o.value = Attr(b, "value");
          const std::string bid = Attr(b, "id");
          o.label = (!bid.empty() && label_.count(bid)) ? label_[bid] : Text(b);
          if (o.label.empty()) o.label = o.value;
          if (o.value.empty()) return FieldFail(f.id, "a " + want + " without a value");
          if (!seen.insert(o.value).second) return FieldFail(f.id, "option '" + o.value + "' appears twice");
          Bind(&o, bid);
          if (HasAttr(b, "checked")) f.default_value += (f.default_value.empty() ? "" : "|") + o.value;
          f.options.push_back(o);
        }
      }
    } else {
      return FieldFail(f.id, "unknown data-field-type '" + type +
                                 "' (MRRT: TEXT, NUMBER, SELECTION_LIST, DATE, TIME, CHECKBOX, RADIO)");
    }
    if (f.type == "select" || f.type == "code") {
      if (!f.default_value.empty() && !f.multiple &&
          std::none_of(f.options.begin(), f.options.end(), [&](const FieldOption& o) { return o.value == f.default_value; }))
        f.default_value.clear();  // an <input list> value outside the list: a free-text default
    }
    t_.sections[static_cast<size_t>(section)].fields.push_back(std::move(f));
    return Status::Ok();
  }

  Status Walk(xmlNode* n, int section) {
    for (xmlNode* c = n; c; c = c->next) {
      if (c->type != XML_ELEMENT_NODE) continue;
      const std::string name = Name(c);
      if (name == "section") {
        const std::string title = Trim(Attr(c, "data-section-name"));
        if (title.empty()) return Fail("a <section> without data-section-name");
        TemplateSection s;
        s.id = Attr(c, "id").empty() ? Slug(title) : Attr(c, "id");
        s.title = title;
        for (const auto& e : t_.sections)
          if (e.id == s.id) return Fail("section '" + s.id + "': duplicate section id");
        t_.sections.push_back(std::move(s));
        const int idx = static_cast<int>(t_.sections.size()) - 1;
        section_kinds_[t_.sections[idx].id] = Attr(c, "data-radflow-kinds");
        if (auto st = Walk(c->children, idx); !st.ok()) return st;
        continue;
      }
      if (name == "datalist" || name == "option") continue;
      if (IsField(c)) {
        if (auto st = Field(c, section); !st.ok()) return st;
        continue;  // a field's own inputs (checkbox groups) are not fields
      }
      if (auto st = Walk(c->children, section); !st.ok()) return st;
    }
    return Status::Ok();
  }

  const std::string& html_;
  std::string file_, base_;
  Template t_;
  std::map<std::string, xmlNode*> ids_;
  std::map<std::string, std::string> label_;
  std::map<std::string, std::vector<Code>> entries_;

 public:
  std::map<std::string, std::string> section_kinds_;
};

bool ContainsCi(const std::vector<std::string>& v, const std::string& x) {
  const std::string u = Upper(x);
  return std::any_of(v.begin(), v.end(), [&](const std::string& e) { return Upper(e) == u; });
}

// A keyword of the template in the StudyDescription (whole words, upper case).
std::string KeywordIn(const Template& t, const std::string& description) {
  const std::string d = scan::Lower(description);
  for (const auto& k : t.keywords) {
    if (scan::HasWord(d, scan::Lower(k))) return k;
  }
  return "";
}

bool ModalityFits(const Template& t, const StudyContext& s) {
  if (t.modalities.empty()) return true;
  return std::any_of(s.modalities.begin(), s.modalities.end(), [&](const std::string& m) { return ContainsCi(t.modalities, m); });
}

std::string CodeValue(const std::string& code) { return code.substr(0, code.find('^')); }

bool ProcedureMatch(const Template& t, const StudyContext& s, std::string* which) {
  for (const auto& pc : s.procedure_codes) {
    for (const auto& tc : t.procedure_codes) {
      // "value^scheme" on either side; a side without a scheme matches any scheme.
      const bool has_scheme = pc.find('^') != std::string::npos && tc.find('^') != std::string::npos;
      if (has_scheme ? Upper(pc) == Upper(tc) : Upper(CodeValue(pc)) == Upper(CodeValue(tc))) {
        *which = CodeValue(pc);
        return true;
      }
    }
  }
  return false;
}

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& e : v) out += (out.empty() ? "" : sep) + e;
  return out;
}

}  // namespace

const TemplateField* Template::FindField(const std::string& field_id) const {
  for (const auto& s : sections)
    for (const auto& f : s.fields)
      if (f.id == field_id) return &f;
  return nullptr;
}

const TemplateSection* Template::FindSection(const std::string& section_id) const {
  for (const auto& s : sections)
    if (s.id == section_id) return &s;
  return nullptr;
}

Result<Template> ParseMrrtTemplate(const std::string& html, const std::string& file) {
  Parser p(html, file);
  auto r = p.Run();
  if (!r.ok()) return r;
  Template t = std::move(r.value());
  for (auto& s : t.sections) {
    const std::string kinds = p.section_kinds_[s.id];
    std::istringstream in(kinds);
    std::string k;
    while (in >> k) {
      if (k != "lung_nodule" && k != "emphysema" && k != "haemorrhage" && k != "image_quality" && k != "other")
        return Result<Template>(ErrorCode::kInvalidArgument,
                                std::filesystem::path(file).filename().string() + ": section '" + s.id +
                                    "': unknown data-radflow-kinds '" + k + "'");
      t.section_kinds[k] = t.section_kinds.count(k) ? t.section_kinds[k] : s.id;
    }
  }
  return t;
}

const Template* TemplateLibrary::Find(const std::string& id) const {
  for (const auto& t : templates)
    if (t.id == id) return &t;
  return nullptr;
}

TemplateLibrary LoadTemplates(const std::vector<std::string>& folders) {
  TemplateLibrary lib;
  namespace fs = std::filesystem;
  for (const auto& folder : folders) {
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) continue;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(folder, ec)) {
      if (e.is_regular_file() && (e.path().extension() == ".html" || e.path().extension() == ".htm")) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      auto t = ParseMrrtTemplate(ss.str(), f.string());
      if (!t.ok()) {
        lib.rejected.emplace_back(f.string(), t.status().message());
        continue;
      }
      auto same = std::find_if(lib.templates.begin(), lib.templates.end(), [&](const Template& e) { return e.id == t->id; });
      if (same != lib.templates.end()) *same = std::move(t.value());
      else lib.templates.push_back(std::move(t.value()));
    }
  }
  return lib;
}

TemplateChoice SelectTemplate(const TemplateLibrary& library, const StudyContext& study) {
  TemplateChoice choice;
  const std::string modalities = study.modalities.empty() ? "?" : Join(study.modalities, "/");
  struct Scored { const Template* t; int score; std::string why, what; };
  std::vector<Scored> cands;
  for (const auto& t : library.templates) {
    if (!ModalityFits(t, study)) continue;
    int score = 0;
    std::string why, what;
    std::string code;
    if (ProcedureMatch(t, study, &code)) {
      score += 4;
      why = "procedure code";
      what = code;
    }
    if (!study.body_part.empty() && ContainsCi(t.body_parts, study.body_part)) {
      score += 2;
      why += std::string(why.empty() ? "" : ", ") + "body part";
      if (what.empty()) what = Upper(study.body_part);
    } else if (const std::string k = KeywordIn(t, study.study_description); !k.empty()) {
      score += 1;
      why += std::string(why.empty() ? "" : ", ") + "StudyDescription keyword " + k;
      if (what.empty()) what = "'" + study.study_description + "'";
    }
    if (score > 0) cands.push_back({&t, score, why, what});
  }
  auto specificity = [](const Template* t) { return t->modalities.size() + t->body_parts.size() + t->procedure_codes.size(); };
  if (!cands.empty()) {
    std::sort(cands.begin(), cands.end(), [&](const Scored& a, const Scored& b) {
      if (a.score != b.score) return a.score > b.score;
      // Fewer modalities/body parts/codes is the more specific template; a template
      // limited to modalities beats one for every modality.
      const bool am = a.t->modalities.empty(), bm = b.t->modalities.empty();
      if (am != bm) return !am;
      if (specificity(a.t) != specificity(b.t)) return specificity(a.t) < specificity(b.t);
      return a.t->id < b.t->id;
    });
    const auto& c = cands.front();
    choice.chosen = c.t;
    choice.rule = modalities + " + " + c.what + " \xE2\x86\x92 " + c.t->id + " (modality and " + c.why + ")";
    return choice;
  }
  const Template* general = nullptr;
  for (const auto& t : library.templates) {
    if (!t.general || !ModalityFits(t, study)) continue;
    if (!general || (general->modalities.empty() && !t.modalities.empty()) ||
        (general->modalities.empty() == t.modalities.empty() && t.id < general->id))
      general = &t;
  }
  std::string what = modalities;
  if (!study.body_part.empty()) what += " + " + Upper(study.body_part);
  else if (!study.study_description.empty()) what += " + '" + study.study_description + "'";
  if (general) {
    choice.chosen = general;
    choice.rule = what + " \xE2\x86\x92 " + general->id + " (general template" +
                  (general->modalities.empty() ? "" : " of the modality") + ": no specific template fits)";
    return choice;
  }
  choice.rule = what + ": no template fits and the library has no general template";
  return choice;
}

std::map<std::string, std::string> FieldAiKeys(const Template& t) {
  std::map<std::string, std::string> out;
  for (const auto& s : t.sections)
    for (const auto& f : s.fields)
      if (!f.ai_key.empty()) out[f.id] = f.ai_key;
  return out;
}

}  // namespace radflow::report
