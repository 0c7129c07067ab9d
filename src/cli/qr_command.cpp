#include "cli/qr_command.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "dimse/query_scu.h"

namespace radflow::cli {
namespace {

int Fail(const Status& st) {
  std::cerr << "radflow: " << st.ToString() << "\n";
  return 1;
}

}  // namespace

void AddQrCommand(CLI::App& app, QrCommand* c) {
  auto* qr = app.add_subcommand("qr", "query/retrieve a remote archive (C-FIND, C-MOVE)");
  qr->require_subcommand(1);
  auto common = [&](CLI::App* sub) {
    sub->add_option("--remote", c->options.remote, "the archive, AE=host:port")->required();
    sub->add_option("--aet", c->options.aet, "our calling AE title")->capture_default_str();
  };
  c->find = qr->add_subcommand("find", "a patient's studies at the archive, as JSON");
  common(c->find);
  c->find->add_option("--patient", c->options.patient, "PatientID (exact)")->required();
  c->find->add_option("--issuer", c->options.issuer, "IssuerOfPatientID (default: any)");
  c->move = qr->add_subcommand("move", "move one study to an AE; sub-operation counts as JSON");
  common(c->move);
  c->move->add_option("--study", c->options.study, "StudyInstanceUID")->required();
  c->move->add_option("--dest", c->options.dest, "move destination AE title (known to the archive)")
      ->required();
}

bool QrSelected(const QrCommand& c) { return (c.find && *c.find) || (c.move && *c.move); }

int RunQrCommand(const QrCommand& c) {
  const QrCommandOptions& o = c.options;
  auto remote = dimse::ParseRemoteAe(o.remote);
  if (!remote.ok()) return Fail(remote.status());
  if (c.find && *c.find) {
    auto studies = dimse::FindPatientStudies(remote.value(), o.aet, o.patient, o.issuer);
    if (!studies.ok()) return Fail(studies.status());
    auto out = nlohmann::json::array();
    for (const auto& s : studies.value()) {
      out.push_back({{"study_uid", s.study_uid},
                     {"patient_id", s.patient_id},
                     {"issuer_of_patient_id", s.issuer_of_patient_id},
                     {"study_date", s.study_date},
                     {"study_time", s.study_time},
                     {"modalities", s.modalities},
                     {"study_description", s.study_description},
                     {"accession_number", s.accession_number},
                     {"body_part", s.body_part},
                     {"num_instances", s.num_instances}});
    }
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  auto moved = dimse::MoveStudy(remote.value(), o.aet, o.study, o.dest);
  if (!moved.ok()) return Fail(moved.status());
  std::cout << nlohmann::json{{"completed", moved->completed},
                              {"failed", moved->failed},
                              {"warning", moved->warning}}
                   .dump()
            << "\n";
  return moved->failed > 0 ? 2 : 0;
}

}  // namespace radflow::cli
