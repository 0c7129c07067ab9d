// The remote worker's HTTP client for the hub (docs/remote-workers.md), over libcurl: JSON
// calls of the worker REST API, WADO-RS retrieval streamed part by part into files, STOW-RS.
// Every call carries `Authorization: Bearer <token>` (an API token of an ai-service
// account). libcurl types stay in hub_client.cpp.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace radflow::ai::remote {

struct HubReply {
  long status = 0;  // HTTP status
  std::string content_type;
  std::string body;  // JSON calls and errors; empty for a streamed retrieval
  // The hub's {"error": ...} text, else the body's start (for messages).
  std::string ErrorText() const;
};

class HubClient {
 public:
  // `base_url`: http(s)://host:port (no trailing path). `timeout_s` bounds each JSON call;
  // WADO-RS and STOW-RS transfers have no total limit but are abandoned below 1 kB/s for 60 s.
  // `ca_file`: PEM certificates that verify an https hub ("" = the system's trust store).
  HubClient(std::string base_url, std::string token, std::string ca_file = "", double timeout_s = 30);

  // POST of a JSON body to `path`; any HTTP status is a reply, network errors Unavailable.
  Result<HubReply> PostJson(const std::string& path, const nlohmann::json& body) const;
  // GET of a multipart/related answer (WADO-RS), each part's bytes handed to `on_part_data`
  // after `on_part_begin` (its headers) and followed by `on_part_end`, as they arrive: a
  // series is never held in memory. A non-2xx answer is returned with its body.
  struct PartSink {
    std::function<Status(const std::map<std::string, std::string>& headers)> begin;
    std::function<Status(std::string_view data)> data;
    std::function<Status()> end;
  };
  Result<HubReply> GetMultipart(const std::string& path, const std::string& accept, const PartSink& sink) const;
  // POST of an already built body with its Content-Type (STOW-RS).
  Result<HubReply> Post(const std::string& path, const std::string& content_type, const std::string& body) const;

  const std::string& base_url() const { return base_url_; }

 private:
  std::string base_url_, token_, ca_file_;
  long timeout_ms_;
};

}  // namespace radflow::ai::remote
