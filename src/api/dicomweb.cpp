#include "api/dicomweb.h"

namespace radflow::api {

namespace {

std::vector<std::string> Segments(const std::string& path, size_t skip) {
  std::vector<std::string> out;
  size_t start = skip;
  for (size_t i = skip; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (i > start) out.push_back(path.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// QIDO-RS searches end in a resource collection (PS3.18 10.6.1); the rest is WADO-RS.
bool IsSearch(const std::vector<std::string>& s) {
  const std::string& last = s.empty() ? "" : s.back();
  if (last != "studies" && last != "series" && last != "instances") return false;
  return s.size() == 1 || (s.size() == 3 && s[0] == "studies") ||
         (s.size() == 5 && s[0] == "studies" && s[2] == "series" && s[4] == "instances");
}

}  // namespace

void RegisterDicomWeb(http::HttpServer& server, const DicomWebContext& context) {
  const DicomWebContext ctx = context;
  server.RoutePrefix("GET", ctx.root + "/", [ctx](const http::Request& req) {
    auto seg = Segments(req.path, ctx.root.size() + 1);
    return IsSearch(seg) ? QidoSearch(ctx, req, seg) : WadoRetrieve(ctx, req, seg);
  });
  server.RouteStreaming("POST", ctx.root + "/studies",
                        [ctx](const http::Request& req, http::BodyReader& body) {
                          auto seg = Segments(req.path, ctx.root.size() + 1);
                          if (seg.empty() || seg[0] != "studies" || seg.size() > 2) {
                            return http::Response::Error(Status(ErrorCode::kNotFound, "no such STOW-RS resource: " + req.path));
                          }
                          return StowStore(ctx, req, body, seg.size() == 2 ? seg[1] : "");
                        });
}

}  // namespace radflow::api
