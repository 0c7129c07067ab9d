// `radflow orders import --data DIR FILE.wl...` (docs/orders.md "MWL/MPPS"): worklist items
// as DCMTK's wlmscpfs serves them, read into orders through OrderService::Create, so that the
// same worklist can be served by both.
#include "cli/orders_command.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli/index_option.h"
#include "dimse/mwl_scp.h"
#include "orders/order_service.h"
#include "storage/index.h"
#include "storage/order_store.h"
#include "storage/index_location.h"

namespace radflow::cli {

namespace {

struct ImportOptions {
  std::string data;
  std::string index;  // "" → DATA/index.db
  std::vector<std::string> paths;
};

int Fail(const std::string& message) {
  std::cerr << "radflow orders import: " << message << "\n";
  return 2;
}

// The files named, a folder standing for its *.wl files (sorted: a stable import order).
Result<std::vector<std::string>> ExpandPaths(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& e : std::filesystem::directory_iterator(p, ec)) {
        if (e.is_regular_file() && e.path().extension() == ".wl") found.push_back(e.path().string());
      }
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (std::filesystem::is_regular_file(p, ec)) {
      out.push_back(p);
    } else {
      return {ErrorCode::kNotFound, p + ": no such file or folder"};
    }
  }
  return out;
}

// exit 0: every item imported; 1: some failed (each named on stderr); 2: nothing could be done.
int RunImport(const ImportOptions& o) {
  std::error_code ec;
  if (!std::filesystem::is_directory(o.data, ec)) return Fail("--data " + o.data + " is not a directory");
  auto files = ExpandPaths(o.paths);
  if (!files.ok()) return Fail(files.status().message());
  if (files->empty()) return Fail("no worklist items (.wl files) given");
  const std::string db = storage::IndexLocation(o.data, o.index);
  auto index = storage::Index::Open(db);  // applies the schema migrations
  if (!index.ok()) return Fail(index.status().message());
  auto store = storage::OrderStore::Open(db);
  if (!store.ok()) return Fail(store.status().message());
  orders::OrderService service(**store, orders::OrderServiceOptions{});
  const char* login = std::getenv("USER");
  const std::string user = std::string("import:") + (login && *login ? login : "cli");
  int failed = 0;
  for (const auto& path : *files) {
    auto item = dimse::ReadWorklistItem(path);
    if (!item.ok()) {
      std::cerr << "radflow orders import: " << item.status().message() << "\n";
      ++failed;
      continue;
    }
    auto created = service.Create(std::move(item.value()), user);
    if (!created.ok()) {
      std::cerr << "radflow orders import: " << path << ": " << created.status().message() << "\n";
      ++failed;
      continue;
    }
    std::cout << path << ": order " << created->id << " accession '" << created->accession_number
              << "' study " << created->study_uid << "\n";
  }
  std::cout << (files->size() - failed) << " of " << files->size() << " worklist items imported\n";
  return failed ? 1 : 0;
}

}  // namespace

void AddOrdersCommands(CLI::App& app, std::function<int()>& run) {
  auto* orders = app.add_subcommand("orders", "Orders and the Modality Worklist (docs/orders.md)");
  orders->require_subcommand(1);
  auto opts = std::make_shared<ImportOptions>();
  auto* imp = orders->add_subcommand(
      "import", "Read DICOM worklist items (wlmscpfs .wl files, or folders of them) into orders");
  imp->add_option("--data", opts->data, "Data directory of the hub")->required();
  AddIndexOption(imp, &opts->index);
  imp->add_option("files", opts->paths, "Worklist item files or folders")->required();
  imp->callback([opts, &run] { run = [opts] { return RunImport(*opts); }; });
}

}  // namespace radflow::cli
