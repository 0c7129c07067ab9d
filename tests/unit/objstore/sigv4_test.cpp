// The SigV4 signer against AWS's published values. Sources (the expected strings below are
// copied from them, not computed by this code):
//  - AWS General Reference, "Signature Version 4 test suite" (aws-sig-v4-test-suite: the
//    get-vanilla, post-vanilla, post-vanilla-query and get-header-value-trim cases; key
//    AKIDEXAMPLE, secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, region us-east-1,
//    service "service", 20150830T123600Z), also vendored by botocore (tests/unit/auth/
//    aws4_testsuite) and @aws-sdk/signature-v4 (suite.fixture).
//  - Amazon S3 API Reference, "Authenticating Requests: Using the Authorization Header
//    (AWS Signature Version 4)" → "Examples: Signature Calculations" (GET Object with
//    Range, PUT Object, GET Bucket Lifecycle, GET Bucket (List Objects); key
//    AKIAIOSFODNN7EXAMPLE, secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, bucket
//    examplebucket, 20130524T000000Z).
#include "objstore/sigv4.h"

#include <gtest/gtest.h>

#include "crypto/crypto.h"

namespace radflow::objstore {
namespace {

const char* kSuiteKey = "AKIDEXAMPLE";
const char* kSuiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const char* kS3Key = "AKIAIOSFODNN7EXAMPLE";
const char* kS3Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

SigningParams Suite() { return {kSuiteKey, kSuiteSecret, "us-east-1", "service", "20150830T123600Z"}; }
SigningParams S3Example() { return {kS3Key, kS3Secret, "us-east-1", "s3", "20130524T000000Z"}; }

// Built with designated initializers, not assignments: g++ 12 warns falsely on assigning a
// short literal to a std::string member here (-Wrestrict).
SigningRequest SuiteRequest(const std::string& method) {
  return SigningRequest{.method = method,
                        .canonical_uri = "/",
                        .query = {},
                        .headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}},
                        .payload_hash = std::string(kEmptyPayloadHash)};
}

TEST(SigV4Suite, GetVanilla) {
  auto s = SignV4(SuiteRequest("GET"), Suite());
  EXPECT_EQ(s.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(s.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Suite, PostVanilla) {
  auto s = SignV4(SuiteRequest("POST"), Suite());
  EXPECT_EQ(s.signature, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST(SigV4Suite, PostVanillaQuery) {
  auto r = SuiteRequest("POST");
  r.query = {{"Param1", "value1"}};
  auto s = SignV4(r, Suite());
  EXPECT_EQ(s.canonical_request,
            "POST\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd");
  EXPECT_EQ(s.signature, "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11");
}

TEST(SigV4Suite, GetHeaderValueTrim) {
  auto r = SuiteRequest("GET");
  r.headers.emplace_back("My-Header1", " value1");
  r.headers.emplace_back("My-Header2", " \"a   b   c\"");
  auto s = SignV4(r, Suite());
  EXPECT_EQ(s.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
            "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(crypto::Sha256Hex(s.canonical_request), "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7");
  EXPECT_EQ(s.signature, "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
}

// S3 "Examples: Signature Calculations" — GET Object, the first 10 bytes of test.txt.
TEST(SigV4S3Examples, GetObjectWithRange) {
  SigningRequest r;
  r.method = "GET";
  r.canonical_uri = UriEncode("/test.txt", false);  // a path: '/' stays
  r.payload_hash = std::string(kEmptyPayloadHash);
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", std::string(kEmptyPayloadHash)},
               {"x-amz-date", "20130524T000000Z"}};
  auto s = SignV4(r, S3Example());
  EXPECT_EQ(s.canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

// PUT Object "test$file.text" with a body: the key's '$' is percent-encoded in the path.
TEST(SigV4S3Examples, PutObject) {
  const std::string body = "Welcome to Amazon S3.";
  SigningRequest r;
  r.method = "PUT";
  r.canonical_uri = UriEncode("/test$file.text", false);
  r.payload_hash = crypto::Sha256Hex(body);
  EXPECT_EQ(r.payload_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"x-amz-date", "20130524T000000Z"},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
               {"x-amz-content-sha256", r.payload_hash}};
  auto s = SignV4(r, S3Example());
  EXPECT_EQ(s.canonical_request.substr(0, 23), "PUT\n/test%24file.text\n\n");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  EXPECT_EQ(s.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

SigningRequest S3BucketGet(KeyValues query) {
  return SigningRequest{.method = "GET",
                        .canonical_uri = "/",
                        .query = std::move(query),
                        .headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                                    {"x-amz-date", "20130524T000000Z"},
                                    {"x-amz-content-sha256", std::string(kEmptyPayloadHash)}},
                        .payload_hash = std::string(kEmptyPayloadHash)};
}

// GET Bucket Lifecycle: a sub-resource without a value signs as "lifecycle=".
TEST(SigV4S3Examples, GetBucketLifecycle) {
  auto s = SignV4(S3BucketGet({{"lifecycle", ""}}), S3Example());
  EXPECT_NE(s.canonical_request.find("\n/\nlifecycle=\n"), std::string::npos);
  EXPECT_EQ(s.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

// GET Bucket (List Objects): query parameters sorted by name whatever order they came in.
TEST(SigV4S3Examples, ListObjects) {
  auto s = SignV4(S3BucketGet({{"prefix", "J"}, {"max-keys", "2"}}), S3Example());
  EXPECT_NE(s.canonical_request.find("\n/\nmax-keys=2&prefix=J\n"), std::string::npos);
  EXPECT_EQ(s.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, UriEncodeKeepsUnreservedAndSlashInPaths) {
  EXPECT_EQ(UriEncode("ab/c d+e~f_g.h-i", false), "ab/c%20d%2Be~f_g.h-i");
  EXPECT_EQ(UriEncode("ab/c", true), "ab%2Fc");
  EXPECT_EQ(UriEncode("\xc3\xa9", true), "%C3%A9");
  EXPECT_EQ(CanonicalQueryString({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(CanonicalQueryString({{"uploadId", "a/b=c"}, {"partNumber", "2"}}), "partNumber=2&uploadId=a%2Fb%3Dc");
}

TEST(SigV4, AmzDateIsUtcBasicFormat) {
  using namespace std::chrono;
  // 2015-08-30T12:36:00Z = 1440938160 s after the epoch.
  EXPECT_EQ(AmzDate(system_clock::time_point(seconds(1440938160))), "20150830T123600Z");
}

}  // namespace
}  // namespace radflow::objstore
