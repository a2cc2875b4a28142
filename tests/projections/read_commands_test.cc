// Goal: the read commands of the built `mulin` keep DESIGN §5's contract: balances and histories
// of bare and full account ids, fund statements now and as of a seq or an instant, CSV with a BOM,
// yuan beside raw fen and +08:00 times, bad times refused with exit 2 and one line, reconcile's
// exit 0 / 3 and its JSON report, and no progress line when stderr is piped.
#include <capnp/compat/json.h>
#include <capnp/message.h>
#include <gtest/gtest.h>

#include <sstream>

#include "projections/balances.h"
#include "projections/codec.h"
#include "projections/engine.h"
#include "projections/schema/read_report.capnp.h"
#include "tests/projections/ledger_events.h"
#include "tests/projections/ledger_fixture.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace mulin::projections {
namespace {

using schema::Unit;
using W = schema::Event::Body::Which;

constexpr char kBom[] = "\xEF\xBB\xBF";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

bool Has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

class ProjectionCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger_.Open();
    testing::LedgerEvents e;              // one event a minute from 2026-03-01T08:00:00+08:00
    e.Community("xishan");                // 1
    e.Placed("xishan", "O1", "R1");       // 2
    e.Dispatched("xishan", "O1", "SW1");  // 3
    e.Accepted("xishan", "O1");           // 4
    e.Delivered("xishan", "O1", {{"V1", 90}, {"V2", 30}});                  // 5
    e.Rated("xishan", "O1", 4);                                             // 6
    e.Points(W::POINTS_CREDITED, "xishan", "O1", {{"V1", 15}, {"V2", 5}});  // 7
    e.Redeemed("xishan", "RD1", "V1", "M1", 10);                            // 8
    e.Sale("xishan", "S1", "M1", 12345);                                    // 9: 12.35 yuan
    e.Sale("xishan", "S2", "M2", 1000);                                     // 10: 1.00 yuan
    e.SaleReversed("xishan", "S1", 9, "M1", 12345, 1235);                   // 11
    e.Payout("xishan", "PAY1", "P1", 50);                                   // 12
    ledger_.Append(e.Take());
    ledger_.Close();
  }

  testing::RunResult Mulin(std::vector<std::string> args) {
    args.insert(args.begin(), {MULIN_BINARY, "--db", ledger_.dir()});
    testing::RunOptions options;
    options.unset_env.push_back("MULIN_DB");
    return testing::Run(args, options);
  }

  void ChangeStoredRow(const std::string& key, const std::string& value) {
    ledger_.Open();
    RowBatch batch;
    batch.puts.emplace_back(key, value);
    ASSERT_TRUE(ledger_.rows()->Commit(batch).ok());
    ledger_.Close();
  }

  testing::TempDir dir_;
  testing::LedgerFixture ledger_{dir_.Sub("ledger")};
};

TEST_F(ProjectionCliTest, BalanceOfBareAndFullIds) {
  auto v1 = Mulin({"balance", "V1"});
  ASSERT_EQ(0, v1.exit_code) << v1.err;
  EXPECT_TRUE(Has(v1.out, "volunteer:V1")) << v1.out;
  EXPECT_TRUE(Has(v1.out, "5 points")) << v1.out;
  EXPECT_TRUE(Has(v1.out, "90 minutes")) << v1.out;
  auto fund = Mulin({"balance", "fund:xishan"});
  ASSERT_EQ(0, fund.exit_code) << fund.err;
  EXPECT_TRUE(Has(fund.out, "0.50 yuan (50 fen)")) << fund.out;
  auto community = Mulin({"balance", "xishan"});
  ASSERT_EQ(0, community.exit_code);
  for (const char* account : {"fund:xishan", "issuance:xishan", "service:xishan"}) {
    EXPECT_TRUE(Has(community.out, account)) << community.out;
  }
  auto nobody = Mulin({"balance", "nobody"});
  EXPECT_EQ(1, nobody.exit_code);
  EXPECT_EQ(1u, Lines(nobody.err).size()) << nobody.err;
  EXPECT_TRUE(Has(nobody.err, "nobody"));
}

TEST_F(ProjectionCliTest, HistoryCsvHasBomYuanAndFenAndShanghaiTimes) {
  auto csv = Mulin({"history", "fund:xishan", "--csv"});
  ASSERT_EQ(0, csv.exit_code) << csv.err;
  ASSERT_EQ(0u, csv.out.rfind(kBom, 0)) << "no byte-order mark";
  const auto lines = Lines(csv.out.substr(3));
  ASSERT_EQ(5u, lines.size()) << csv.out;  // header, two sales, a reversal, a payout
  EXPECT_EQ("account,seq,time,event,unit,counterparty,amount,balance,amount_yuan,balance_yuan",
            lines[0]);
  EXPECT_EQ(
      "fund:xishan,9,2026-03-01T08:08:00+08:00,saleRecorded,fen,merchant:M1,1235,1235,12.35,"
      "12.35",
      lines[1]);
  EXPECT_EQ(
      "fund:xishan,12,2026-03-01T08:11:00+08:00,payoutApproved,fen,project:P1,-50,50,-0.50,0.50",
      lines[4]);
  EXPECT_TRUE(Has(csv.out, "\r\n"));

  auto points = Mulin({"history", "V1", "--csv", "--from", "2026-03-01T08:06:00+08:00"});
  ASSERT_EQ(0, points.exit_code) << points.err;
  const auto rows = Lines(points.out.substr(3));
  ASSERT_EQ(3u, rows.size()) << points.out;  // the credit and the redemption; minutes were before
  EXPECT_EQ("volunteer:V1,8,2026-03-01T08:07:00+08:00,pointsRedeemed,points,merchant:M1,-10,5,,",
            rows[2]);
}

TEST_F(ProjectionCliTest, FundStatementNowAndAsOfASeqOrAnInstant) {
  auto text = Mulin({"fund", "xishan"});
  ASSERT_EQ(0, text.exit_code) << text.err;
  for (const char* line : {"Opening balance", "M1: 1 sale, gross 123.45", "seq 11 S1",
                           "P1: 1 payout", "Closing balance"}) {
    EXPECT_TRUE(Has(text.out, line)) << line << " in\n" << text.out;
  }
  auto now = Lines(Mulin({"fund", "xishan", "--csv"}).out.substr(3));
  ASSERT_EQ(7u, now.size());
  EXPECT_EQ("xishan,,,closing,,,,,,,0.50,50", now.back());

  auto at_seq = Mulin({"fund", "xishan", "--at-seq", "10", "--csv"});
  ASSERT_EQ(0, at_seq.exit_code) << at_seq.err;
  EXPECT_EQ("xishan,,,closing,,,,,,,13.35,1335", Lines(at_seq.out).back());
  // Seq 10 was recorded at 08:09; as of 08:10 means everything recorded before 08:10.
  auto as_of = Mulin({"fund", "xishan", "--as-of", "2026-03-01T08:10:00+08:00", "--csv"});
  ASSERT_EQ(0, as_of.exit_code) << as_of.err;
  EXPECT_EQ("xishan,,2026-03-01T08:10:00+08:00,closing,,,,,,,13.35,1335", Lines(as_of.out).back());
  auto period = Mulin({"fund", "xishan", "--from", "2026-03-01T08:09:00+08:00", "--csv"});
  const auto rows = Lines(period.out.substr(3));
  EXPECT_EQ("xishan,,2026-03-01T08:09:00+08:00,opening,,,,,,,12.35,1235", rows[1]);
}

TEST_F(ProjectionCliTest, BadTimesAndSeqsAreUsageErrorsInOneLine) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"history", "V1", "--from", "2026-02-30"},
        {"history", "V1", "--to", "2026-03-01T08:00:00"},
        {"fund", "xishan", "--as-of", "tomorrow"},
        {"fund", "xishan", "--from", "2026-03-02", "--to", "2026-03-01"},
        {"fund", "xishan", "--at-seq", "99"}}) {
    auto run = Mulin(args);
    EXPECT_EQ(2, run.exit_code) << args[2] << ": " << run.err;
    EXPECT_EQ(1u, Lines(run.err).size()) << run.err;
    EXPECT_TRUE(run.out.empty());
  }
  EXPECT_EQ(2, Mulin({"fund", "xishan", "--as-of", "2026-03-01", "--at-seq", "3"}).exit_code);
}

TEST_F(ProjectionCliTest, ServiceShowsStatesRatingsAndTopVolunteers) {
  auto run = Mulin({"service", "xishan"});
  ASSERT_EQ(0, run.exit_code) << run.err;
  EXPECT_TRUE(Has(run.out, "closed             1")) << run.out;
  EXPECT_TRUE(Has(run.out, "average 4.00 of 1 rating; placed to rated 0 h 04 min")) << run.out;
  EXPECT_TRUE(Has(run.out, "1. V1")) << run.out;
  EXPECT_TRUE(Has(run.out, "120 minutes")) << run.out;
}

TEST_F(ProjectionCliTest, ReconcileExitsZeroThenThreeWithTheDifferenceListed) {
  auto clean = Mulin({"reconcile"});
  EXPECT_EQ(0, clean.exit_code) << clean.out << clean.err;
  EXPECT_TRUE(Has(clean.out, "ok: 12 events rebuilt")) << clean.out;
  EXPECT_FALSE(Has(clean.err, "\r")) << "a progress line on a pipe";
  auto caught_up = Mulin({"projections", "catch-up"});
  ASSERT_EQ(0, caught_up.exit_code) << caught_up.err;
  EXPECT_EQ(0, Mulin({"reconcile"}).exit_code);

  std::string key = RowPrefix(kBalancesName);
  AppendKeyString(&key, "volunteer:V2");
  key.push_back(static_cast<char>(Unit::POINTS));
  ChangeStoredRow(key, ValueWriter().I64(500).U64(1).U64(7).Finish());
  auto text = Mulin({"reconcile"});
  EXPECT_EQ(3, text.exit_code) << text.out;
  EXPECT_TRUE(Has(text.out, "FAILED: 1 difference")) << text.out;
  EXPECT_TRUE(Has(text.out, "volunteer:V2 points")) << text.out;
  EXPECT_TRUE(Has(text.out, "expected: 5 points")) << text.out;
  EXPECT_TRUE(Has(text.out, "found:    500 points")) << text.out;

  auto json = Mulin({"reconcile", "--json"});
  EXPECT_EQ(3, json.exit_code);
  capnp::MallocMessageBuilder message;
  auto report = message.initRoot<schema::ReconcileReport>();
  capnp::JsonCodec codec;
  codec.decode(kj::StringPtr(json.out.c_str()), report);
  EXPECT_FALSE(report.getOk());
  EXPECT_TRUE(report.getChainOk());
  EXPECT_EQ(12u, report.getHead().getSeq());
  ASSERT_EQ(1u, report.getDifferences().size());
  EXPECT_EQ("balances", std::string(report.getDifferences()[0].getWhere().cStr()));
  EXPECT_EQ("volunteer:V2 points", std::string(report.getDifferences()[0].getSubject().cStr()));
  EXPECT_EQ(1u, report.getDifferencesTotal());

  // A read command still answers from the stored rows; a rebuild repairs them.
  EXPECT_TRUE(Has(Mulin({"balance", "V2"}).out, "500 points"));
  ASSERT_EQ(0, Mulin({"projections", "rebuild", "balances"}).exit_code);
  EXPECT_EQ(0, Mulin({"reconcile"}).exit_code);
}

TEST_F(ProjectionCliTest, UnusableStoredProjectionsAreAnsweredFromARebuild) {
  ASSERT_EQ(0, Mulin({"projections", "catch-up"}).exit_code);
  ChangeStoredRow(CheckpointKey(kBalancesName), EncodeCheckpoint(Checkpoint{7, {}}));
  auto run = Mulin({"balance", "V1"});
  ASSERT_EQ(0, run.exit_code) << run.err;
  EXPECT_TRUE(Has(run.out, "5 points")) << run.out;
  EXPECT_TRUE(Has(run.err, "warning")) << run.err;
  EXPECT_TRUE(Has(run.err, "mulin reconcile")) << run.err;
  EXPECT_EQ(3, Mulin({"reconcile"}).exit_code);
}

}  // namespace
}  // namespace mulin::projections
