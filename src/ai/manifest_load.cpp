// Manifest files and app folders: read, parse, check the builtin runner, override by folder.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "ai/manifest.h"
#include "ai/manifest_yaml.h"

namespace radflow::ai {
namespace {

namespace fs = std::filesystem;

std::string LowerExtension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

bool IsManifestFile(const fs::directory_entry& entry) {
  const std::string name = entry.path().filename().string();
  if (name.empty() || name[0] == '.') return false;  // editor swap files, hidden files
  std::error_code ec;
  if (!entry.is_regular_file(ec)) return false;
  const std::string ext = LowerExtension(entry.path());
  return ext == ".json" || ext == ".yaml" || ext == ".yml";
}

std::string Joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

}  // namespace

Result<AppManifest> LoadManifestFile(const std::string& path) {
  std::error_code ec;
  const fs::path file = fs::absolute(fs::path(path), ec).lexically_normal();
  const std::string ext = LowerExtension(file);
  const std::string format = ext == ".json"                      ? "json"
                             : (ext == ".yaml" || ext == ".yml") ? "yaml"
                                                                 : "";
  if (format.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  file.string() + ": manifest: unknown file type (expected .json, .yaml or .yml)");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status(ErrorCode::kNotFound, file.string() + ": cannot open the file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status(ErrorCode::kIoError, file.string() + ": read error");

  Result<AppManifest> manifest = ParseManifest(text.str(), format, file.parent_path().string());
  if (!manifest.ok()) {
    return Status(manifest.status().code(), file.string() + ": " + manifest.status().message());
  }
  manifest->source = file.string();
  return manifest;
}

namespace {

// "1.10.0-rc1+build" → core {"1", "10", "0"}, pre-release "rc1".
struct VersionParts {
  std::vector<std::string> core, pre;
};

std::vector<std::string> SplitDots(std::string_view s) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      parts.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

VersionParts Parts(std::string_view v) {
  if (auto plus = v.find('+'); plus != std::string_view::npos) v = v.substr(0, plus);
  VersionParts p;
  auto dash = v.find('-');
  if (v.substr(0, dash).empty()) return p;  // "" compares as 0
  p.core = SplitDots(v.substr(0, dash));
  if (dash != std::string_view::npos) p.pre = SplitDots(v.substr(dash + 1));
  return p;
}

bool IsNumber(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// Numbers numerically (leading zeros ignored), numbers before text, text lexically.
int ComparePart(const std::string& a, const std::string& b) {
  const bool na = IsNumber(a), nb = IsNumber(b);
  if (na && nb) {
    auto strip = [](const std::string& s) {
      size_t i = s.find_first_not_of('0');
      return i == std::string::npos ? std::string("0") : s.substr(i);
    };
    std::string x = strip(a), y = strip(b);
    if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
    return x.compare(y) < 0 ? -1 : x.compare(y) > 0 ? 1 : 0;
  }
  if (na != nb) return na ? -1 : 1;
  return a.compare(b) < 0 ? -1 : a.compare(b) > 0 ? 1 : 0;
}

}  // namespace

int CompareVersions(std::string_view a, std::string_view b) {
  VersionParts x = Parts(a), y = Parts(b);
  const size_t n = std::max(x.core.size(), y.core.size());
  for (size_t i = 0; i < n; ++i) {
    const std::string zero = "0";
    int c = ComparePart(i < x.core.size() ? x.core[i] : zero, i < y.core.size() ? y.core[i] : zero);
    if (c != 0) return c;
  }
  if (x.pre.empty() != y.pre.empty()) return x.pre.empty() ? 1 : -1;  // a release is newer
  for (size_t i = 0; i < std::min(x.pre.size(), y.pre.size()); ++i) {
    if (int c = ComparePart(x.pre[i], y.pre[i]); c != 0) return c;
  }
  return x.pre.size() < y.pre.size() ? -1 : x.pre.size() > y.pre.size() ? 1 : 0;
}

Result<std::string> ManifestFileAsJson(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kNotFound, path + ": cannot open the file");
  std::ostringstream text;
  text << in.rdbuf();
  const std::string ext = LowerExtension(fs::path(path));
  if (ext == ".yaml" || ext == ".yml") return YamlToJsonText(text.str());
  return text.str();
}

LoadedApps LoadApps(const std::vector<std::string>& folders) {
  LoadedApps loaded;
  std::map<std::string, std::vector<AppManifest>> by_id;  // each id's versions
  for (const auto& folder : folders) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
      if (IsManifestFile(*it)) files.push_back(it->path());
    }
    if (ec) {
      loaded.errors.push_back(folder + ": cannot read the app folder: " + ec.message());
      continue;
    }
    std::sort(files.begin(), files.end());  // a stable order decides which duplicate is second

    std::map<std::string, std::string> seen_here;  // id → the file that declared it
    for (const auto& file : files) {
      Result<AppManifest> manifest = LoadManifestFile(file.string());
      if (!manifest.ok()) {
        loaded.errors.push_back(manifest.status().message());
        continue;
      }
      const std::string& source = manifest->source;
      if (manifest->runner.kind == Runner::Kind::kBuiltin &&
          FindBuiltin(manifest->runner.builtin) == nullptr) {
        loaded.errors.push_back(source + ": runner: unknown builtin app '" +
                                manifest->runner.builtin +
                                "' (registered: " + Joined(BuiltinNames()) + ")");
        continue;
      }
      auto [it, inserted] = seen_here.emplace(manifest->id, source);
      if (!inserted) {
        loaded.errors.push_back(source + ": id: duplicate id '" + manifest->id +
                                "' (already declared in " + it->second + ")");
        continue;
      }
      auto& versions = by_id[manifest->id];
      auto same = std::find_if(versions.begin(), versions.end(), [&](const AppManifest& m) {
        return CompareVersions(m.version, manifest->version) == 0;
      });
      if (same != versions.end()) {
        *same = std::move(manifest.value());  // a later folder overrides the same version
      } else {
        versions.push_back(std::move(manifest.value()));
      }
    }
  }
  for (auto& [id, versions] : by_id) {
    std::stable_sort(versions.begin(), versions.end(), [](const AppManifest& a, const AppManifest& b) {
      return CompareVersions(a.version, b.version) > 0;
    });
    loaded.apps.push_back(versions.front());
    for (auto& m : versions) loaded.versions.push_back(std::move(m));
  }
  return loaded;
}

const AppManifest* LoadedApps::Find(std::string_view id) const {
  for (const auto& m : apps) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

const AppManifest* LoadedApps::Find(std::string_view id, std::string_view version) const {
  for (const auto& m : versions) {
    if (m.id == id && CompareVersions(m.version, version) == 0) return &m;
  }
  return nullptr;
}

std::vector<const AppManifest*> LoadedApps::Versions(std::string_view id) const {
  std::vector<const AppManifest*> out;
  for (const auto& m : versions) {
    if (m.id == id) out.push_back(&m);
  }
  return out;
}

}  // namespace radflow::ai
