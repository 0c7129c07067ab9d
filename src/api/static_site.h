// A static web site (a directory of files) served under a URL prefix, with the fallback a
// single-page application needs: paths the application routes itself get index.html.
#pragma once

#include <string>
#include <string_view>

#include "http/http_server.h"

namespace radflow::api {

// The Content-Type for a file name, from its extension (case-insensitive);
// "application/octet-stream" when unknown. Text types carry "; charset=utf-8".
std::string_view MimeType(std::string_view file_name);

// What a request path under a mount point names.
struct SitePath {
  enum class Kind {
    kFile,       // `relative`, a file inside the root; 404 when missing
    kIndex,      // an application route (no extension, or the mount itself): index.html
    kForbidden,  // "..", "." or a NUL byte in the path: 403
    kNotFound,   // outside the mount, or a hidden (dot) file: 404
  };
  Kind kind = Kind::kNotFound;
  std::string relative;  // kFile: "a/b.js" (no leading slash, no empty segments)
};

// Maps a decoded request path to a file. `mount` starts and ends with '/' ("/ohif/");
// the mount without its final slash ("/ohif") is the application's start page too.
SitePath ResolveSitePath(std::string_view mount, std::string_view path);

// The Cache-Control value for a served file: "no-cache" for the entry page and the
// configuration (index.html, app-config.js), which must be revalidated so that new
// versions are seen; a year for files whose name carries a content hash
// ("app.bundle.0f6159c501addfe9.js"); a day for the others.
std::string_view CacheControlFor(std::string_view relative);

// GET handler serving the files under `root_dir` at `mount` (see ResolveSitePath). Missing
// files with an extension get 404, except for a browser navigation (Accept: text/html),
// which gets index.html like any application route. Files are read whole into the body
// (the server compresses text types itself).
http::Handler StaticSite(std::string root_dir, std::string mount);

}  // namespace radflow::api
