#include "dimse/dimse_server.h"

#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmnet/dimse.h>
#include <dcmtk/dcmnet/dul.h>
#include <dcmtk/dcmtls/tlslayer.h>
#include <dcmtk/oflog/oflog.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <chrono>
#include <mutex>
#include <cstdlib>

#include "base/log.h"
#include "dimse/association.h"

namespace radflow::dimse {

namespace {
// A-ASSOCIATE-RJ (PS3.8 7.1.1.9), then the association is gone.
void Reject(T_ASC_Association** assoc, T_ASC_RejectParameters reason) {
  ASC_rejectAssociation(*assoc, &reason);
  ASC_dropAssociation(*assoc);
  ASC_destroyAssociation(assoc);
}
}  // namespace

struct DimseServer::Network {
  T_ASC_Network* net = nullptr;
  std::unique_ptr<DcmTLSTransportLayer> tls;  // outlives `net`, which only borrows it
  ~Network() {
    if (net) ASC_dropNetwork(&net);
  }
};

Result<RemoteAe> ParseRemoteAe(const std::string& spec) {
  auto eq = spec.find('=');
  auto colon = spec.rfind(':');
  if (eq == std::string::npos || colon == std::string::npos || colon < eq) {
    return {ErrorCode::kInvalidArgument, "modality must be AE=host:port, got '" + spec + "'"};
  }
  RemoteAe ae;
  ae.ae_title = spec.substr(0, eq);
  ae.host = spec.substr(eq + 1, colon - eq - 1);
  int port = std::atoi(spec.substr(colon + 1).c_str());
  if (ae.ae_title.empty() || ae.ae_title.size() > 16 || ae.host.empty() || port <= 0 ||
      port > 65535) {
    return {ErrorCode::kInvalidArgument, "invalid modality '" + spec + "'"};
  }
  ae.port = static_cast<uint16_t>(port);
  return ae;
}

DimseServer::DimseServer(DimseConfig config, DimseServices services)
    : config_(std::move(config)),
      services_(services),
      net_(std::make_unique<Network>()),
      tls_net_(std::make_unique<Network>()) {}

DimseServer::~DimseServer() { Stop(); }

Status DimseServer::Start() {
  // DCMTK leaves Nagle's algorithm on unless TCP_NODELAY is set in the environment; with it
  // on, each C-STORE response waits ~40 ms for a delayed ACK.
  setenv("TCP_NODELAY", "1", 0);
  // DCMTK logs through its own logger; radflow reports what matters itself.
  OFLog::configure(OFLogger::WARN_LOG_LEVEL);
  // The peer's address as numbers, not a reverse-DNS name: access rules match addresses.
  dcmDisableGethostbyaddr.set(OFTrue);
  if (!dcmDataDict.isDictionaryLoaded()) {
    return {ErrorCode::kInternal, "DCMTK data dictionary not loaded (DCMDICTPATH?)"};
  }
  if (config_.port == 0 && config_.tls_port == 0) {
    return {ErrorCode::kInvalidArgument, "no DICOM port: the plain and the TLS port are both 0"};
  }
  auto policy = AccessPolicy::FromConfig(config_);
  if (!policy.ok()) return policy.status();
  policy_ = std::move(policy.value());
  if (policy_.accepts_any()) {
    log::Warn("DICOM: --dicom-accept any: every calling AE title from every address may store, "
              "query and retrieve (closed networks only)");
  } else {
    for (const auto& r : policy_.rules()) {
      std::string from;
      for (const auto& h : r.hosts) {
        if (!from.empty()) from += ',';
        from += h.ToString();
      }
      log::Info("DICOM access: " + r.ae + " from " + (from.empty() ? "any address" : from) + ":" +
                (r.allow.store ? " store" : "") + (r.allow.query ? " query" : "") +
                (r.allow.retrieve ? " retrieve" : "") + " (" + r.origin + ")");
    }
  }
  if (config_.tls_port != 0) {
    if (auto st = StartTls(); !st.ok()) return st;
  }
  if (config_.port != 0) {
    OFCondition cond = ASC_initializeNetwork(NET_ACCEPTOR, config_.port, 30, &net_->net);
    if (cond.bad()) {
      return {ErrorCode::kUnavailable,
              "cannot listen on DICOM port " + std::to_string(config_.port) + ": " + cond.text()};
    }
    port_ = config_.port;
    acceptor_ = std::thread([this] { AcceptLoop(*net_, false); });
    log::Info("DICOM SCP " + config_.ae_title + " listening on port " + std::to_string(port_));
  }
  return Status::Ok();
}

// DICOM TLS (PS3.15 Annex B.9, the Non-downgrading BCP 195 TLS Profile): TLS 1.2 or later,
// ECDHE/DHE with AES-GCM; our certificate and key from PEM files; with a CA file, the peer
// must present a certificate signed by it.
Status DimseServer::StartTls() {
  if (config_.tls_cert.empty() || config_.tls_key.empty()) {
    return {ErrorCode::kInvalidArgument, "--dicom-tls-port needs --tls-cert and --tls-key"};
  }
  static std::once_flag openssl_once;
  std::call_once(openssl_once, [] { DcmTLSTransportLayer::initializeOpenSSL(); });
  auto layer = std::make_unique<DcmTLSTransportLayer>(NET_ACCEPTOR, nullptr, OFFalse);
  if (!*layer) return {ErrorCode::kInternal, "cannot create the DICOM TLS layer (OpenSSL)"};
  OFCondition cond = layer->setTLSProfile(TSP_Profile_BCP195_ND);
  if (cond.good()) cond = layer->activateCipherSuites();
  if (cond.bad()) return {ErrorCode::kInternal, std::string("DICOM TLS profile: ") + cond.text()};
  if (layer->setPrivateKeyFile(config_.tls_key.c_str(), DCF_Filetype_PEM).bad()) {
    return {ErrorCode::kInvalidArgument, "cannot load the TLS key file '" + config_.tls_key + "'"};
  }
  // The whole chain (server certificate, then intermediates), as for HTTPS.
  if (::SSL_CTX_use_certificate_chain_file(layer->getNativeHandle(), config_.tls_cert.c_str()) != 1) {
    ::ERR_clear_error();
    return {ErrorCode::kInvalidArgument,
            "cannot load the TLS certificate file '" + config_.tls_cert + "'"};
  }
  if (!layer->checkPrivateKeyMatchesCertificate()) {
    return {ErrorCode::kInvalidArgument, "TLS key file '" + config_.tls_key +
                                             "' does not match the certificate in '" +
                                             config_.tls_cert + "'"};
  }
  if (!config_.tls_ca.empty()) {
    if (layer->addTrustedCertificateFile(config_.tls_ca.c_str(), DCF_Filetype_PEM).bad()) {
      return {ErrorCode::kInvalidArgument, "cannot load the TLS CA file '" + config_.tls_ca + "'"};
    }
    layer->setCertificateVerification(DCV_requireCertificate);
  } else {
    layer->setCertificateVerification(DCV_ignoreCertificate);
  }
  cond = ASC_initializeNetwork(NET_ACCEPTOR, config_.tls_port, 30, &tls_net_->net);
  if (cond.good()) cond = ASC_setTransportLayer(tls_net_->net, layer.get(), 0);
  if (cond.bad()) {
    return {ErrorCode::kUnavailable,
            "cannot listen on DICOM TLS port " + std::to_string(config_.tls_port) + ": " + cond.text()};
  }
  tls_net_->tls = std::move(layer);
  tls_port_ = config_.tls_port;
  tls_acceptor_ = std::thread([this] { AcceptLoop(*tls_net_, true); });
  log::Info("DICOM TLS SCP " + config_.ae_title + " listening on port " + std::to_string(tls_port_));
  return Status::Ok();
}

void DimseServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  if (tls_acceptor_.joinable()) tls_acceptor_.join();
  while (active_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (net_->net) ASC_dropNetwork(&net_->net);
  if (tls_net_->net) ASC_dropNetwork(&tls_net_->net);
}

void DimseServer::AcceptLoop(Network& network, bool secure) {
  while (!stopping_.load()) {
    T_ASC_Association* assoc = nullptr;
    // Poll with a 1 s timeout so that Stop() is noticed.
    // Offer the largest PDU DCMTK handles (128 KiB): a 512x512 CT slice then arrives in 4
    // PDUs instead of 33, with as many fewer reads and writes.
    OFCondition cond = ASC_receiveAssociation(network.net, &assoc, ASC_MAXIMUMPDUSIZE, nullptr,
                                              nullptr, secure ? OFTrue : OFFalse, DUL_NOBLOCK, 1);
    if (cond == DUL_NOASSOCIATIONREQUEST) {
      if (assoc) ASC_destroyAssociation(&assoc);
      continue;
    }
    if (cond.bad()) {
      // A plain client on the TLS port, or a failed TLS handshake, ends here.
      log::Warn(std::string(secure ? "DICOM TLS" : "DICOM") + " association request failed: " +
                cond.text());
      if (assoc) {
        ASC_dropAssociation(assoc);
        ASC_destroyAssociation(&assoc);
      }
      continue;
    }
    AssociationInfo info;
    info.calling_ae = assoc->params->DULparams.callingAPTitle;
    info.peer = assoc->params->DULparams.callingPresentationAddress;
    info.secure = secure;
    if (active_.load() >= config_.max_associations) {
      Reject(&assoc, {ASC_RESULT_REJECTEDTRANSIENT, ASC_SOURCE_SERVICEPROVIDER_PRESENTATION_RELATED,
                      ASC_REASON_SP_PRES_LOCALLIMITEXCEEDED});
      log::Warn("association rejected: too many associations");
      continue;
    }
    if (config_.check_called_ae &&
        std::string(assoc->params->DULparams.calledAPTitle) != config_.ae_title) {
      Reject(&assoc, {ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER,
                      ASC_REASON_SU_CALLEDAETITLENOTRECOGNIZED});
      continue;
    }
    auto allowed = policy_.Check(info.calling_ae, info.peer);
    if (!allowed) {
      // PS3.8 7.1.1.9: rejected-permanent, DICOM UL service-user, calling AE title not recognized.
      Reject(&assoc, {ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER,
                      ASC_REASON_SU_CALLINGAETITLENOTRECOGNIZED});
      log::Warn("DICOM association from " + info.calling_ae + " at " + info.peer +
                " refused: no access rule for this AE title and address");
      ReportAudit(config_, info, "association", false, "calling AE title not recognized",
                  "A-ASSOCIATE-RJ", {}, {}, {});
      continue;
    }
    info.allow = *allowed;
    cond = NegotiateContexts(assoc->params, services_.orders != nullptr);
    if (cond.good()) {
      ASC_setAPTitles(assoc->params, nullptr, nullptr, config_.ae_title.c_str());
      cond = ASC_acknowledgeAssociation(assoc);
    }
    if (cond.bad()) {
      log::Warn(std::string("association negotiation failed: ") + cond.text());
      ASC_dropAssociation(assoc);
      ASC_destroyAssociation(&assoc);
      continue;
    }
    ReportAudit(config_, info, "association", true, "",
                std::string("A-ASSOCIATE-AC") + (secure ? " (TLS)" : ""), {}, {}, {});
    ++active_;
    std::thread([this, assoc, info] {
      ServeAssociation(assoc, config_, services_, info, stopping_);
      --active_;
    }).detach();
  }
}

}  // namespace radflow::dimse
