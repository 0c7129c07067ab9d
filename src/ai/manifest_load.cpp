// Manifest files and app folders: read, parse, check the builtin runner, override by folder.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "ai/manifest.h"

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

LoadedApps LoadApps(const std::vector<std::string>& folders) {
  LoadedApps loaded;
  std::map<std::string, AppManifest> by_id;
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
      by_id[manifest->id] = std::move(manifest.value());  // a later folder overrides
    }
  }
  for (auto& [id, manifest] : by_id) loaded.apps.push_back(std::move(manifest));
  return loaded;
}

const AppManifest* LoadedApps::Find(std::string_view id) const {
  for (const auto& m : apps) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

}  // namespace radflow::ai
