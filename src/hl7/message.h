// HL7 v2 messages (HL7 v2.5.1 Chapter 2, "Control"): parse and build the ER7 encoding —
// segments ended by <CR>, fields by MSH-1, repetitions, components and subcomponents by the
// characters of MSH-2, escape sequences (2.7.4) — and the original-mode acknowledgment
// (2.9.2: ACK with MSA and ERR). Values are held decoded; Encode() escapes them again.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace radflow::hl7 {

// The delimiters of a message (MSH-1, MSH-2); HL7's recommended values by default.
struct Separators {
  char field = '|';
  char component = '^';
  char repetition = '~';
  char escape = '\\';
  char subcomponent = '&';
};

// One repetition of a field: components, each a list of subcomponents (all decoded).
using Repetition = std::vector<std::vector<std::string>>;

struct Field {
  std::vector<Repetition> repetitions;  // empty: the field is empty
  bool empty() const;
};

class Segment {
 public:
  explicit Segment(std::string id = "");

  const std::string& id() const { return id_; }
  // The highest field number present (MSH counts MSH-1 and MSH-2).
  int field_count() const { return static_cast<int>(fields_.size()); }

  // The decoded value at field-repetition-component-subcomponent (all 1-based); "" when
  // absent. For MSH, Get(1) is the field separator and Get(2) the encoding characters.
  std::string Get(int field, int component = 1, int subcomponent = 1, int repetition = 1) const;
  // The number of repetitions of a field (0 when empty).
  int Repetitions(int field) const;
  // The component values of one repetition, subcomponents joined by `sub` (for display).
  std::vector<std::string> Components(int field, int repetition = 1) const;
  const Field* FieldAt(int field) const;  // null when absent

  // Builders: a plain value (one component), a list of components (each one value), or one
  // component's subcomponents. Values are plain text; Encode() escapes separators in them.
  Segment& Set(int field, std::string value);
  Segment& SetComponents(int field, std::vector<std::string> components, int repetition = 1);
  Segment& SetSubcomponents(int field, int component, std::vector<std::string> subcomponents, int repetition = 1);
  Field& MutableField(int field);  // grows the segment as needed

 private:
  std::string id_;
  std::vector<Field> fields_;  // fields_[i] is field i+1
};

class Message {
 public:
  Separators separators;
  std::vector<Segment> segments;

  // The n-th segment (1-based) with this id, null when there is none.
  const Segment* Find(std::string_view id, int occurrence = 1) const;
  std::vector<const Segment*> FindAll(std::string_view id) const;
  Segment& Add(std::string id);

  // MSH-9 as "ORU^R01" (message code ^ trigger event), MSH-10, MSH-12.
  std::string Type() const;
  std::string ControlId() const;
  std::string Version() const;

  // ER7 text: every segment ended by <CR> (2.5.3). MSH-1/MSH-2 come from `separators`.
  std::string Encode() const;
};

// Parses ER7 text. Tolerant of <LF> or <CR><LF> segment endings and of blank lines.
// kInvalidArgument naming the segment and field: "MSH: message does not start with MSH",
// "MSH-2: encoding characters ...", "segment 3: bad segment id 'P1'".
Result<Message> Parse(std::string_view text);

// Escapes the delimiters and control characters of a plain value (2.7.4): \F\ \S\ \T\ \R\ \E\ for
// the delimiters, \X0D\ \X0A\ for <CR> and <LF>.
std::string Escape(std::string_view value, const Separators& seps);
// Decodes escape sequences; \H\ \N\ (highlight) are dropped, \.br\ becomes <LF>, \Xhh..\ the
// bytes it names; an unknown or unterminated sequence is kept literally.
std::string Unescape(std::string_view value, const Separators& seps);

// "YYYYMMDDHHMMSS+0000" (DTM, 2.A.22) for milliseconds since the epoch, in UTC.
std::string FormatDtm(int64_t unix_ms);
// A new message control id (MSH-10, ST of at most 20 characters): time and a counter.
std::string NewControlId();

// HL7 table 0357 (message error condition codes) used in ERR-3.
enum class ErrorCondition {
  kAccepted = 0,
  kSegmentSequence = 100,
  kRequiredFieldMissing = 101,
  kDataTypeError = 102,
  kTableValueNotFound = 103,
  kUnsupportedMessageType = 200,
  kUnsupportedEventCode = 201,
  kUnsupportedProcessingId = 202,
  kUnsupportedVersionId = 203,
  kUnknownKeyIdentifier = 204,
  kDuplicateKeyIdentifier = 205,
  kApplicationRecordLocked = 206,
  kApplicationInternalError = 207,
};

// The original-mode acknowledgment of `inbound` (2.9.2): MSH with sending and receiving
// application/facility swapped, MSH-9 ACK^<trigger>^ACK, a new MSH-10, MSA-1 `code` ("AA",
// "AE", "AR"), MSA-2 the inbound MSH-10, MSA-3 `text`; for AE/AR an ERR segment with ERR-2
// `err_location` (ERL "PID^1^3": segment^sequence^field; "" none), ERR-3 the condition
// (default: 207 application internal error, 101 when `err_location` names a field), ERR-4
// severity E and ERR-8 `text`.
std::string BuildAck(const Message& inbound, std::string_view code, std::string_view text,
                     std::string_view err_location = "", ErrorCondition condition = ErrorCondition::kAccepted);
// The acknowledgment of bytes that did not parse as a message (AR, ERR-3 102 "data type
// error" unless given): what can be read of its MSH is used, the rest left empty.
std::string BuildRejectAck(std::string_view raw, std::string_view text,
                           ErrorCondition condition = ErrorCondition::kDataTypeError);

// The ERL location of an error message that starts with "SEG-n" or "SEG-n.c" (the form of
// this module's errors): "PID-3: missing ..." -> "PID^1^3", "OBR-25.1: ..." -> "OBR^1^25^1^1";
// "" when the message names no field.
std::string ErrorLocation(std::string_view error_message);

}  // namespace radflow::hl7
