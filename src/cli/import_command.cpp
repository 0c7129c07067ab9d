#include "cli/import_command.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

namespace fs = std::filesystem;

namespace radflow::cli {

ImportSummary ImportPaths(server::Hub& hub, const std::vector<std::string>& paths,
                          int threads) {
  ImportSummary summary;
  std::vector<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      for (auto it = fs::recursive_directory_iterator(p, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file()) files.push_back(it->path().string());
      }
      if (ec) summary.rejected.emplace_back(p, "cannot list: " + ec.message());
    } else if (fs::is_regular_file(p, ec)) {
      files.push_back(p);
    } else {
      summary.rejected.emplace_back(p, "no such file or directory");
    }
  }
  std::sort(files.begin(), files.end());

  const bool progress = ::isatty(STDERR_FILENO);
  std::atomic<size_t> next{0};
  std::mutex mu;
  size_t done = 0;
  auto worker = [&] {
    for (size_t i = next++; i < files.size(); i = next++) {
      const std::string& path = files[i];
      std::string temp = hub.blobs->NewTempPath();
      std::error_code ec;
      fs::copy_file(path, temp, ec);
      std::string reason;
      bool present = false;
      bool kept = false;
      if (ec) {
        reason = "cannot read: " + ec.message();
      } else {
        auto r = hub.ingest->Store(temp, {ingest::Origin::Kind::kImport, path, "", ""});
        if (!r.ok()) reason = r.status().ToString();
        else {
          present = r->outcome == ingest::StoreOutcome::kAlreadyStored ||
                    r->outcome == ingest::StoreOutcome::kKeptExisting;
          kept = r->outcome == ingest::StoreOutcome::kKeptExisting;
        }
      }
      std::lock_guard<std::mutex> g(mu);
      if (!reason.empty()) summary.rejected.emplace_back(path, reason);
      else if (present) {
        ++summary.already_present;
        if (kept) ++summary.kept_different;
      }
      else ++summary.stored;
      ++done;
      if (progress) {
        const int width = 30;
        int filled = static_cast<int>(width * done / files.size());
        std::fprintf(stderr, "\r[%s%s] %zu/%zu  stored %d, present %d, rejected %zu",
                     std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                     done, files.size(), summary.stored, summary.already_present,
                     summary.rejected.size());
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (progress && !files.empty()) std::fprintf(stderr, "\n");
  return summary;
}

}  // namespace radflow::cli
