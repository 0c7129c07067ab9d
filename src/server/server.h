// The composition root: reads the configuration, opens the hub, starts the DIMSE and HTTP
// servers, and runs until SIGINT or SIGTERM.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "storage/index_location.h"

namespace radflow::server {

struct ServerConfig {
  std::string data_dir = "./radflow-data";  // blobs, lock, audit log, secrets: always node-local
  // The index (every table): "" → DATA/index.db (SQLite), a file path, or a
  // postgresql://… URI (docs/postgresql.md).
  std::string index;
  // Where the blobs live (issue 15, docs/storage-backends.md): "" → DATA/blobs; a folder
  // every node shares (NFS); or s3://BUCKET/PREFIX with s3_endpoint (http(s)://host:port).
  std::string storage;
  std::string s3_endpoint;
  // This node's name among several on one index (docs/scaling.md): its temporary folder on
  // shared storage, the origin of its cluster events. "" → ResolveNodeId(config).
  std::string node_id;
  std::string ae_title = "RADFLOW";
  int dicom_port = 11112;
  int http_port = 8080;
  std::string http_address = "0.0.0.0";
  std::vector<std::string> modalities;  // "AE=host:port", C-MOVE destinations
  double stable_seconds = 5;
  std::string duplicate_policy = "keep";  // keep | reject | replace
  std::string web_dir = "/var/cache/radflow/ohif-3.13.2/dist";  // the OHIF viewer
  // AI engine: app manifest folders (the built-in apps/ folder first), worker limits, retries.
  std::vector<std::string> app_folders;
  int ai_workers = 2;
  int ai_workers_per_app = 1;
  // Apps only remote `radflow worker`s run (docs/remote-workers.md); ai_workers 0: all apps.
  std::vector<std::string> ai_remote_only_apps;
  double ai_retry_seconds = 10;
  std::string worker_binary;  // default: this executable
  // The reading worklist (docs/worklist.md).
  std::string app_dir;              // the web application (web/dist); default: the source tree's
  double claim_idle_minutes = 20;   // a claim without activity expires after this
  std::string worklist_rule;        // JSON file replacing the default priority rule
  std::vector<std::string> prefetch_from;  // --modality AE titles asked for priors ("*": all)
  int prefetch_max = 3;             // relevant priors retrieved per new study
  // Reporting (docs/reports.md).
  std::vector<std::string> template_folders;  // report templates, after the built-in and DATA/templates
  std::vector<std::string> hl7_receivers;     // "host:port": signed reports sent as ORU^R01 (MLLP)
  int hl7_port = 0;                            // MLLP listener for inbound ORU^R01; 0: off
  // Security (issue 18). http_port / dicom_port 0 switch the plain listeners off.
  int https_port = 0;
  std::string tls_cert, tls_key, tls_ca;
  int dicom_tls_port = 0;
  std::vector<std::string> dicom_accept;  // calling AE titles; "any": everyone
  std::string dicom_access;                // JSON file of per-AE rules (docs/dicom-access.md)
  std::string oidc_issuer, oidc_client_id, oidc_client_secret, oidc_audience;
  std::string oidc_role_claim = "roles";
  double oidc_clock_skew_s = 60;
  std::string public_url;                  // e.g. https://radflow.example.org
  std::string audit_syslog, audit_syslog_ca;
  int lockout_failures = 5;
  int lockout_minutes = 15;
  // Orders, worklist, protocols, no-shows, scheduling (issue 14; docs/orders.md).
  std::string protocol_rules;          // JSON rule file replacing the built-in protocol rules
  std::string noshow_model;            // XGBoost model file (`radflow noshow train`); '' no risk scores
  std::string station_hours;           // JSON [{"station_ae","open","close"}]; '' 08:00-18:00 each
  int no_show_grace_minutes = 120;     // after the slot ends, an appointment without MPPS/study is a no-show
  // Lossless compression at rest, "MODALITY=CODEC" entries, e.g. CT=jpeg-ls (docs/compression.md).
  std::vector<std::string> compress;
};

// Where the index lives: `index` when set, else DATA/index.db (storage/index_location.h).
using storage::IndexLocation;
inline std::string IndexLocation(const ServerConfig& config) {
  return IndexLocation(config.data_dir, config.index);
}

// Blocks until a stop signal; returns the process exit code.
int RunServer(const ServerConfig& config);

// The app folders a server or CLI uses: the built-in apps shipped with radflow
// (RADFLOW_APPS_DIR, else the source tree's apps/), DATA/apps when it exists, then `extra`.
std::vector<std::string> DefaultAppFolders(const std::string& data_dir,
                                           const std::vector<std::string>& extra);
// The report template folders: the built-in templates shipped with radflow
// (RADFLOW_TEMPLATES_DIR, else the source tree's templates/), DATA/templates when it exists,
// then `extra` (a later folder's template replaces an earlier one with the same id).
std::vector<std::string> DefaultTemplateFolders(const std::string& data_dir,
                                                const std::vector<std::string>& extra);
// The running executable (/proc/self/exe).
std::string SelfExecutable();

// Takes an exclusive lock on DIR/radflow.lock so that two servers, or a server and
// `check --repair`, never work on one data directory at once.
Status LockDataDir(const std::string& data_dir);

}  // namespace radflow::server
