// radflow: the command line. Each subcommand is a thin shell over module APIs.
#include <malloc.h>

#include <CLI/CLI.hpp>

#include <iostream>
#include <thread>

#include "ai/engine/job_runner.h"
#include "ai/remote/worker_command.h"
#include "api/rest_api.h"
#include "apps/builtin_apps.h"
#include "cli/app_command.h"
#include "cli/audit_command.h"
#include "cli/deid_command.h"
#include "cli/export_command.h"
#include "cli/noshow_command.h"
#include "cli/op_command.h"
#include "cli/orders_command.h"
#include "cli/routes_command.h"
#include "cli/user_command.h"
#include "cli/wsi_command.h"
#include "base/log.h"
#include "cli/followups_command.h"
#include "cli/import_command.h"
#include "cli/index_option.h"
#include "cli/qr_command.h"
#include "cli/radiomics_command.h"
#include "cli/register_command.h"
#include "dicom/tag.h"
#include "query/matching.h"
#include "server/hub.h"
#include "server/server.h"

using namespace radflow;

namespace {

int Fail(const Status& st) {
  std::cerr << "radflow: " << st.ToString() << "\n";
  return 1;
}

std::vector<dicom::Tag> ListColumns(storage::ResourceLevel level) {
  namespace t = dicom::tags;
  switch (level) {
    case storage::ResourceLevel::kPatient:
      return {t::kPatientID, t::kPatientName, t::kPatientBirthDate, t::kPatientSex,
              t::kNumberOfPatientRelatedStudies, t::kNumberOfPatientRelatedInstances};
    case storage::ResourceLevel::kStudy:
      return {t::kStudyInstanceUID, t::kStudyDate, t::kPatientID, t::kPatientName,
              t::kAccessionNumber, t::kModalitiesInStudy, t::kStudyDescription,
              t::kNumberOfStudyRelatedSeries, t::kNumberOfStudyRelatedInstances};
    case storage::ResourceLevel::kSeries:
      return {t::kSeriesInstanceUID, t::kStudyInstanceUID, t::kModality, t::kSeriesNumber,
              t::kSeriesDescription, t::kNumberOfSeriesRelatedInstances};
    case storage::ResourceLevel::kInstance:
      return {t::kSOPInstanceUID, t::kSeriesInstanceUID, t::kSOPClassUID, t::kInstanceNumber,
              t::kAvailableTransferSyntaxUID};
  }
  return {};
}

int RunLs(const std::string& data, const std::string& index, const std::string& level_name,
          const std::vector<std::string>& filters) {
  std::string upper;
  for (char c : level_name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto level = storage::ParseLevel(upper);
  if (!level) return Fail({ErrorCode::kInvalidArgument, "--level must be patient, study, series or instance"});
  std::vector<std::pair<dicom::Tag, std::string>> keys;
  for (const auto& f : filters) {
    auto eq = f.find('=');
    auto tag = dicom::ParseTag(f.substr(0, eq));
    if (eq == std::string::npos || !tag) {
      return Fail({ErrorCode::kInvalidArgument, "filter must be Keyword=Value: '" + f + "'"});
    }
    if (!storage::FindIndexedAttribute(*tag)) {
      return Fail({ErrorCode::kInvalidArgument, "attribute not indexed: " + f.substr(0, eq)});
    }
    keys.emplace_back(*tag, f.substr(eq + 1));
  }
  auto query = query::BuildQuery(*level, keys);
  if (!query.ok()) return Fail(query.status());
  auto hub = server::Hub::Open(data, {}, false, index);
  if (!hub.ok()) return Fail(hub.status());
  auto rows = hub.value()->index->Find(query.value());
  if (!rows.ok()) return Fail(rows.status());
  auto columns = ListColumns(*level);
  for (size_t i = 0; i < columns.size(); ++i) {
    std::cout << (i ? "\t" : "") << dicom::KeywordOf(columns[i]);
  }
  std::cout << "\n";
  for (const auto& row : rows.value()) {
    for (size_t i = 0; i < columns.size(); ++i) {
      auto it = row.values.find(columns[i]);
      std::cout << (i ? "\t" : "") << (it == row.values.end() ? "" : it->second);
    }
    std::cout << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"radflow: vendor-neutral imaging AI hub"};
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "debug logging");

  server::ServerConfig sc;
  // A TOML/INI file with any option; the server's go in a [serve] section.
  app.set_config("--config", "", "TOML/INI configuration file ([serve] section for serve)");
  auto* serve = app.add_subcommand("serve", "run the DICOM and HTTP server");
  serve->fallthrough();  // `radflow serve --config FILE` reads the root option
  serve->add_option("--data", sc.data_dir, "data directory (blobs, lock, audit log, secrets)")->capture_default_str();
  cli::AddIndexOption(serve, &sc.index);
  cli::AddStorageOptions(serve, &sc.storage, &sc.s3_endpoint);
  serve->add_option("--node-id", sc.node_id,
                    "this node's name among several on one index and blob store (default: hostname-"
                    "<8 hex of SHA-256 of the --data path>)");
  serve->add_option("--aet", sc.ae_title, "DICOM AE title")->capture_default_str();
  serve->add_option("--dicom-port", sc.dicom_port, "DICOM port")->capture_default_str();
  serve->add_option("--http-port", sc.http_port, "HTTP port")->capture_default_str();
  serve->add_option("--http-address", sc.http_address, "HTTP bind address")->capture_default_str();
  serve->add_option("--modality", sc.modalities, "C-MOVE destination AE=host:port (repeatable)");
  serve->add_option("--stable-seconds", sc.stable_seconds,
                    "seconds without a new instance before a series is stable")
      ->capture_default_str();
  serve->add_option("--web-dir", sc.web_dir, "the OHIF viewer (installed by make setup)")
      ->capture_default_str();
  serve->add_option("--duplicate-policy", sc.duplicate_policy,
                    "different object with a stored SOP Instance UID: keep | reject | replace")
      ->capture_default_str();
  serve->add_option("--apps", sc.app_folders, "extra folder of app manifests (repeatable)");
  serve->add_option("--ai-workers", sc.ai_workers,
                    "AI jobs the hub runs at once (0: none; remote `radflow worker`s take them)")
      ->capture_default_str();
  serve->add_option("--ai-remote-only", sc.ai_remote_only_apps,
                    "app id only remote workers run, never the hub itself (repeatable)");
  serve->add_option("--ai-workers-per-app", sc.ai_workers_per_app, "AI jobs of one app at once")
      ->capture_default_str();
  serve->add_option("--app-dir", sc.app_dir, "the web application (built by make into web/dist)");
  serve->add_option("--claim-idle-minutes", sc.claim_idle_minutes,
                    "minutes without activity before a worklist claim expires")
      ->capture_default_str();
  serve->add_option("--worklist-rule", sc.worklist_rule, "JSON file with the worklist priority rule");
  serve->add_option("--prefetch-from", sc.prefetch_from,
                    "AE title of a --modality asked for prior studies on arrival (repeatable, * = all)");
  serve->add_option("--prefetch-max", sc.prefetch_max, "prior studies retrieved per new study")
      ->capture_default_str();
  serve->add_option("--ai-retry-seconds", sc.ai_retry_seconds,
                    "first retry delay of a failed AI job (doubles per attempt)")->capture_default_str();
  // Reporting (docs/reports.md).
  serve->add_option("--template-folder", sc.template_folders,
                    "extra folder of MRRT report templates (repeatable; after the built-in ones and DATA/templates)");
  serve->add_option("--hl7-receiver", sc.hl7_receivers,
                    "HL7 v2 receiver of signed reports (ORU^R01 over MLLP), host:port (repeatable)");
  serve->add_option("--hl7-port", sc.hl7_port, "MLLP port for inbound HL7 v2: ORU^R01 reports, ADT and ORM/OMI orders (0: off)")
      ->capture_default_str();
  // Security (issue 18): docs/authentication.md, docs/oidc.md, docs/tls.md, docs/dicom-access.md, docs/audit.md.
  serve->add_option("--https-port", sc.https_port, "HTTPS port (0: off; needs --tls-cert and --tls-key)")
      ->capture_default_str();
  serve->add_option("--tls-cert", sc.tls_cert, "PEM certificate chain for HTTPS and DICOM TLS");
  serve->add_option("--tls-key", sc.tls_key, "PEM private key for HTTPS and DICOM TLS");
  serve->add_option("--tls-ca", sc.tls_ca, "PEM CA certificates of accepted client certificates");
  serve->add_option("--dicom-tls-port", sc.dicom_tls_port, "DICOM TLS port (PS3.15 Annex B; 0: off)")
      ->capture_default_str();
  serve->add_option("--dicom-accept", sc.dicom_accept,
                    "calling AE titles accepted besides --modality peers (comma-separated; any: everyone)")
      ->delimiter(',');
  serve->add_option("--dicom-access", sc.dicom_access, "JSON file of per-AE DICOM access rules");
  serve->add_option("--oidc-issuer", sc.oidc_issuer, "OpenID Connect issuer URL (enables OIDC sign-in)");
  serve->add_option("--oidc-client-id", sc.oidc_client_id, "OIDC client id of radflow");
  serve->add_option("--oidc-client-secret", sc.oidc_client_secret, "OIDC client secret (confidential client)");
  serve->add_option("--oidc-audience", sc.oidc_audience, "audience required in bearer JWTs");
  serve->add_option("--oidc-role-claim", sc.oidc_role_claim, "claim holding radflow roles")->capture_default_str();
  serve->add_option("--oidc-clock-skew", sc.oidc_clock_skew_s, "seconds of clock skew allowed")->capture_default_str();
  serve->add_option("--public-url", sc.public_url, "radflow's URL as browsers see it (OIDC redirect)");
  serve->add_option("--audit-syslog", sc.audit_syslog, "syslog receiver host:port, TLS (RFC 5425)");
  serve->add_option("--audit-syslog-ca", sc.audit_syslog_ca, "PEM CA certificates of the syslog receiver");
  serve->add_option("--lockout-failures", sc.lockout_failures, "failed sign-ins before an account locks")
      ->capture_default_str();
  serve->add_option("--lockout-minutes", sc.lockout_minutes, "minutes an account stays locked")
      ->capture_default_str();
  // Orders, Modality Worklist, protocols, no-shows, scheduling (issue 14): docs/orders.md,
  // docs/protocols.md, docs/noshow.md, docs/scheduling.md.
  serve->add_option("--protocol-rules", sc.protocol_rules,
                    "JSON protocol rule file replacing the built-in rules (docs/protocols.md)");
  serve->add_option("--noshow-model", sc.noshow_model,
                    "no-show model file from `radflow noshow train` (scores scheduled appointments)");
  serve->add_option("--station-hours", sc.station_hours,
                    "JSON file [{\"station_ae\",\"open\":\"08:00\",\"close\":\"18:00\"}] (default 08:00-18:00)");
  serve->add_option("--no-show-grace-minutes", sc.no_show_grace_minutes,
                    "minutes after a slot ends before an appointment without MPPS or images is a no-show")
      ->capture_default_str();
  serve->add_option("--compress", sc.compress,
                    "MODALITY=CODEC (repeatable), e.g. CT=jpeg-ls: store that modality's pixel data "
                    "losslessly compressed, re-encoded in the background (docs/compression.md); default off");

  std::string data = "./radflow-data";
  std::string index;  // --index; "" → DATA/index.db
  std::string storage, s3_endpoint;  // --storage, --s3-endpoint; "" → DATA/blobs
  std::vector<std::string> paths;
  int threads = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  std::string dup_policy = "keep";
  auto* import = app.add_subcommand("import", "store DICOM files and folders (recursive)");
  import->add_option("--data", data, "data directory")->capture_default_str();
  cli::AddIndexOption(import, &index);
  cli::AddStorageOptions(import, &storage, &s3_endpoint);
  import->add_option("--threads", threads, "parallel stores")->capture_default_str();
  import->add_option("--duplicate-policy", dup_policy, "keep | reject | replace")->capture_default_str();
  import->add_option("paths", paths, "files or folders")->required();

  std::string level = "study";
  std::vector<std::string> filters;
  auto* ls = app.add_subcommand("ls", "list patients, studies, series or instances");
  ls->add_option("--data", data, "data directory")->capture_default_str();
  cli::AddIndexOption(ls, &index);
  ls->add_option("--level", level, "patient | study | series | instance")->capture_default_str();
  ls->add_option("--filter", filters, "Keyword=Value, DICOM matching (PS3.4 C.2.2.2)");

  auto* stats = app.add_subcommand("stats", "counts and bytes stored, as JSON");
  stats->add_option("--data", data, "data directory")->capture_default_str();
  cli::AddIndexOption(stats, &index);

  bool repair = false;
  auto* check = app.add_subcommand("check", "verify that index and blobs agree");
  check->add_option("--data", data, "data directory")->capture_default_str();
  cli::AddIndexOption(check, &index);
  cli::AddStorageOptions(check, &storage, &s3_endpoint);
  check->add_flag("--repair", repair, "fix what is found (server must be stopped)");

  cli::RadiomicsOptions ro;
  auto* rad = app.add_subcommand("radiomics", "IBSI radiomics features of an ROI");
  rad->add_option("--image", ro.image, "NIfTI file or DICOM series folder")->required();
  rad->add_option("--mask", ro.mask, "NIfTI mask, RTSTRUCT or DICOM SEG")->required();
  rad->add_option("--roi", ro.roi, "ROI name in the RTSTRUCT, or segment label/number in the SEG");
  rad->add_option("--config", ro.config,
                  "IBSI CT configuration A..E (the image must be a CT: some voxel <= -100 HU, all within "
                  "[-32768, 32767]), phantom (the IBSI digital phantom), or a JSON file")
      ->required();
  rad->add_flag("--diagnostics", ro.diagnostics, "also every IBSI diagnostic value (under its IBSI tag)");
  rad->add_option("--reference", ro.reference,
                  "z-rad IBSI reference table (CSV) to compare with: adds reference, tolerance, allowed, "
                  "deviation, within; summary on stderr");
  rad->add_option("--format", ro.format, "csv | json")->capture_default_str();

  int fill = 100000;
  auto* bench_fill = app.add_subcommand("bench-fill", "benchmark support: synthetic index rows");
  bench_fill->add_option("--data", data, "data directory")->capture_default_str();
  cli::AddIndexOption(bench_fill, &index);
  bench_fill->add_option("--instances", fill, "rows to add")->capture_default_str();

  cli::AppCommandOptions ao;
  auto* app_cmd = app.add_subcommand("app", "AI apps: list them, run one on a series");
  app_cmd->require_subcommand(1);
  auto* app_list = app_cmd->add_subcommand("list", "the apps and rejected manifests");
  app_list->add_option("--data", ao.data, "data directory (its apps/ folder)")->capture_default_str();
  app_list->add_option("--apps", ao.app_folders, "extra folder of app manifests (repeatable)");
  auto* app_run = app_cmd->add_subcommand("run", "run an app offline on a series folder or a stored series");
  app_run->add_option("app", ao.app_id, "app id")->required();
  app_run->add_option("--series", ao.series, "folder of the series' files, or a stored SeriesInstanceUID")
      ->required();
  app_run->add_option("--data", ao.data, "data directory (for a stored series)")->capture_default_str();
  cli::AddIndexOption(app_run, &ao.index);
  cli::AddStorageOptions(app_run, &ao.storage, &ao.s3_endpoint);
  app_run->add_option("--apps", ao.app_folders, "extra folder of app manifests (repeatable)");
  app_run->add_option("--out", ao.out, "where to write the SEG / SR / derived files")->capture_default_str();
  app_run->add_option("--format", ao.format, "text | json")->capture_default_str();

  cli::RegisterCommandOptions rg;
  auto* reg = app.add_subcommand("register", "register a prior CT onto the current one (rigid, then affine)");
  reg->add_option("--fixed", rg.fixed, "the current series: folder, or stored SeriesInstanceUID")->required();
  reg->add_option("--moving", rg.moving, "the prior series: folder, or stored SeriesInstanceUID")->required();
  reg->add_option("--data", rg.data, "data directory (for a stored series)")->capture_default_str();
  cli::AddIndexOption(reg, &rg.index);
  cli::AddStorageOptions(reg, &rg.storage, &rg.s3_endpoint);
  reg->add_option("--out", rg.out, "ITK transform file to write (.tfm)");
  reg->add_flag("--rigid-only", rg.rigid_only, "the rigid stage only");
  reg->add_option("--threads", rg.threads, "threads (0: every core)")->capture_default_str();

  std::string worker_spec;
  auto* worker = app.add_subcommand("ai-worker", "internal: runs one AI job for the server");
  worker->group("");  // not listed in --help
  worker->add_option("spec", worker_spec, "job spec (JSON)")->required();

  cli::FollowupsCommandOptions fo;
  auto* fu = app.add_subcommand("followups", "follow-up imaging recommendations of plain-text reports");
  fu->add_option("files", fo.files, "report files, one report a file")->required();
  fu->add_option("--format", fo.format, "json | text")->capture_default_str();

  cli::QrCommand qr;
  cli::AddQrCommand(app, &qr);
  // Issue 18: accounts and tokens, the access rules, the audit trail, de-identification, research exports.
  std::function<int()> run_selected;
  cli::AddUserCommands(app, run_selected);
  cli::AddRoutesCommands(app, run_selected);
  cli::AddAuditCommands(app, run_selected);
  cli::AddDeidCommands(app, run_selected);
  cli::AddExportCommands(app, run_selected);
  cli::AddNoshowCommands(app, run_selected);
  cli::AddOrdersCommands(app, run_selected);
  cli::AddWsiCommands(app, run_selected);
  cli::AddOpCommands(app, run_selected);
  ai::remote::AddWorkerCommands(app, run_selected);  // issue 15: remote AI workers

  CLI11_PARSE(app, argc, argv);
  apps::RegisterBuiltinApps();
  // The image-processing commands (an AI job's worker, app run, radiomics, register) allocate
  // and free volumes of tens to hundreds of MB. glibc maps each block over 32 MB afresh and
  // unmaps it on free, so every allocation pays its page faults again: on a VM whose faults
  // cost ~15 µs (this project's machines: 1 GB touched in 4 s) ct-denoise on 64 slices took
  // 3.1 s instead of 1.0 s (docs/benchmarks.md). Keeping blocks up to 1 GB in the heap
  // reuses their pages. Not for `serve`: a long-running server keeps its heap small.
  if (*worker || *app_run || *rad || *reg) (void)mallopt(M_MMAP_THRESHOLD, 1 << 30);
  if (*worker) return ai::RunWorker(worker_spec);
  if (*app_list) return cli::RunAppList(ao);
  if (*app_run) return cli::RunAppRun(ao);
  log::SetLevel(verbose ? log::Level::kDebug : log::Level::kInfo);

  if (*serve) {
    sc.node_id = server::ResolveNodeId(sc);  // one name for its temp folder and its events
    return server::RunServer(sc);
  }
  if (run_selected) return run_selected();
  if (cli::QrSelected(qr)) return cli::RunQrCommand(qr);

  if (*import) {
    ingest::IngestOptions options;
    auto policy = ingest::ParseDuplicatePolicy(dup_policy);
    if (!policy) return Fail({ErrorCode::kInvalidArgument, "--duplicate-policy must be keep, reject or replace"});
    options.duplicate_policy = *policy;
    auto hub = server::Hub::Open(data, options, false, index, {storage, s3_endpoint, ""});
    if (!hub.ok()) return Fail(hub.status());
    auto s = cli::ImportPaths(*hub.value(), paths, threads);
    for (const auto& [path, reason] : s.rejected) {
      std::cout << "rejected " << path << ": " << reason << "\n";
    }
    std::cout << "stored " << s.stored << ", already present " << s.already_present
              << ", rejected " << s.rejected.size() << "\n";
    if (s.kept_different > 0) {
      std::cout << "note: " << s.kept_different
                << " of the already present were different objects with a stored SOP Instance"
                   " UID, kept per --duplicate-policy "
                << dup_policy << "\n";
    }
    return s.rejected.empty() ? 0 : 2;
  }
  if (*ls) return RunLs(data, index, level, filters);
  if (*stats) {
    auto hub = server::Hub::Open(data, {}, false, index);
    if (!hub.ok()) return Fail(hub.status());
    auto s = hub.value()->index->Stats();
    if (!s.ok()) return Fail(s.status());
    std::cout << api::StatsJson(s.value()) << "\n";
    return 0;
  }
  if (*check) {
    if (repair) {
      Status lock = server::LockDataDir(data);
      if (!lock.ok()) return Fail(lock);
    }
    auto hub = server::Hub::Open(data, {}, /*owner=*/repair, index, {storage, s3_endpoint, ""});
    if (!hub.ok()) return Fail(hub.status());
    auto report = server::CheckConsistency(*hub.value(), repair);
    if (!report.ok()) return Fail(report.status());
    for (const auto& p : report->problems) std::cout << "problem: " << p << "\n";
    for (const auto& r : report->repairs) std::cout << "repaired: " << r << "\n";
    for (const auto& n : report->notes) std::cout << "note: " << n << "\n";
    std::cout << "checked " << report->rows_checked << " index rows and "
              << report->blobs_checked << " blobs (" << hub.value()->blobs->Describe() << "): " << report->problems.size()
              << " problem(s)" << (repair ? ", repaired" : "") << "\n";
    return report->problems.empty() || repair ? 0 : 1;
  }
  if (*rad) return cli::RunRadiomics(ro);
  if (*reg) return cli::RunRegister(rg);
  if (*fu) return cli::RunFollowups(fo);
  if (*bench_fill) {
    auto hub = server::Hub::Open(data, {}, false, index);
    if (!hub.ok()) return Fail(hub.status());
    Status st = hub.value()->index->BulkFillSynthetic(fill);
    if (!st.ok()) return Fail(st);
    std::cout << "added " << fill << " synthetic instances\n";
    return 0;
  }
  return 0;
}
