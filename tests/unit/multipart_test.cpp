#include "api/multipart.h"

#include <gtest/gtest.h>

namespace radflow::api {

namespace {
struct Collected {
  std::vector<std::map<std::string, std::string>> headers;
  std::vector<std::string> bodies;
};

MultipartParser::Callbacks Collect(Collected* c) {
  MultipartParser::Callbacks cb;
  cb.part_begin = [c](const std::map<std::string, std::string>& h) {
    c->headers.push_back(h);
    c->bodies.emplace_back();
    return Status::Ok();
  };
  cb.part_data = [c](std::string_view d) {
    c->bodies.back().append(d);
    return Status::Ok();
  };
  cb.part_end = [] { return Status::Ok(); };
  return cb;
}

const std::string kBody =
    "preamble\r\n--xyz\r\nContent-Type: application/dicom\r\n\r\nfirst\r\n--xyz\r\n"
    "Content-Type: application/dicom\r\nContent-Length: 6\r\n\r\nsec\r\nd\r\n--xyz--\r\nepilogue";
}  // namespace

TEST(MediaType, ParsesParametersAndQuotes) {
  auto m = ParseMediaType("Multipart/Related; type=\"application/dicom\"; boundary=abc;x=\"a;b\"");
  EXPECT_EQ(m[""], "multipart/related");
  EXPECT_EQ(m["type"], "application/dicom");
  EXPECT_EQ(m["boundary"], "abc");
  EXPECT_EQ(m["x"], "a;b");
}

TEST(Multipart, ParsesPartsWhateverThePieceSize) {
  for (size_t piece : {1u, 2u, 3u, 7u, 1000u}) {
    Collected c;
    MultipartParser p("xyz", Collect(&c));
    for (size_t i = 0; i < kBody.size(); i += piece) {
      ASSERT_TRUE(p.Feed(std::string_view(kBody).substr(i, piece)).ok()) << piece;
    }
    ASSERT_TRUE(p.Finish().ok()) << piece;
    ASSERT_EQ(c.bodies.size(), 2u) << piece;
    EXPECT_EQ(c.bodies[0], "first");
    EXPECT_EQ(c.bodies[1], "sec\r\nd");  // CRLF inside a part is data
    EXPECT_EQ(c.headers[1]["content-length"], "6");
  }
}

TEST(Multipart, BodyStartingWithTheDelimiter) {
  Collected c;
  MultipartParser p("b", Collect(&c));
  ASSERT_TRUE(p.Feed("--b\r\n\r\nx\r\n--b--").ok());
  ASSERT_TRUE(p.Finish().ok());
  ASSERT_EQ(c.bodies.size(), 1u);
  EXPECT_EQ(c.bodies[0], "x");
}

TEST(Multipart, MalformedBodiesAreErrors) {
  {
    Collected c;
    MultipartParser p("xyz", Collect(&c));
    ASSERT_TRUE(p.Feed("no delimiter at all").ok());
    EXPECT_FALSE(p.Finish().ok());
  }
  {
    Collected c;
    MultipartParser p("xyz", Collect(&c));
    ASSERT_TRUE(p.Feed("--xyz\r\nContent-Type: a\r\n\r\ntruncated part").ok());
    EXPECT_FALSE(p.Finish().ok());  // no close delimiter
  }
  {
    Collected c;
    MultipartParser p("xyz", Collect(&c));
    EXPECT_FALSE(p.Feed("--xyz\r\nno colon header\r\n\r\nx\r\n--xyz--").ok());
  }
}

TEST(Multipart, WriterRoundTrips) {
  std::string body = PartHeader("B", "application/dicom", 3) + "abc\r\n" +
                     PartHeader("B", "application/dicom") + "de\r\n" + CloseDelimiter("B");
  Collected c;
  MultipartParser p("B", Collect(&c));
  ASSERT_TRUE(p.Feed(body).ok());
  ASSERT_TRUE(p.Finish().ok());
  EXPECT_EQ(c.bodies, (std::vector<std::string>{"abc", "de"}));
}

}  // namespace radflow::api
