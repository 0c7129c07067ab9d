#include "api/static_site.h"

#include <map>
#include <memory>
#include <mutex>

#include "http/compression.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <utility>

namespace radflow::api {

namespace fs = std::filesystem;

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The extension of the last path segment, without the dot; "" when there is none (a
// leading dot, as in ".hidden", is not an extension).
std::string_view Extension(std::string_view name) {
  auto slash = name.rfind('/');
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return {};
  return name.substr(dot + 1);
}

std::string_view BaseName(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// A dot-separated part of at least 8 hexadecimal digits, as bundlers put in file names.
bool HasContentHash(std::string_view name) {
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view part = name.substr(start, end - start);
    bool hex = part.size() >= 8 && std::all_of(part.begin(), part.end(), [](char c) {
                 return std::isxdigit(static_cast<unsigned char>(c)) != 0;
               });
    bool digit = std::any_of(part.begin(), part.end(),
                             [](char c) { return c >= '0' && c <= '9'; });
    bool letter = std::any_of(part.begin(), part.end(),
                              [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
    if (hex && digit && letter) return true;
    start = end + 1;
  }
  return false;
}

std::optional<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string data;
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (!ec) data.reserve(size);
  data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return data;
}

}  // namespace

std::string_view MimeType(std::string_view file_name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 24> kTypes{{
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"json", "application/json"},
      {"jsonc", "application/json"},
      {"map", "application/json"},
      {"wasm", "application/wasm"},
      {"txt", "text/plain; charset=utf-8"},
      {"xml", "text/xml; charset=utf-8"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"ico", "image/x-icon"},
      {"woff2", "font/woff2"},
      {"woff", "font/woff"},
      {"ttf", "font/ttf"},
      {"otf", "font/otf"},
      {"webmanifest", "application/manifest+json"},
      {"pdf", "application/pdf"},
  }};
  const std::string ext = Lower(Extension(file_name));
  for (const auto& [e, type] : kTypes) {
    if (e == ext) return type;
  }
  return "application/octet-stream";
}

SitePath ResolveSitePath(std::string_view mount, std::string_view path) {
  SitePath out;
  std::string_view bare = mount.substr(0, mount.size() - 1);  // "/ohif"
  if (path == bare || path == mount) {
    out.kind = SitePath::Kind::kIndex;
    return out;
  }
  if (path.substr(0, mount.size()) != mount) return out;  // kNotFound
  path.remove_prefix(mount.size());

  std::string relative;
  bool hidden = false;
  while (!path.empty()) {
    auto slash = path.find('/');
    std::string_view segment = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
    if (segment.empty()) continue;  // "a//b"
    if (segment == "." || segment == ".." || segment.find('\0') != std::string_view::npos ||
        segment.find('\\') != std::string_view::npos) {
      out.kind = SitePath::Kind::kForbidden;
      return out;
    }
    if (segment.front() == '.') hidden = true;
    if (!relative.empty()) relative += '/';
    relative += segment;
  }
  if (hidden) return out;  // kNotFound: nothing of the install's own (.radflow-install)
  if (relative.empty() || Extension(relative).empty()) {
    out.kind = SitePath::Kind::kIndex;
    return out;
  }
  out.kind = SitePath::Kind::kFile;
  out.relative = std::move(relative);
  return out;
}

std::string_view CacheControlFor(std::string_view relative) {
  const std::string_view name = BaseName(relative);
  if (name == "index.html" || name == "app-config.js") return "no-cache";
  if (HasContentHash(name)) return "public, max-age=31536000, immutable";
  return "public, max-age=86400";
}

namespace {

// gzip'ed copies of the site's text files, made once per file version: OHIF's main bundle
// is 17 MB and takes 0.2 s to compress.
class GzipCache {
 public:
  std::shared_ptr<const std::string> Get(const fs::path& file, const std::string& data) {
    std::error_code ec;
    const auto mtime = fs::last_write_time(file, ec);
    std::lock_guard<std::mutex> g(mu_);
    auto it = entries_.find(file.string());
    if (it != entries_.end() && it->second.mtime == mtime && it->second.size == data.size()) {
      return it->second.gz;
    }
    auto gz = http::Gzip(data);
    if (!gz) return nullptr;
    auto shared = std::make_shared<const std::string>(std::move(*gz));
    entries_[file.string()] = {mtime, data.size(), shared};
    return shared;
  }

 private:
  struct Entry {
    fs::file_time_type mtime;
    size_t size;
    std::shared_ptr<const std::string> gz;
  };
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace

http::Handler StaticSite(std::string root_dir, std::string mount) {
  if (mount.empty() || mount.back() != '/') mount += '/';
  if (mount.front() != '/') mount.insert(mount.begin(), '/');
  auto cache = std::make_shared<GzipCache>();
  return [root = fs::path(std::move(root_dir)), mount, cache](const http::Request& req) {
    auto serve = [&](const std::string& relative) -> std::optional<http::Response> {
      std::error_code ec;
      const fs::path file = root / relative;
      if (!fs::is_regular_file(file, ec)) return std::nullopt;
      // A link inside the site must not lead out of it.
      const fs::path real = fs::canonical(file, ec);
      const fs::path real_root = fs::canonical(root, ec);
      if (ec) return std::nullopt;
      auto [r, f] = std::mismatch(real_root.begin(), real_root.end(), real.begin(), real.end());
      if (r != real_root.end()) return std::nullopt;
      auto data = ReadFile(file);
      if (!data) {
        return http::Response::Error(Status(ErrorCode::kIoError, "cannot read " + relative));
      }
      http::Response res;
      res.content_type = std::string(MimeType(relative));
      if (data->size() > 1024 && http::IsCompressible(res.content_type) &&
          req.Header("accept-encoding").find("gzip") != std::string::npos) {
        if (auto gz = cache->Get(file, *data)) {
          *data = *gz;
          res.headers.emplace_back("Content-Encoding", "gzip");
          res.headers.emplace_back("Vary", "Accept-Encoding");
        }
      }
      res.body = std::move(*data);
      res.headers.emplace_back("Cache-Control", std::string(CacheControlFor(relative)));
      res.headers.emplace_back("X-Content-Type-Options", "nosniff");
      return res;
    };
    auto index = [&]() {
      if (auto res = serve("index.html")) return std::move(*res);
      return http::Response::Text("index.html is missing in " + root.string() + "\n", 404);
    };

    SitePath p = ResolveSitePath(mount, req.path);
    switch (p.kind) {
      case SitePath::Kind::kForbidden:
        return http::Response::Text("forbidden path\n", 403);
      case SitePath::Kind::kNotFound:
        return http::Response::Text("not found\n", 404);
      case SitePath::Kind::kIndex:
        return index();
      case SitePath::Kind::kFile:
        break;
    }
    if (auto res = serve(p.relative)) return std::move(*res);
    // An application route that looks like a file (a dotted UID in the path): a browser
    // navigating there gets the application; a script or image request gets 404.
    if (req.Header("accept").find("text/html") != std::string::npos) return index();
    return http::Response::Text("not found: " + p.relative + "\n", 404);
  };
}

}  // namespace radflow::api
