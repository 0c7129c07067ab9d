// The pieces of the S3 client that need no server: the XML answers, the error mapping,
// s3:// URLs and the credentials file.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "objstore/s3_client.h"
#include "objstore/s3_xml.h"

namespace radflow::objstore {
namespace {

TEST(S3Xml, ParsesAnErrorDocument) {
  // The shape of S3's error answers (Amazon S3 API Reference, "Error responses").
  const std::string body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code>"
      "<Message>The request signature we calculated does not match &amp; so on</Message>"
      "<StringToSign>x</StringToSign><RequestId>4442587FB7D0A2F9</RequestId></Error>";
  auto e = ParseS3Error(body);
  EXPECT_EQ(e.code, "SignatureDoesNotMatch");
  EXPECT_EQ(e.message, "The request signature we calculated does not match & so on");
  EXPECT_EQ(e.request_id, "4442587FB7D0A2F9");
  EXPECT_TRUE(ParseS3Error("<CompleteMultipartUploadResult/>").code.empty());
  EXPECT_TRUE(ParseS3Error("").code.empty());
}

TEST(S3Xml, ReadsListingBlocksWithoutConfusingPrefixes) {
  const std::string body =
      "<ListBucketResult><Name>b</Name><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>"
      "<Contents><Key>p/a&amp;b.dcm</Key><Size>5</Size><ETag>&quot;abc&quot;</ETag></Contents>"
      "<Contents><Key>p/c.dcm</Key><Size>70000000000</Size></Contents>"
      "<NextContinuationToken>tok/=+</NextContinuationToken></ListBucketResult>";
  auto blocks = XmlBlocks(body, "Contents");
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(XmlElement(blocks[0], "Key").value(), "p/a&b.dcm");  // decoded once
  EXPECT_EQ(XmlElement(blocks[0], "ETag").value(), "\"abc\"");
  EXPECT_EQ(XmlElement(blocks[1], "Size").value(), "70000000000");
  EXPECT_EQ(XmlElement(body, "Key"), std::optional<std::string>("p/a&b.dcm"));  // not <KeyCount>
  EXPECT_EQ(XmlElement(body, "NextContinuationToken").value(), "tok/=+");
  EXPECT_EQ(XmlDecode("&#65;&#x42;&#xe9;&bogus;"), "AB\xc3\xa9&bogus;");
  EXPECT_EQ(XmlEscape("\"a\"&<b>"), "&quot;a&quot;&amp;&lt;b&gt;");
  // <UploadId> inside <Upload>: the block ends at </Upload>, not at </UploadId>.
  auto uploads = XmlBlocks("<R><Upload><Key>k</Key><UploadId>u1</UploadId></Upload></R>", "Upload");
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(XmlElement(uploads[0], "UploadId").value(), "u1");
}

TEST(S3Errors, MapToStatusCodes) {
  EXPECT_EQ(ErrorCodeFor("NoSuchKey", 404), ErrorCode::kNotFound);
  EXPECT_EQ(ErrorCodeFor("NoSuchUpload", 404), ErrorCode::kNotFound);
  EXPECT_EQ(ErrorCodeFor("", 404), ErrorCode::kNotFound);  // HEAD: no body
  EXPECT_EQ(ErrorCodeFor("AccessDenied", 403), ErrorCode::kPermissionDenied);
  EXPECT_EQ(ErrorCodeFor("SignatureDoesNotMatch", 403), ErrorCode::kUnauthenticated);
  EXPECT_EQ(ErrorCodeFor("InvalidAccessKeyId", 403), ErrorCode::kUnauthenticated);
  EXPECT_EQ(ErrorCodeFor("SlowDown", 503), ErrorCode::kUnavailable);
  EXPECT_EQ(ErrorCodeFor("InternalError", 500), ErrorCode::kUnavailable);
  EXPECT_EQ(ErrorCodeFor("", 502), ErrorCode::kUnavailable);
  EXPECT_EQ(ErrorCodeFor("BadDigest", 400), ErrorCode::kIoError);
  EXPECT_EQ(ErrorCodeFor("InvalidRange", 416), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ErrorCodeFor("EntityTooSmall", 400), ErrorCode::kInvalidArgument);
}

TEST(S3Url, SplitsBucketAndPrefix) {
  auto p = ParseS3Url("s3://radflow-blobs/site-a/blobs/");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->first, "radflow-blobs");
  EXPECT_EQ(p->second, "site-a/blobs");
  EXPECT_EQ(ParseS3Url("s3://b")->second, "");
  EXPECT_FALSE(ParseS3Url("s3:///x").ok());
  EXPECT_FALSE(ParseS3Url("/srv/blobs").ok());
}

TEST(S3Credentials, ReadsAProfileOfTheSharedFile) {
  auto dir = std::filesystem::temp_directory_path() / ("radflow-creds-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "credentials").string();
  std::ofstream(path) << "[default]\naws_access_key_id = AK1\naws_secret_access_key=SK1\n\n"
                         "# a comment\n[hub]\naws_access_key_id=AK2\naws_secret_access_key = SK2\n"
                         "aws_session_token = TOK\n";
  auto d = S3Credentials::FromFile(path, "default");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->access_key, "AK1");
  EXPECT_EQ(d->secret_key, "SK1");
  EXPECT_TRUE(d->session_token.empty());
  auto h = S3Credentials::FromFile(path, "hub");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->session_token, "TOK");
  auto missing = S3Credentials::FromFile(path, "nope");
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.status().message().find("[nope]"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace radflow::objstore
