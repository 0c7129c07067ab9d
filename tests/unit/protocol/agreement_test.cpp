// Agreement of the shipped protocol rules with the expected protocols of
// tests/data/protocol_orders.tsv (exact protocol_code match), per split, against the figures
// docs/protocols.md states. The IU chest X-ray rows read their real exam description and
// indication from the shared corpus (the tsv names the report uid only).
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "orders/protocol.h"

namespace radflow::orders {
namespace {

struct Row {
  std::string id, split, source, modality, procedure, reason, expected;
};

std::vector<std::string> SplitTabs(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, '\t')) out.push_back(field);
  return out;
}

// RFC 4180 CSV (quoted fields may hold commas, newlines and "" quotes).
std::vector<std::vector<std::string>> ReadCsv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(std::move(field));
      field.clear();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      rows.back().push_back(std::move(field));
      field.clear();
      rows.emplace_back();
    } else {
      field += c;
    }
  }
  if (!field.empty() || !rows.back().empty()) rows.back().push_back(std::move(field));
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

struct Score {
  int rows = 0, correct = 0;
  double percent() const { return rows ? 100.0 * correct / rows : 0; }
};

TEST(ProtocolAgreement, HeldOutAndDevAgreementMatchTheDocs) {
  const std::string tsv = std::string(RADFLOW_SOURCE_DIR) + "/tests/data/protocol_orders.tsv";
  const std::string csv = std::string(RADFLOW_SHARED_DATA) + "/reports/iu_cxr/indiana_reports.csv";
  const std::string doc = std::string(RADFLOW_SOURCE_DIR) + "/docs/protocols.md";

  // uid -> (image, indication) of the IU CXR reports.
  std::map<std::string, std::pair<std::string, std::string>> iu;
  std::vector<std::vector<std::string>> table = ReadCsv(csv);
  ASSERT_GT(table.size(), 1u) << "cannot read " << csv;
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < table[0].size(); ++i) col[table[0][i]] = i;
  ASSERT_TRUE(col.count("uid") && col.count("image") && col.count("indication")) << csv;
  for (size_t r = 1; r < table.size(); ++r) {
    if (table[r].size() != table[0].size()) continue;
    iu[table[r][col["uid"]]] = {table[r][col["image"]], table[r][col["indication"]]};
  }
  ASSERT_EQ(iu.size(), 3851u) << "the IU CXR corpus has 3,851 reports";

  std::ifstream in(tsv);
  ASSERT_TRUE(in) << "cannot open " << tsv;
  std::vector<Row> rows;
  bool header = true;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f = SplitTabs(line);
    ASSERT_EQ(f.size(), 7u) << "tsv line: " << line;
    if (header) {
      header = false;
      continue;
    }
    Row row{f[0], f[1], f[2], f[3], f[4], f[5], f[6]};
    ASSERT_TRUE(row.split == "dev" || row.split == "test") << row.id;
    if (row.source.rfind("iu-cxr:", 0) == 0) {
      auto it = iu.find(row.source.substr(7));
      ASSERT_NE(it, iu.end()) << row.id << ": no IU report " << row.source;
      row.procedure = it->second.first;
      row.reason = it->second.second;
    }
    rows.push_back(std::move(row));
  }
  ASSERT_EQ(rows.size(), 215u);  // docs/protocols.md#Measured agreement: 107 test + 108 dev rows

  std::map<std::string, Score> score;
  const ProtocolRules& rules = DefaultProtocolRules();
  for (const Row& row : rows) {
    storage::OrderRow order;
    order.modality = row.modality;
    order.procedure_text = row.procedure;
    order.reason = row.reason;
    ProtocolProposal p = ProposeProtocol(rules, order);
    const std::string got = p.found ? p.protocol_code : "-";
    Score& s = score[row.split];
    ++s.rows;
    if (got == row.expected) {
      ++s.correct;
    } else {
      std::printf("miss %s [%s] %s | %s | %s: expected %s, got %s (%s)\n", row.id.c_str(),
                  row.split.c_str(), row.modality.c_str(), row.procedure.c_str(), row.reason.c_str(),
                  row.expected.c_str(), got.c_str(), p.reason.c_str());
    }
  }
  for (const auto& [split, s] : score)
    std::printf("agreement %s: %d/%d = %.1f %%\n", split.c_str(), s.correct, s.rows, s.percent());

  // docs/protocols.md: <!-- protocol-agreement dev=NN.N test=NN.N min_dev=NN min_test=NN -->
  std::ifstream docs(doc);
  ASSERT_TRUE(docs) << "cannot open " << doc;
  std::ostringstream text;
  text << docs.rdbuf();
  std::smatch m;
  const std::string body = text.str();
  ASSERT_TRUE(std::regex_search(body, m,
                                std::regex(R"(protocol-agreement dev=([0-9.]+) test=([0-9.]+) )"
                                           R"(min_dev=([0-9.]+) min_test=([0-9.]+))")))
      << "docs/protocols.md states no protocol-agreement line";
  const double stated_dev = std::stod(m[1]), stated_test = std::stod(m[2]);
  const double min_dev = std::stod(m[3]), min_test = std::stod(m[4]);
  // The claim: the held-out figure reaches the stated threshold; the stated figures are
  // the measured ones (to the 0.1 % the doc prints).
  EXPECT_GE(score["test"].percent(), min_test);
  EXPECT_GE(score["dev"].percent(), min_dev);
  EXPECT_NEAR(score["test"].percent(), stated_test, 0.05) << "update docs/protocols.md";
  EXPECT_NEAR(score["dev"].percent(), stated_dev, 0.05) << "update docs/protocols.md";
}

}  // namespace
}  // namespace radflow::orders
