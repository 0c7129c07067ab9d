#include "hl7/message.h"

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace radflow::hl7 {

namespace {

std::vector<std::string_view> SplitView(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    if (p == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, p - start));
    start = p + 1;
  }
}

// Splits at `sep` outside escape sequences (an escaped delimiter never appears raw, but a
// malformed \X..\ could contain one; HL7 splits first and decodes after, as we do).
Field ParseField(std::string_view raw, const Separators& seps) {
  Field f;
  if (raw.empty()) return f;
  for (std::string_view rep : SplitView(raw, seps.repetition)) {
    Repetition r;
    for (std::string_view comp : SplitView(rep, seps.component)) {
      std::vector<std::string> subs;
      for (std::string_view sub : SplitView(comp, seps.subcomponent)) subs.push_back(Unescape(sub, seps));
      r.push_back(std::move(subs));
    }
    f.repetitions.push_back(std::move(r));
  }
  return f;
}

std::string EncodeField(const Field& f, const Separators& seps) {
  std::string out;
  for (size_t r = 0; r < f.repetitions.size(); ++r) {
    if (r) out += seps.repetition;
    const Repetition& rep = f.repetitions[r];
    // Trailing empty components are not sent (2.5.5.2).
    size_t ncomp = rep.size();
    auto comp_empty = [](const std::vector<std::string>& subs) {
      for (const auto& s : subs) {
        if (!s.empty()) return false;
      }
      return true;
    };
    while (ncomp > 1 && comp_empty(rep[ncomp - 1])) --ncomp;
    for (size_t c = 0; c < ncomp; ++c) {
      if (c) out += seps.component;
      const auto& subs = rep[c];
      size_t nsub = subs.size();
      while (nsub > 1 && subs[nsub - 1].empty()) --nsub;
      for (size_t s = 0; s < nsub; ++s) {
        if (s) out += seps.subcomponent;
        out += Escape(subs[s], seps);
      }
    }
  }
  return out;
}

bool ValidSegmentId(std::string_view id) {
  if (id.size() != 3) return false;
  for (char c : id) {
    if (!std::isupper(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return std::isupper(static_cast<unsigned char>(id[0]));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool Field::empty() const {
  for (const auto& r : repetitions) {
    for (const auto& c : r) {
      for (const auto& s : c) {
        if (!s.empty()) return false;
      }
    }
  }
  return true;
}

Segment::Segment(std::string id) : id_(std::move(id)) {}

const Field* Segment::FieldAt(int field) const {
  if (field < 1 || field > static_cast<int>(fields_.size())) return nullptr;
  return &fields_[field - 1];
}

std::string Segment::Get(int field, int component, int subcomponent, int repetition) const {
  const Field* f = FieldAt(field);
  if (!f || repetition < 1 || repetition > static_cast<int>(f->repetitions.size())) return "";
  const Repetition& r = f->repetitions[repetition - 1];
  if (component < 1 || component > static_cast<int>(r.size())) return "";
  const auto& subs = r[component - 1];
  if (subcomponent < 1 || subcomponent > static_cast<int>(subs.size())) return "";
  return subs[subcomponent - 1];
}

int Segment::Repetitions(int field) const {
  const Field* f = FieldAt(field);
  return f && !f->empty() ? static_cast<int>(f->repetitions.size()) : 0;
}

std::vector<std::string> Segment::Components(int field, int repetition) const {
  std::vector<std::string> out;
  const Field* f = FieldAt(field);
  if (!f || repetition < 1 || repetition > static_cast<int>(f->repetitions.size())) return out;
  for (const auto& subs : f->repetitions[repetition - 1]) {
    std::string joined;
    for (size_t i = 0; i < subs.size(); ++i) joined += (i ? "&" : "") + subs[i];
    out.push_back(joined);
  }
  return out;
}

Field& Segment::MutableField(int field) {
  if (field < 1) field = 1;
  if (static_cast<int>(fields_.size()) < field) fields_.resize(field);
  return fields_[field - 1];
}

Segment& Segment::Set(int field, std::string value) {
  Field& f = MutableField(field);
  f.repetitions.clear();
  if (!value.empty()) f.repetitions.push_back(Repetition{{std::move(value)}});
  return *this;
}

Segment& Segment::SetComponents(int field, std::vector<std::string> components, int repetition) {
  Field& f = MutableField(field);
  if (repetition < 1) repetition = 1;
  if (static_cast<int>(f.repetitions.size()) < repetition) f.repetitions.resize(repetition);
  Repetition& r = f.repetitions[repetition - 1];
  r.clear();
  for (auto& c : components) r.push_back({std::move(c)});
  return *this;
}

Segment& Segment::SetSubcomponents(int field, int component, std::vector<std::string> subcomponents, int repetition) {
  Field& f = MutableField(field);
  if (repetition < 1) repetition = 1;
  if (component < 1) component = 1;
  if (static_cast<int>(f.repetitions.size()) < repetition) f.repetitions.resize(repetition);
  Repetition& r = f.repetitions[repetition - 1];
  if (static_cast<int>(r.size()) < component) r.resize(component, {""});
  r[component - 1] = std::move(subcomponents);
  if (r[component - 1].empty()) r[component - 1].push_back("");
  return *this;
}

const Segment* Message::Find(std::string_view id, int occurrence) const {
  int n = 0;
  for (const auto& s : segments) {
    if (s.id() == id && ++n == occurrence) return &s;
  }
  return nullptr;
}

std::vector<const Segment*> Message::FindAll(std::string_view id) const {
  std::vector<const Segment*> out;
  for (const auto& s : segments) {
    if (s.id() == id) out.push_back(&s);
  }
  return out;
}

Segment& Message::Add(std::string id) {
  segments.emplace_back(std::move(id));
  return segments.back();
}

std::string Message::Type() const {
  const Segment* msh = Find("MSH");
  if (!msh) return "";
  std::string code = msh->Get(9, 1), event = msh->Get(9, 2);
  return event.empty() ? code : code + "^" + event;
}

std::string Message::ControlId() const {
  const Segment* msh = Find("MSH");
  return msh ? msh->Get(10) : "";
}

std::string Message::Version() const {
  const Segment* msh = Find("MSH");
  return msh ? msh->Get(12) : "";
}

std::string Message::Encode() const {
  std::string out;
  const std::string encoding{separators.component, separators.repetition, separators.escape, separators.subcomponent};
  for (const Segment& s : segments) {
    out += s.id();
    const bool msh = s.id() == "MSH" || s.id() == "FHS" || s.id() == "BHS";
    int last = s.field_count();
    while (last > 0 && s.FieldAt(last)->empty()) --last;
    if (msh) {
      out += separators.field;
      out += encoding;
    }
    for (int i = msh ? 3 : 1; i <= last; ++i) {
      out += separators.field;
      out += EncodeField(*s.FieldAt(i), separators);
    }
    out += '\r';
  }
  return out;
}

Result<Message> Parse(std::string_view text) {
  // Leading whitespace (a stray <LF> after an MLLP start block) is not part of the message.
  while (!text.empty() && (text.front() == '\r' || text.front() == '\n' || text.front() == ' ')) {
    text.remove_prefix(1);
  }
  if (text.size() < 8 || text.substr(0, 3) != "MSH") {
    return Status(ErrorCode::kInvalidArgument, "MSH: message does not start with MSH");
  }
  Message msg;
  Separators& seps = msg.separators;
  seps.field = text[3];
  // MSH-2: component, repetition, escape, subcomponent (and, from v2.7, truncation).
  size_t enc_end = text.find(seps.field, 4);
  if (enc_end == std::string_view::npos) enc_end = text.find_first_of("\r\n", 4);
  std::string_view enc = text.substr(4, enc_end == std::string_view::npos ? std::string_view::npos : enc_end - 4);
  if (enc.size() < 4 || enc.size() > 5) {
    return Status(ErrorCode::kInvalidArgument,
                  "MSH-2: encoding characters must be 4 (component, repetition, escape, subcomponent), got '" +
                      std::string(enc) + "'");
  }
  seps.component = enc[0];
  seps.repetition = enc[1];
  seps.escape = enc[2];
  seps.subcomponent = enc[3];
  const std::string all{seps.field, seps.component, seps.repetition, seps.escape, seps.subcomponent};
  for (size_t i = 0; i < all.size(); ++i) {
    if (std::isalnum(static_cast<unsigned char>(all[i])) || all[i] == '\r' || all[i] == '\n' || all.find(all[i]) != i) {
      return Status(ErrorCode::kInvalidArgument, "MSH-2: delimiters must be distinct non-alphanumeric characters");
    }
  }

  // Segments end with <CR>; accept <LF> and <CR><LF> too (common in files and by hand).
  int number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find_first_of("\r\n", pos);
    std::string_view line = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    if (line.empty()) continue;
    ++number;
    std::vector<std::string_view> raw = SplitView(line, seps.field);
    std::string id(raw[0]);
    if (!ValidSegmentId(id)) {
      if (id.empty() || line.find_first_not_of(" \t\x1a") == std::string_view::npos) continue;  // padding
      return Status(ErrorCode::kInvalidArgument,
                    "segment " + std::to_string(number) + ": bad segment id '" + id.substr(0, 10) + "'");
    }
    Segment& seg = msg.Add(id);
    if (id == "MSH" && number != 1) {
      return Status(ErrorCode::kInvalidArgument, "MSH: segment " + std::to_string(number) + " is a second MSH");
    }
    const bool header = id == "MSH" || id == "FHS" || id == "BHS";
    if (header) {
      // MSH-1 is the field separator itself; MSH-2 the encoding characters, not split.
      seg.Set(1, std::string(1, seps.field));
      if (raw.size() > 1) seg.MutableField(2).repetitions = {Repetition{{std::string(raw[1])}}};
      for (size_t i = 2; i < raw.size(); ++i) seg.MutableField(static_cast<int>(i) + 1) = ParseField(raw[i], seps);
    } else {
      for (size_t i = 1; i < raw.size(); ++i) seg.MutableField(static_cast<int>(i)) = ParseField(raw[i], seps);
    }
  }
  const Segment* msh = msg.Find("MSH");
  if (!msh) return Status(ErrorCode::kInvalidArgument, "MSH: message does not start with MSH");
  if (msh->Get(9, 1).empty()) return Status(ErrorCode::kInvalidArgument, "MSH-9: missing message type");
  return msg;
}

std::string Escape(std::string_view value, const Separators& seps) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == seps.escape) {
      out += seps.escape;
      out += 'E';
      out += seps.escape;
    } else if (c == seps.field) {
      out += seps.escape;
      out += 'F';
      out += seps.escape;
    } else if (c == seps.component) {
      out += seps.escape;
      out += 'S';
      out += seps.escape;
    } else if (c == seps.subcomponent) {
      out += seps.escape;
      out += 'T';
      out += seps.escape;
    } else if (c == seps.repetition) {
      out += seps.escape;
      out += 'R';
      out += seps.escape;
    } else if (c == '\r' || c == '\n') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "X%02X", static_cast<unsigned char>(c));
      out += seps.escape;
      out += buf;
      out += seps.escape;
    } else {
      out += c;
    }
  }
  return out;
}

std::string Unescape(std::string_view value, const Separators& seps) {
  if (value.find(seps.escape) == std::string_view::npos) return std::string(value);
  std::string out;
  out.reserve(value.size());
  size_t i = 0;
  while (i < value.size()) {
    char c = value[i];
    if (c != seps.escape) {
      out += c;
      ++i;
      continue;
    }
    size_t close = value.find(seps.escape, i + 1);
    if (close == std::string_view::npos) {  // unterminated: literal
      out.append(value.substr(i));
      break;
    }
    std::string_view seq = value.substr(i + 1, close - i - 1);
    bool known = true;
    if (seq == "F") {
      out += seps.field;
    } else if (seq == "S") {
      out += seps.component;
    } else if (seq == "T") {
      out += seps.subcomponent;
    } else if (seq == "R") {
      out += seps.repetition;
    } else if (seq == "E") {
      out += seps.escape;
    } else if (seq == "H" || seq == "N") {
      // highlighting on/off: no plain-text equivalent
    } else if (seq == ".br") {
      out += '\n';
    } else if (seq.size() >= 3 && seq[0] == 'X' && (seq.size() - 1) % 2 == 0) {
      std::string bytes;
      for (size_t k = 1; k + 1 < seq.size() + 1 && known; k += 2) {
        int hi = HexValue(seq[k]), lo = HexValue(seq[k + 1]);
        if (hi < 0 || lo < 0) {
          known = false;
        } else {
          bytes += static_cast<char>(hi * 16 + lo);
        }
      }
      if (known) out += bytes;
    } else {
      known = false;
    }
    if (!known) out.append(value.substr(i, close - i + 1));
    i = close + 1;
  }
  return out;
}

std::string FormatDtm(int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S+0000", &tm);
  return buf;
}

std::string NewControlId() {
  static std::atomic<unsigned> counter{0};
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "RF%013lld%04u", ms % 10000000000000LL, counter++ % 10000);
  return buf;
}

namespace {

const char* ConditionText(ErrorCondition c) {
  switch (c) {
    case ErrorCondition::kAccepted:
      return "Message accepted";
    case ErrorCondition::kSegmentSequence:
      return "Segment sequence error";
    case ErrorCondition::kRequiredFieldMissing:
      return "Required field missing";
    case ErrorCondition::kDataTypeError:
      return "Data type error";
    case ErrorCondition::kTableValueNotFound:
      return "Table value not found";
    case ErrorCondition::kUnsupportedMessageType:
      return "Unsupported message type";
    case ErrorCondition::kUnsupportedEventCode:
      return "Unsupported event code";
    case ErrorCondition::kUnsupportedProcessingId:
      return "Unsupported processing id";
    case ErrorCondition::kUnsupportedVersionId:
      return "Unsupported version id";
    case ErrorCondition::kUnknownKeyIdentifier:
      return "Unknown key identifier";
    case ErrorCondition::kDuplicateKeyIdentifier:
      return "Duplicate key identifier";
    case ErrorCondition::kApplicationRecordLocked:
      return "Application record locked";
    case ErrorCondition::kApplicationInternalError:
      return "Application internal error";
  }
  return "Application internal error";
}

std::string NowDtm() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return FormatDtm(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
}

// The ACK of an inbound MSH (or of none): MSH, MSA and, unless AA, ERR.
std::string MakeAck(const Segment* in_msh, std::string_view code, std::string_view text, std::string_view err_location,
                    ErrorCondition condition) {
  Message ack;
  Segment& msh = ack.Add("MSH");
  auto copy = [&](int to, int from) {
    if (in_msh && in_msh->FieldAt(from)) msh.MutableField(to) = *in_msh->FieldAt(from);
  };
  msh.Set(1, "|");
  copy(3, 5);  // sending application <- inbound receiving application
  copy(4, 6);
  copy(5, 3);
  copy(6, 4);
  msh.Set(7, NowDtm());
  const std::string trigger = in_msh ? in_msh->Get(9, 2) : "";
  msh.SetComponents(9, {"ACK", trigger, "ACK"});
  msh.Set(10, NewControlId());
  const std::string processing = in_msh ? in_msh->Get(11) : "";
  msh.Set(11, processing.empty() ? "P" : processing);
  const std::string version = in_msh ? in_msh->Get(12) : "";
  msh.Set(12, version.empty() ? "2.5.1" : version);
  if (in_msh && !in_msh->Get(18).empty()) copy(18, 18);

  Segment& msa = ack.Add("MSA");
  msa.Set(1, std::string(code));
  msa.Set(2, in_msh ? in_msh->Get(10) : "");
  // MSA-3 is kept for v2.3-era receivers (the text is in ERR-8 too).
  msa.Set(3, std::string(text.substr(0, 80)));
  if (code != "AA" && code != "CA") {
    Segment& err = ack.Add("ERR");
    if (!err_location.empty()) {
      // ERR-2 (ERL): segment^sequence^field^repetition^component^subcomponent.
      std::vector<std::string> parts;
      size_t start = 0;
      while (true) {
        size_t p = err_location.find('^', start);
        parts.emplace_back(
            err_location.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
        if (p == std::string_view::npos) break;
        start = p + 1;
      }
      err.SetComponents(2, parts);
    }
    if (condition == ErrorCondition::kAccepted) {
      condition =
          err_location.empty() ? ErrorCondition::kApplicationInternalError : ErrorCondition::kRequiredFieldMissing;
    }
    err.SetComponents(3, {std::to_string(static_cast<int>(condition)), ConditionText(condition), "HL70357"});
    err.Set(4, "E");  // severity (HL7 table 0516)
    err.Set(8, std::string(text));
  }
  return ack.Encode();
}

}  // namespace

std::string BuildAck(const Message& inbound, std::string_view code, std::string_view text,
                     std::string_view err_location, ErrorCondition condition) {
  return MakeAck(inbound.Find("MSH"), code, text, err_location, condition);
}

std::string BuildRejectAck(std::string_view raw, std::string_view text, ErrorCondition condition) {
  // Salvage the MSH line alone: the rest is what failed.
  while (!raw.empty() && (raw.front() == '\r' || raw.front() == '\n')) raw.remove_prefix(1);
  size_t end = raw.find_first_of("\r\n");
  std::string_view first = raw.substr(0, end);
  auto msh = Parse(first);
  const Segment* in_msh = msh.ok() ? msh->Find("MSH") : nullptr;
  return MakeAck(in_msh, "AR", text, "", condition);
}

std::string ErrorLocation(std::string_view error_message) {
  // "SEG-n" or "SEG-n.c" followed by ':'.
  if (error_message.size() < 5 || !ValidSegmentId(error_message.substr(0, 3)) || error_message[3] != '-') return "";
  size_t i = 4;
  std::string field, component;
  while (i < error_message.size() && std::isdigit(static_cast<unsigned char>(error_message[i])))
    field += error_message[i++];
  if (field.empty()) return "";
  if (i < error_message.size() && error_message[i] == '.') {
    ++i;
    while (i < error_message.size() && std::isdigit(static_cast<unsigned char>(error_message[i]))) {
      component += error_message[i++];
    }
  }
  if (i >= error_message.size() || error_message[i] != ':') return "";
  std::string out = std::string(error_message.substr(0, 3)) + "^1^" + field;
  if (!component.empty()) out += "^1^" + component;
  return out;
}

}  // namespace radflow::hl7
