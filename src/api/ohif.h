// The web front end: radflow's own study list at "/" and the OHIF viewer at "/ohif/",
// both reading radflow's same-origin DICOMweb service at "/dicom-web".
// The viewer is the prebuilt OHIF 3 site that scripts/setup_web.sh installs, already
// rewritten to live under /ohif/ (see shared notes/ohif.md).
#pragma once

#include <string>
#include <string_view>

#include "http/http_server.h"

namespace radflow::api {

// The OHIF configuration script served at /ohif/app-config.js: one DICOMweb data source
// at /dicom-web, router base /ohif, onboarding tour and investigational-use banner off.
std::string OhifAppConfig();

// GET /ohif (and everything under /ohif/): the files of `ohif_dist_dir` with the
// single-page fallback, and the generated /ohif/app-config.js. While the directory holds
// no index.html, /ohif/ answers 503 with a message saying to run `make setup`.
void RegisterOhif(http::HttpServer& server, const std::string& ohif_dist_dir);

// The page served at "/": a self-contained study list (QIDO-RS from the browser) whose
// rows open the study in the OHIF viewer.
std::string_view StudyListHtml();

// GET `path` ("/" without the web application, else "/studies"): StudyListHtml().
void RegisterWebUi(http::HttpServer& server, const std::string& path = "/");

}  // namespace radflow::api
