#include "cli/deid_command.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "audit/audit_trail.h"
#include "cli/index_option.h"
#include "deid/deidentify.h"

namespace fs = std::filesystem;

namespace radflow::cli {

namespace {

struct DeidCommandOptions {
  std::string in, out, options, data, index, secret_file, report;
  int threads = 0;
};

int Fail(const std::string& message) {
  std::cerr << "radflow deid: " << message << "\n";
  return 1;
}

struct Job {
  std::string in, out;
};

struct Outcome {
  std::string in, out, status, reason, sop_class_uid;
  int masked = 0;
};

int RunDeid(const DeidCommandOptions& o) {
  auto parsed = deid::ParseDeidOptions(o.options);
  if (!parsed.ok()) return Fail(parsed.status().message());
  deid::DeidOptions options = *parsed;
  if (!o.data.empty() && !o.secret_file.empty()) return Fail("give --data or --secret-file, not both");
  Result<std::string> secret = !o.secret_file.empty() ? deid::LoadSecretFile(o.secret_file)
                               : !o.data.empty()      ? deid::LoadOrCreateSiteSecret(o.data)
                                                      : Result<std::string>(ErrorCode::kInvalidArgument,
                                                          "needs the site secret: --data DIR (DIR/deid-secret) or --secret-file F");
  if (!secret.ok()) return Fail(secret.status().message());
  options.secret = *secret;

  std::error_code ec;
  if (!fs::exists(o.in, ec)) return Fail("no such file or folder: " + o.in);
  std::vector<Job> jobs;
  if (fs::is_directory(o.in, ec)) {
    const fs::path in_root = fs::canonical(o.in, ec);
    fs::create_directories(o.out, ec);
    const fs::path out_root = fs::weakly_canonical(o.out, ec);
    if (out_root == in_root) return Fail("OUT must differ from IN (the input is never overwritten)");
    for (auto it = fs::recursive_directory_iterator(in_root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const fs::path p = it->path();
      // An output folder inside the input folder is not read back.
      if (it->is_directory() && fs::weakly_canonical(p) == out_root) {
        it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file()) continue;
      jobs.push_back({p.string(), (out_root / fs::relative(p, in_root)).string()});
    }
    if (ec) return Fail("cannot list " + o.in + ": " + ec.message());
  } else {
    fs::path out = o.out;
    const bool folder = fs::is_directory(out, ec) || (!o.out.empty() && o.out.back() == '/');
    if (folder) out /= fs::path(o.in).filename();
    if (fs::weakly_canonical(out, ec) == fs::weakly_canonical(o.in, ec)) {
      return Fail("OUT must differ from IN (the input is never overwritten)");
    }
    jobs.push_back({o.in, out.string()});
  }
  std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.in < b.in; });

  const deid::Deidentifier deidentifier(options);
  std::vector<Outcome> outcomes(jobs.size());
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  std::mutex mu;
  const bool progress = ::isatty(STDERR_FILENO);
  auto worker = [&] {
    for (size_t i = next++; i < jobs.size(); i = next++) {
      Outcome& r = outcomes[i];
      r.in = jobs[i].in;
      if (!deid::LooksLikeDicomFile(jobs[i].in)) {
        r.status = "not-dicom";
        r.reason = "not a DICOM file: skipped";
      } else {
        auto rep = deidentifier.DeidentifyFile(jobs[i].in, jobs[i].out);
        if (!rep.ok()) {
          r.status = "failed";
          r.reason = rep.status().ToString();
        } else {
          r.status = rep->skipped ? "skipped" : "written";
          r.reason = rep->reason;
          r.out = rep->out;
          r.masked = rep->pixels_masked_regions;
          r.sop_class_uid = rep->sop_class_uid;
        }
      }
      const size_t d = ++done;
      if (progress) {
        std::lock_guard<std::mutex> g(mu);
        std::fprintf(stderr, "\r%zu/%zu", d, jobs.size());
      }
    }
  };
  int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (progress && !jobs.empty()) std::fprintf(stderr, "\n");

  int written = 0, skipped = 0, not_dicom = 0, failed = 0, masked = 0;
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  for (const auto& r : outcomes) {
    if (r.status == "written") ++written;
    else if (r.status == "skipped") ++skipped;
    else if (r.status == "not-dicom") ++not_dicom;
    else ++failed;
    masked += r.masked;
    if (r.status == "skipped" || r.status == "failed") {
      std::cerr << "radflow deid: " << r.status << " " << r.in << ": " << r.reason << "\n";
    }
    files.push_back({{"in", r.in}, {"out", r.out}, {"status", r.status}, {"reason", r.reason},
                     {"sop_class_uid", r.sop_class_uid}, {"pixels_masked_regions", r.masked}});
  }
  std::cout << "radflow deid: " << written << " written, " << skipped << " skipped (unsafe), "
            << not_dicom << " not DICOM, " << failed << " failed";
  if (options.clean_pixels) std::cout << ", " << masked << " text regions masked";
  std::cout << " (options: " << (o.options.empty() ? "basic profile only" : deid::FormatDeidOptions(options))
            << ")\n";
  if (!o.report.empty()) {
    nlohmann::ordered_json j;
    j["options"] = deid::FormatDeidOptions(options);
    j["written"] = written;
    j["skipped"] = skipped;
    j["not_dicom"] = not_dicom;
    j["failed"] = failed;
    j["files"] = std::move(files);
    std::ofstream rep(o.report, std::ios::binary | std::ios::trunc);
    rep << j.dump(1) << "\n";
    if (!rep) return Fail("cannot write report " + o.report);
  }
  // The hub's audit trail records the run when it works on a data directory (docs/audit.md).
  if (!o.data.empty()) {
    audit::AuditEvent e;
    e.event = "deid";
    e.success = failed == 0;
    if (failed > 0) e.failure_reason = std::to_string(failed) + " files failed";
    const char* user = std::getenv("USER");
    e.user = user ? user : "";
    e.interface = "cli";
    e.detail = "radflow deid " + o.in + " -> " + o.out + " (" + std::to_string(written) +
               " written, " + std::to_string(skipped) + " skipped; options: " +
               deid::FormatDeidOptions(options) + ")";
    audit::AuditOptions ao;
    ao.data_dir = o.data;
    ao.db_path = o.index;  // "" → DATA/index.db
    if (Status st = audit::RecordNow(ao, e); !st.ok()) {
      std::cerr << "radflow deid: audit record not written: " << st.ToString() << "\n";
    }
  }
  return failed > 0 ? 1 : 0;
}

}  // namespace

void AddDeidCommands(CLI::App& app, std::function<int()>& run) {
  auto o = std::make_shared<DeidCommandOptions>();
  auto* cmd = app.add_subcommand(
      "deid", "de-identify DICOM files (PS3.15 Annex E Basic Profile and options) into OUT");
  cmd->add_option("in", o->in, "input file or folder (recursive)")->required();
  cmd->add_option("out", o->out, "output file or folder (mirrors the input tree)")->required();
  cmd->add_option("--options", o->options,
                  "comma-separated: retain-dates, retain-patient-chars, retain-device, "
                  "clean-descriptors, clean-structured, clean-graphics, clean-pixels");
  cmd->add_option("--data", o->data, "data directory holding the site secret (DATA/deid-secret, created)");
  AddIndexOption(cmd, &o->index);
  cmd->add_option("--secret-file", o->secret_file, "file holding the site secret (>= 16 bytes)");
  cmd->add_option("--report", o->report, "write a JSON report of every file");
  cmd->add_option("--threads", o->threads, "files de-identified at once (default: CPU count)");
  cmd->callback([o, &run] { run = [o] { return RunDeid(*o); }; });
}

}  // namespace radflow::cli
