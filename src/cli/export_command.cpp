#include "cli/export_command.h"


#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "api/request_util.h"
#include "audit/audit_trail.h"
#include "cli/index_option.h"
#include "research/research.h"
#include "server/hub.h"

namespace radflow::cli {

namespace {

struct Options {
  std::string data = "./radflow-data";
  std::string index;  // "" → DATA/index.db
  std::string storage, s3_endpoint;  // --storage, --s3-endpoint
  std::string name, description, criteria;  // cohort create
  std::string cohort, out, deid_options, formats = "dicom,nifti,csv";
  int version = 0;
};

int Fail(const std::string& command, const Status& s) {
  std::cerr << "radflow " << command << ": " << s.ToString() << "\n";
  return 1;
}

std::string UserName() {
  const char* u = std::getenv("USER");
  return u != nullptr && *u ? u : "cli";
}

struct Opened {
  std::unique_ptr<server::Hub> hub;
  std::unique_ptr<research::ResearchService> research;
};

Result<Opened> Open(const std::string& data, const std::string& index, const server::BlobLocation& where) {
  Opened o;
  auto hub = server::Hub::Open(data, {}, false, index, where);
  if (!hub.ok()) return hub.status();
  o.hub = std::move(hub.value());
  research::ResearchConfig config;
  config.data_dir = data;
  config.index = o.hub->index_location;
  config.audit = [data, db = o.hub->index_location](const audit::AuditEvent& e) {
    audit::AuditOptions options;
    options.data_dir = data;
    options.db_path = db;
    Status s = audit::RecordNow(options, e);
    if (!s.ok()) std::cerr << "radflow: audit record not written: " << s.ToString() << "\n";
  };
  auto r = research::ResearchService::Open(*o.hub->index, *o.hub->blobs, config);
  if (!r.ok()) return r.status();
  o.research = std::move(r.value());
  return o;
}

std::string CountsText(const storage::CohortCounts& c) {
  return std::to_string(c.patients) + " patients, " + std::to_string(c.studies) + " studies, " +
         std::to_string(c.series) + " series, " + std::to_string(c.instances) + " instances, " +
         std::to_string(c.lesions) + " lesions";
}

int CohortCreate(const Options& o) {
  std::string text = o.criteria.empty() ? "{}" : o.criteria;
  if (!text.empty() && text[0] == '@') {
    std::ifstream in(text.substr(1), std::ios::binary);
    if (!in) return Fail("cohort create", Status(ErrorCode::kNotFound, "cannot read " + text.substr(1)));
    std::ostringstream s;
    s << in.rdbuf();
    text = s.str();
  }
  auto criteria = research::ParseCriteria(text);
  if (!criteria.ok()) return Fail("cohort create", criteria.status());
  auto opened = Open(o.data, o.index, {o.storage, o.s3_endpoint, ""});
  if (!opened.ok()) return Fail("cohort create", opened.status());
  auto row = opened->research->CreateCohort(o.name, o.description, criteria.value(), UserName());
  if (!row.ok()) return Fail("cohort create", row.status());
  std::cout << "cohort '" << row->name << "' version " << row->version << ": " << CountsText(row->counts) << "\n";
  return 0;
}

int CohortList(const Options& o) {
  auto opened = Open(o.data, o.index, {o.storage, o.s3_endpoint, ""});
  if (!opened.ok()) return Fail("cohort list", opened.status());
  auto rows = opened->research->Cohorts();
  if (!rows.ok()) return Fail("cohort list", rows.status());
  for (const auto& c : rows.value()) {
    std::cout << c.name << "\tv" << c.version << "\t" << CountsText(c.counts) << "\t" << c.created_by
              << (c.description.empty() ? "" : "\t" + c.description) << "\n";
  }
  if (rows->empty()) std::cout << "no cohorts\n";
  return 0;
}

// "\r[#####.....] 12/40 files" on stderr; a newline at the end.
void ProgressBar(int64_t done, int64_t total) {
  constexpr int kWidth = 30;
  const int filled = total > 0 ? static_cast<int>(done * kWidth / total) : 0;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '.');
  std::fprintf(stderr, "\r[%s] %lld/%lld files", bar.c_str(), static_cast<long long>(done),
               static_cast<long long>(total));
  if (done >= total) std::fputc('\n', stderr);
  std::fflush(stderr);
}

int Export(const Options& o) {
  research::ExportRequest request;
  request.cohort = o.cohort;
  request.version = o.version;
  auto options = deid::ParseDeidOptions(o.deid_options);
  if (!options.ok()) return Fail("export", options.status());
  request.options = options.value();
  auto formats = research::ParseFormats(api::SplitComma(o.formats));
  if (!formats.ok()) return Fail("export", formats.status());
  request.formats = formats.value();
  auto opened = Open(o.data, o.index, {o.storage, o.s3_endpoint, ""});
  if (!opened.ok()) return Fail("export", opened.status());
  research::Requester who{UserName(), "", "", "cli"};
  auto manifest = opened->research->ExportNow(request, o.out, who, ProgressBar);
  if (!manifest.ok()) return Fail("export", manifest.status());
  auto m = nlohmann::json::parse(manifest.value(), nullptr, false);
  if (m.is_object()) {
    const auto& c = m["contents"];
    std::cout << "exported cohort '" << o.cohort << "' version " << m["cohort"]["version"] << " to " << o.out << ": "
              << c["dicom_files"] << " DICOM files (" << c["dicom_skipped"] << " left out), " << c["nifti_images"]
              << " NIfTI images, " << c["nifti_masks"] << " masks, " << c["findings_rows"] << " findings\n";
  }
  return 0;
}

}  // namespace

void AddExportCommands(CLI::App& app, std::function<int()>& run) {
  auto o = std::make_shared<Options>();

  auto* cohort = app.add_subcommand("cohort", "research cohorts (docs/research.md)");
  cohort->require_subcommand(1);
  auto* create = cohort->add_subcommand("create", "select studies by criteria and save them as the next version of a cohort");
  create->add_option("--data", o->data, "data directory")->capture_default_str();
  AddIndexOption(create, &o->index);
  AddStorageOptions(create, &o->storage, &o->s3_endpoint);
  create->add_option("--name", o->name, "cohort name")->required();
  create->add_option("--description", o->description, "what the cohort is for");
  create->add_option("--criteria", o->criteria, "criteria JSON, or @file (docs/research.md)");
  create->callback([o, &run] { run = [o] { return CohortCreate(*o); }; });
  auto* list = cohort->add_subcommand("list", "the newest version of every cohort");
  list->add_option("--data", o->data, "data directory")->capture_default_str();
  AddIndexOption(list, &o->index);
  AddStorageOptions(list, &o->storage, &o->s3_endpoint);
  list->callback([o, &run] { run = [o] { return CohortList(*o); }; });

  auto* exp = app.add_subcommand("export", "write a de-identified research export of a cohort");
  exp->add_option("--data", o->data, "data directory")->capture_default_str();
  AddIndexOption(exp, &o->index);
  AddStorageOptions(exp, &o->storage, &o->s3_endpoint);
  exp->add_option("--cohort", o->cohort, "cohort name")->required();
  exp->add_option("--version", o->version, "cohort version (default: the newest)");
  exp->add_option("--out", o->out, "output folder (created; must be empty)")->required();
  exp->add_option("--options", o->deid_options,
                  "de-identification options: retain-dates,retain-patient-chars,retain-device,"
                  "clean-descriptors,clean-structured,clean-graphics,clean-pixels");
  exp->add_option("--formats", o->formats, "dicom,nifti,csv (any subset)")->capture_default_str();
  exp->callback([o, &run] { run = [o] { return Export(*o); }; });
}

}  // namespace radflow::cli
