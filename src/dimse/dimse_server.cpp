#include "dimse/dimse_server.h"

#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmnet/dimse.h>
#include <dcmtk/oflog/oflog.h>

#include <chrono>
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
    : config_(std::move(config)), services_(services), net_(std::make_unique<Network>()) {}

DimseServer::~DimseServer() { Stop(); }

Status DimseServer::Start() {
  // DCMTK leaves Nagle's algorithm on unless TCP_NODELAY is set in the environment; with it
  // on, each C-STORE response waits ~40 ms for a delayed ACK.
  setenv("TCP_NODELAY", "1", 0);
  // DCMTK logs through its own logger; radflow reports what matters itself.
  OFLog::configure(OFLogger::WARN_LOG_LEVEL);
  if (!dcmDataDict.isDictionaryLoaded()) {
    return {ErrorCode::kInternal, "DCMTK data dictionary not loaded (DCMDICTPATH?)"};
  }
  OFCondition cond = ASC_initializeNetwork(NET_ACCEPTOR, config_.port, 30, &net_->net);
  if (cond.bad()) {
    return {ErrorCode::kUnavailable,
            "cannot listen on DICOM port " + std::to_string(config_.port) + ": " + cond.text()};
  }
  port_ = config_.port;
  acceptor_ = std::thread([this] { AcceptLoop(); });
  log::Info("DICOM SCP " + config_.ae_title + " listening on port " + std::to_string(port_));
  return Status::Ok();
}

void DimseServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  while (active_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (net_->net) ASC_dropNetwork(&net_->net);
}

void DimseServer::AcceptLoop() {
  while (!stopping_.load()) {
    T_ASC_Association* assoc = nullptr;
    // Poll with a 1 s timeout so that Stop() is noticed.
    // Offer the largest PDU DCMTK handles (128 KiB): a 512x512 CT slice then arrives in 4
    // PDUs instead of 33, with as many fewer reads and writes.
    OFCondition cond = ASC_receiveAssociation(net_->net, &assoc, ASC_MAXIMUMPDUSIZE, nullptr,
                                              nullptr, OFFalse, DUL_NOBLOCK, 1);
    if (cond == DUL_NOASSOCIATIONREQUEST) {
      if (assoc) ASC_destroyAssociation(&assoc);
      continue;
    }
    if (cond.bad()) {
      log::Warn(std::string("association request failed: ") + cond.text());
      if (assoc) {
        ASC_dropAssociation(assoc);
        ASC_destroyAssociation(&assoc);
      }
      continue;
    }
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
    cond = NegotiateContexts(assoc->params);
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
    ++active_;
    std::thread([this, assoc] {
      ServeAssociation(assoc, config_, services_, stopping_);
      --active_;
    }).detach();
  }
}

}  // namespace radflow::dimse
