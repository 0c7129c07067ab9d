// The few XML shapes S3 answers with (Error, ListBucketResult, InitiateMultipartUploadResult,
// CompleteMultipartUploadResult, ListMultipartUploadsResult): flat elements whose text is
// read by tag name. Not a general XML parser: S3's answers have no attributes that matter,
// no CDATA and no nesting of an element inside one of the same name.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace radflow::objstore {

// The text of every <tag>…</tag> (or nothing for <tag/>) in order, entity-decoded.
std::vector<std::string> XmlElements(std::string_view xml, std::string_view tag);
// The raw (undecoded) content of every <tag>…</tag>: a block whose children are then read
// with XmlElements (<Contents> of a listing, <Upload> of ListMultipartUploads).
std::vector<std::string_view> XmlBlocks(std::string_view xml, std::string_view tag);
// The first one, if any.
std::optional<std::string> XmlElement(std::string_view xml, std::string_view tag);
// &amp; &lt; &gt; &quot; &apos; and numeric references (&#NN; &#xNN;).
std::string XmlDecode(std::string_view text);
// The reverse, for the text we put in a CompleteMultipartUpload body.
std::string XmlEscape(std::string_view text);

// An S3 <Error> document's Code, Message and RequestId; empty code when the body is none.
struct S3ErrorBody {
  std::string code, message, request_id;
};
S3ErrorBody ParseS3Error(std::string_view body);

}  // namespace radflow::objstore
