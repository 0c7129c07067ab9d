// DimseServer: the DICOM upper-layer listener (PS3.8) and its Service Class Providers —
// Verification, Storage, Query/Retrieve (C-FIND, C-MOVE, C-GET; PS3.4 Annex C) and, with
// orders, Modality Worklist (Annex K) and Modality Performed Procedure Step (Annex F) —
// one thread per association.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_event.h"
#include "base/status.h"
#include "dimse/access_rules.h"
#include "ingest/ingest_service.h"
#include "storage/blob_store.h"
#include "storage/index.h"

namespace radflow::orders {
class OrderService;
}

namespace radflow::dimse {

struct RemoteAe {
  std::string ae_title;
  std::string host;
  uint16_t port = 0;
};
// "AE=host:port"
Result<RemoteAe> ParseRemoteAe(const std::string& spec);

struct DimseConfig {
  std::string ae_title = "RADFLOW";
  uint16_t port = 11112;
  std::map<std::string, RemoteAe> modalities;  // C-MOVE destinations by AE title
  int max_associations = 64;
  int idle_timeout_seconds = 300;  // an association silent this long is aborted
  bool check_called_ae = false;    // refuse associations addressed to another AE title
  // Issue 18 (docs/dicom-access.md, docs/tls.md). port 0: no plain listener.
  uint16_t tls_port = 0;           // DICOM TLS (PS3.15 Annex B); 0: off
  std::string tls_cert, tls_key, tls_ca;
  std::vector<std::string> accept; // calling AE titles accepted besides modalities; "any"; empty: loopback only
  std::string access_file;         // per-AE rules (JSON)
  audit::AuditSink audit;          // association, store, query, retrieve events
};

// What the services need from the rest of the hub.
struct DimseServices {
  ingest::IngestService* ingest;
  storage::Index* index;
  storage::BlobStore* blobs;
  // Modality Worklist C-FIND and MPPS N-CREATE/N-SET (PS3.4 K, F.7; docs/orders.md);
  // null: those SOP classes are not offered.
  orders::OrderService* orders = nullptr;
};

class DimseServer {
 public:
  DimseServer(DimseConfig config, DimseServices services);
  ~DimseServer();  // Stop()

  // Binds the plain and/or TLS port and starts accepting associations on background
  // threads. Fails on unreadable access rules or TLS files, naming them.
  Status Start();
  // Stops accepting, waits for running associations to finish (they are aborted after
  // their current operation).
  void Stop();
  uint16_t port() const { return port_; }
  uint16_t tls_port() const { return tls_port_; }

 private:
  struct Network;
  void AcceptLoop(Network& net, bool secure);
  Status StartTls();

  DimseConfig config_;
  DimseServices services_;
  AccessPolicy policy_;
  uint16_t port_ = 0;
  uint16_t tls_port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> active_{0};
  std::thread acceptor_, tls_acceptor_;
  std::unique_ptr<Network> net_, tls_net_;
};

}  // namespace radflow::dimse
