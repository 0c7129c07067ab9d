// DICOMweb (PS3.18): STOW-RS, QIDO-RS and WADO-RS at /dicom-web, one file per service as
// Orthanc's plugin has them (stow_rs.cpp, qido_rs.cpp, wado_rs.cpp).
#pragma once

#include "http/http_server.h"
#include "ingest/ingest_service.h"
#include "storage/blob_store.h"
#include "storage/index.h"

namespace radflow::api {

struct DicomWebContext {
  ingest::IngestService* ingest;
  storage::Index* index;
  storage::BlobStore* blobs;
  std::string root = "/dicom-web";
};

void RegisterDicomWeb(http::HttpServer& server, const DicomWebContext& context);

// Services, used by RegisterDicomWeb and directly by tests.
http::Response QidoSearch(const DicomWebContext& ctx, const http::Request& req,
                          const std::vector<std::string>& segments);
http::Response WadoRetrieve(const DicomWebContext& ctx, const http::Request& req,
                            const std::vector<std::string>& segments);
http::Response StowStore(const DicomWebContext& ctx, const http::Request& req,
                         http::BodyReader& body, const std::string& study_uid);

}  // namespace radflow::api
