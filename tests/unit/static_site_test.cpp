#include "api/static_site.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "api/ohif.h"

namespace radflow::api {
namespace {

namespace fs = std::filesystem;
using Kind = SitePath::Kind;

std::string Header(const http::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

http::Request Get(const std::string& path, const std::string& accept = "*/*") {
  http::Request r;
  r.method = "GET";
  r.target = path;
  r.path = path;
  r.headers["accept"] = accept;
  return r;
}

TEST(MimeType, KnownExtensions) {
  EXPECT_EQ(MimeType("app.bundle.0f6159c501addfe9.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(MimeType("worker.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(MimeType("0ddf166f7a343eda.wasm"), "application/wasm");
  EXPECT_EQ(MimeType("app.bundle.css"), "text/css; charset=utf-8");
  EXPECT_EQ(MimeType("manifest.json"), "application/json");
  EXPECT_EQ(MimeType("x.js.map"), "application/json");
  EXPECT_EQ(MimeType("a34f9d1faa5f3315.woff2"), "font/woff2");
  EXPECT_EQ(MimeType("f.woff"), "font/woff");
  EXPECT_EQ(MimeType("f.ttf"), "font/ttf");
  EXPECT_EQ(MimeType("assets/ohif-logo.svg"), "image/svg+xml");
  EXPECT_EQ(MimeType("assets/favicon-16x16.png"), "image/png");
  EXPECT_EQ(MimeType("assets/favicon.ico"), "image/x-icon");
  EXPECT_EQ(MimeType("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(MimeType("LICENSE.txt"), "text/plain; charset=utf-8");
}

TEST(MimeType, CaseInsensitiveAndUnknown) {
  EXPECT_EQ(MimeType("LOGO.PNG"), "image/png");
  EXPECT_EQ(MimeType("Index.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(MimeType("data.bin"), "application/octet-stream");
  EXPECT_EQ(MimeType("README"), "application/octet-stream");
  EXPECT_EQ(MimeType(".hidden"), "application/octet-stream");
  EXPECT_EQ(MimeType("dir.d/file"), "application/octet-stream");
}

TEST(ResolveSitePath, MountItselfIsTheApplication) {
  EXPECT_EQ(ResolveSitePath("/ohif/", "/ohif").kind, Kind::kIndex);
  EXPECT_EQ(ResolveSitePath("/ohif/", "/ohif/").kind, Kind::kIndex);
}

TEST(ResolveSitePath, RoutesWithoutExtensionGetIndex) {
  EXPECT_EQ(ResolveSitePath("/ohif/", "/ohif/viewer").kind, Kind::kIndex);
  EXPECT_EQ(ResolveSitePath("/ohif/", "/ohif/viewer/dicomweb").kind, Kind::kIndex);
  EXPECT_EQ(ResolveSitePath("/ohif/", "/ohif/assets/").kind, Kind::kIndex);
}

TEST(ResolveSitePath, FilesWithExtension) {
  auto p = ResolveSitePath("/ohif/", "/ohif/app.bundle.0f6159c501addfe9.js");
  EXPECT_EQ(p.kind, Kind::kFile);
  EXPECT_EQ(p.relative, "app.bundle.0f6159c501addfe9.js");
  p = ResolveSitePath("/ohif/", "/ohif/assets//favicon.ico");
  EXPECT_EQ(p.kind, Kind::kFile);
  EXPECT_EQ(p.relative, "assets/favicon.ico");
}

TEST(ResolveSitePath, TraversalIsForbidden) {
  EXPECT_EQ(ResolveSitePath("/ohif/", "/ohif/../etc/passwd").kind, Kind::kForbidden);
  EXPECT_EQ(ResolveSitePath("/ohif/", "/ohif/assets/../../x.js").kind, Kind::kForbidden);
  EXPECT_EQ(ResolveSitePath("/ohif/", "/ohif/./index.html").kind, Kind::kForbidden);
  EXPECT_EQ(ResolveSitePath("/ohif/", "/ohif/..").kind, Kind::kForbidden);
  EXPECT_EQ(ResolveSitePath("/ohif/", "/ohif/a\\..\\b.js").kind, Kind::kForbidden);
  EXPECT_EQ(ResolveSitePath("/ohif/", std::string_view("/ohif/a\0.js", 11)).kind,
            Kind::kForbidden);
}

TEST(ResolveSitePath, OutsideMountAndHiddenFilesAreNotFound) {
  EXPECT_EQ(ResolveSitePath("/ohif/", "/ohifx/index.html").kind, Kind::kNotFound);
  EXPECT_EQ(ResolveSitePath("/ohif/", "/other").kind, Kind::kNotFound);
  EXPECT_EQ(ResolveSitePath("/ohif/", "/ohif/.radflow-install").kind, Kind::kNotFound);
  EXPECT_EQ(ResolveSitePath("/ohif/", "/ohif/.git/config").kind, Kind::kNotFound);
}

TEST(CacheControl, EntryPointsRevalidateHashedFilesAreImmutable) {
  EXPECT_EQ(CacheControlFor("index.html"), "no-cache");
  EXPECT_EQ(CacheControlFor("app-config.js"), "no-cache");
  EXPECT_EQ(CacheControlFor("app.bundle.0f6159c501addfe9.js"),
            "public, max-age=31536000, immutable");
  EXPECT_EQ(CacheControlFor("0ddf166f7a343eda.wasm"), "public, max-age=31536000, immutable");
  EXPECT_EQ(CacheControlFor("app.bundle.css"), "public, max-age=86400");
  EXPECT_EQ(CacheControlFor("assets/favicon.ico"), "public, max-age=86400");
  EXPECT_EQ(CacheControlFor("1602.css"), "public, max-age=86400");
}

class StaticSiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("radflow-static-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "site" / "assets");
    fs::create_directories(root_ / "site" / "chunks.d");
    Write("site/index.html", "<html>app</html>");
    Write("site/app.bundle.0f6159c501addfe9.js", "console.log(1)");
    Write("site/assets/logo.svg", "<svg/>");
    Write("secret.txt", "outside");
    fs::create_symlink(root_ / "secret.txt", root_ / "site" / "link.txt");
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const std::string& rel, const std::string& data) {
    std::ofstream(root_ / rel, std::ios::binary) << data;
  }
  fs::path root_;
};

TEST_F(StaticSiteTest, ServesFilesWithTypeAndCaching) {
  auto site = StaticSite((root_ / "site").string(), "/app/");
  auto r = site(Get("/app/app.bundle.0f6159c501addfe9.js"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "console.log(1)");
  EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(Header(r, "Cache-Control"), "public, max-age=31536000, immutable");
  r = site(Get("/app/assets/logo.svg"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "image/svg+xml");
}

TEST_F(StaticSiteTest, SpaFallbackAndRealNotFound) {
  auto site = StaticSite((root_ / "site").string(), "/app/");
  for (const char* path : {"/app", "/app/", "/app/viewer", "/app/viewer/x/y"}) {
    auto r = site(Get(path));
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body, "<html>app</html>") << path;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8") << path;
    EXPECT_EQ(Header(r, "Cache-Control"), "no-cache") << path;
  }
  EXPECT_EQ(site(Get("/app/missing.js")).status, 404);
  EXPECT_EQ(site(Get("/app/assets/missing.png")).status, 404);
  // A directory is not a file.
  EXPECT_EQ(site(Get("/app/chunks.d")).status, 404);
  // A browser navigating to a route with a dotted UID in it gets the application.
  auto nav = site(Get("/app/viewer/1.2.840.113619", "text/html,application/xhtml+xml"));
  EXPECT_EQ(nav.status, 200);
  EXPECT_EQ(nav.body, "<html>app</html>");
}

TEST_F(StaticSiteTest, RefusesTraversalAndLinksOutOfTheSite) {
  auto site = StaticSite((root_ / "site").string(), "/app/");
  EXPECT_EQ(site(Get("/app/../secret.txt")).status, 403);
  EXPECT_EQ(site(Get("/app/assets/../../secret.txt")).status, 403);
  EXPECT_EQ(site(Get("/app/link.txt")).status, 404);
}

TEST_F(StaticSiteTest, OhifRoutesThroughTheServer) {
  http::HttpServer server;
  RegisterOhif(server, (root_ / "site").string());
  RegisterWebUi(server);

  auto config = server.Dispatch(Get("/ohif/app-config.js"));
  EXPECT_EQ(config.status, 200);
  EXPECT_EQ(config.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(Header(config, "Cache-Control"), "no-cache");
  for (const char* field :
       {"routerBasename: '/ohif'", "qidoRoot: '/dicom-web'", "wadoRoot: '/dicom-web'",
        "wadoUriRoot: '/dicom-web'", "qidoSupportsIncludeField: true",
        "imageRendering: 'wadors'", "thumbnailRendering: 'wadors'",
        "enableStudyLazyLoad: true", "supportsFuzzyMatching: true", "supportsWildcard: true",
        "omitQuotationForMultipartRequest: true", "bulkDataURI: { enabled: true }",
        "'ohif.tours': { $set: [] }", "investigationalUseDialog: { option: 'never' }",
        "window.__filename = ''"}) {
    EXPECT_NE(config.body.find(field), std::string::npos) << field;
  }

  EXPECT_EQ(server.Dispatch(Get("/ohif")).body, "<html>app</html>");
  EXPECT_EQ(server.Dispatch(Get("/ohif/viewer")).body, "<html>app</html>");
  EXPECT_EQ(server.Dispatch(Get("/ohif/assets/logo.svg")).body, "<svg/>");
  EXPECT_EQ(server.Dispatch(Get("/ohif/nope.js")).status, 404);

  auto home = server.Dispatch(Get("/"));
  EXPECT_EQ(home.status, 200);
  EXPECT_EQ(home.content_type, "text/html; charset=utf-8");
  EXPECT_NE(home.body.find("/dicom-web/studies?includefield=all"), std::string::npos);
  EXPECT_NE(home.body.find("/ohif/viewer?StudyInstanceUIDs="), std::string::npos);
}

TEST_F(StaticSiteTest, OhifNotInstalledAnswers503) {
  http::HttpServer server;
  RegisterOhif(server, (root_ / "no-such-dir").string());
  for (const char* path : {"/ohif", "/ohif/", "/ohif/viewer", "/ohif/app.bundle.js"}) {
    auto r = server.Dispatch(Get(path));
    EXPECT_EQ(r.status, 503) << path;
    EXPECT_NE(r.body.find("make setup"), std::string::npos) << path;
  }
  // The configuration is generated, not read from the directory.
  EXPECT_EQ(server.Dispatch(Get("/ohif/app-config.js")).status, 200);
}

}  // namespace
}  // namespace radflow::api
