// Goal: reconcile agrees with a healthy ledger (also when the stored projections lag) and finds,
// each as a listed difference, every kind of damage planted behind its back: a changed, missing
// or extra row, a moved checkpoint, a tampered record, and events that break DESIGN §2's
// invariants.
#include "projections/reconcile.h"

#include <gtest/gtest.h>

#include <limits>

#include "ledger/record_format.h"
#include "projections/codec.h"
#include "projections/engine.h"
#include "projections/invariants.h"
#include "projections/standard.h"
#include "tests/projections/ledger_events.h"
#include "tests/projections/ledger_fixture.h"
#include "tests/projections/random_stream.h"
#include "tests/support/temp_dir.h"

namespace mulin::projections {
namespace {

using schema::Unit;

class ProjectionReconcileTest : public ::testing::Test {
 protected:
  void SetUp() override { ledger_.Open(); }

  void CatchUpStored(uint64_t to_seq = 0) {
    CatchUpOptions options;
    options.to_seq = to_seq;
    auto stats = Engine(ledger_.rows(), set_.All()).CatchUp(*ledger_.log(), options);
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  }

  ReconcileReport Run() {
    ReconcileOptions options;
    options.scratch_parent_dir = dir_.path();
    auto report = Reconcile(*ledger_.log(), *ledger_.rows(), options);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : ReconcileReport();
  }

  // The listed differences of `where` whose subject contains `subject`.
  static std::vector<Difference> Find(const ReconcileReport& report, const std::string& where,
                                      const std::string& subject) {
    std::vector<Difference> out;
    for (const Difference& d : report.differences) {
      if (d.where == where && d.subject.find(subject) != std::string::npos) out.push_back(d);
    }
    return out;
  }

  void Put(const std::string& key, const std::string& value) {
    RowBatch batch;
    batch.puts.emplace_back(key, value);
    ASSERT_TRUE(ledger_.rows()->Commit(batch).ok());
  }

  std::string BalanceKey(const std::string& account, Unit unit) {
    std::string key = RowPrefix(kBalancesName);
    AppendKeyString(&key, account);
    key.push_back(static_cast<char>(unit));
    return key;
  }

  testing::TempDir dir_;
  testing::LedgerFixture ledger_{dir_.Sub("ledger")};
  StandardProjections set_;
};

TEST_F(ProjectionReconcileTest, HealthyLedgerAgreesEvenWhenStoredRowsLag) {
  testing::RandomStream stream(21);
  ledger_.Append(stream.Next(3000));
  CatchUpStored(2000);  // the rest only in the read-only view reconcile builds
  ledger_.Close();
  ledger_.Open(/*read_only=*/true);
  const ReconcileReport report = Run();
  EXPECT_TRUE(report.ok()) << report.differences_total << " differences, first: "
                           << (report.differences.empty() ? "" : report.differences[0].subject);
  EXPECT_EQ(ledger_.log()->head().seq, report.events_replayed);
  EXPECT_GT(report.rows_compared, 500u);  // balances, running balances, pages, orders
  EXPECT_TRUE(report.chain.ok());
}

TEST_F(ProjectionReconcileTest, RowChangedMissingOrAddedBehindItsBackIsListed) {
  testing::LedgerEvents e;
  e.Community("xishan");
  e.Sale("xishan", "S1", "M1", 10000);  // 1000 fen into the fund
  ledger_.Append(e.Take());
  CatchUpStored();
  Put(BalanceKey("fund:xishan", Unit::FEN), ValueWriter().I64(999).U64(1).U64(2).Finish());
  ASSERT_TRUE(ledger_.store()
                  ->projections_db()
                  ->Delete(rocksdb::WriteOptions(), ledger_.store()->projections(),
                           BalanceKey("merchant:M1", Unit::FEN))
                  .ok());
  Put(BalanceKey("volunteer:ghost", Unit::POINTS), ValueWriter().I64(5).U64(1).U64(2).Finish());

  const ReconcileReport report = Run();
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(3u, report.differences_total);
  auto fund = Find(report, "balances", "fund:xishan fen");
  ASSERT_EQ(1u, fund.size());
  EXPECT_NE(std::string::npos, fund[0].expected.find("1000 fen")) << fund[0].expected;
  EXPECT_NE(std::string::npos, fund[0].found.find("999 fen")) << fund[0].found;
  auto missing = Find(report, "balances", "merchant:M1 fen");
  ASSERT_EQ(1u, missing.size());
  EXPECT_EQ("(missing)", missing[0].found);
  auto extra = Find(report, "balances", "volunteer:ghost points");
  ASSERT_EQ(1u, extra.size());
  EXPECT_EQ("(no such row)", extra[0].expected);
}

TEST_F(ProjectionReconcileTest, MovedCheckpointIsListedWithWhatItDoubleCounts) {
  testing::RandomStream stream(22);
  ledger_.Append(stream.Next(500));
  CatchUpStored();
  const uint64_t head = ledger_.log()->head().seq;
  // Moved back five records, with the chain of the record it now names: only the rows betray it,
  // because the view reconcile builds folds those five events a second time.
  Checkpoint moved{head - 5, *ChainAt(*ledger_.log(), head - 5)};
  Put(CheckpointKey(kBalancesName), EncodeCheckpoint(moved));
  ReconcileReport report = Run();
  EXPECT_FALSE(report.ok());
  EXPECT_GT(Find(report, "balances", "").size(), 0u);
  EXPECT_TRUE(Find(report, "audit", "").empty());

  // Moved with its old chain: the checkpoint itself is listed.
  moved.chain = *ChainAt(*ledger_.log(), head);
  Put(CheckpointKey(kBalancesName), EncodeCheckpoint(moved));
  report = Run();
  auto listed = Find(report, "balances", "checkpoint at seq " + std::to_string(head - 5));
  ASSERT_EQ(1u, listed.size());
  EXPECT_NE(listed[0].expected, listed[0].found);

  // Deleted, leaving its rows behind.
  ASSERT_TRUE(ledger_.store()
                  ->projections_db()
                  ->Delete(rocksdb::WriteOptions(), ledger_.store()->projections(),
                           CheckpointKey(kFundName))
                  .ok());
  report = Run();
  auto missing = Find(report, "fund", "checkpoint");
  ASSERT_EQ(1u, missing.size());
  EXPECT_EQ("(missing)", missing[0].found);

  // Moved past the head.
  Put(CheckpointKey(kOrdersName), EncodeCheckpoint(Checkpoint{head + 3, moved.chain}));
  report = Run();
  auto past = Find(report, "orders", "checkpoint");
  ASSERT_GE(past.size(), 1u);
  EXPECT_NE(std::string::npos, past[0].found.find("seq " + std::to_string(head + 3)));
}

TEST_F(ProjectionReconcileTest, TamperedRecordBreaksTheChainAndIsListed) {
  testing::LedgerEvents e;
  e.Community("xishan");
  const uint64_t sale = e.Sale("xishan", "S1", "M1", 10000);
  e.Payout("xishan", "PAY1", "P1", 300);
  ledger_.Append(e.Take());
  CatchUpStored();
  // A forger rewrites the sale to a smaller one, with a valid checksum but the old chain link.
  testing::LedgerEvents forged(testing::kMarch1MorningUs + 60 * 1000000LL, sale);
  forged.Sale("xishan", "S1", "M1", 5000);
  const std::string record_key = ledger::EncodeSeqKey(sale);
  std::string old_record;
  ASSERT_TRUE(ledger_.store()
                  ->db()
                  ->Get(rocksdb::ReadOptions(), ledger_.store()->events(), record_key, &old_record)
                  .ok());
  auto old_view = ledger::DecodeRecord(sale, old_record);
  ASSERT_TRUE(old_view.ok());
  std::string record;
  ledger::EncodeRecord(sale, forged.Take()[0], old_view->chain, &record);
  ASSERT_TRUE(ledger_.store()
                  ->db()
                  ->Put(rocksdb::WriteOptions(), ledger_.store()->events(), record_key, record)
                  .ok());

  const ReconcileReport report = Run();
  EXPECT_FALSE(report.ok());
  EXPECT_FALSE(report.chain.ok());
  EXPECT_EQ(sale, report.chain.seq());
  EXPECT_EQ(1u, Find(report, "chain", "record " + std::to_string(sale)).size());
  // The stored rows still hold the original sale; the rebuild folds the forged one.
  EXPECT_FALSE(Find(report, "balances", "fund:xishan").empty());
}

TEST_F(ProjectionReconcileTest, EventsThatBreakTheInvariantsAreListed) {
  testing::LedgerEvents e;
  e.Community("xishan");
  const uint64_t sale = e.Sale("xishan", "S1", "M1", 12345, 1000, /*contribution_fen=*/1234);
  e.SaleReversed("xishan", "S1", sale, "M1", 12345, 1234);
  e.SaleReversed("xishan", "S1", sale, "M1", 12345, 1234);  // twice: the fund goes below zero
  e.RedemptionReversed("xishan", "RD9", 2, "V1", "M1", 5);  // seq 2 is a sale, not a redemption
  e.Redeemed("xishan", "RD1", "V2", "M1", 40);              // V2 never earned a point
  e.Adjust("xishan", "merchant:M1", Unit::POINTS, std::numeric_limits<int64_t>::min());
  ledger_.Append(e.Take());
  CatchUpStored();

  const ReconcileReport report = Run();
  EXPECT_FALSE(report.ok());
  EXPECT_TRUE(report.chain.ok());
  for (const auto& where : {"balances", "audit", "fund", "orders"}) {
    EXPECT_TRUE(Find(report, where, "").empty()) << where << " agrees with the rebuild";
  }
  auto rounding = Find(report, "invariant", "sale S1 (seq 2)");
  ASSERT_GE(rounding.size(), 1u);
  EXPECT_NE(std::string::npos, rounding[0].expected.find("1235")) << rounding[0].expected;
  EXPECT_EQ(1u, Find(report, "invariant", "saleReversed at seq 4").size());  // reversed twice
  auto wrong_kind = Find(report, "invariant", "redemptionReversed at seq 5");
  ASSERT_GE(wrong_kind.size(), 1u);
  EXPECT_NE(std::string::npos, wrong_kind[0].expected.find("pointsRedeemed"));
  EXPECT_NE(std::string::npos, wrong_kind[0].found.find("saleRecorded"));
  EXPECT_FALSE(Find(report, "invariant", "volunteer:V2 points after seq 6").empty());
  EXPECT_FALSE(Find(report, "invariant", "fund:xishan fen after seq 4").empty());
  EXPECT_EQ(1u, Find(report, "invariant", "all accounts in points").size());
}

TEST_F(ProjectionReconcileTest, FundInvariantCountsPayoutsAndAdjustments) {
  testing::LedgerEvents e;
  e.Community("xishan");
  const uint64_t sale = e.Sale("xishan", "S1", "M1", 10000);
  e.SaleReversed("xishan", "S1", sale, "M1", 10000, 1000);
  e.Sale("xishan", "S2", "M1", 10000);
  e.Payout("xishan", "PAY1", "P1", 400);
  e.Adjust("xishan", "fund:xishan", Unit::FEN, 25);
  ledger_.Append(e.Take());
  CatchUpStored();
  const ReconcileReport report = Run();
  EXPECT_TRUE(report.ok()) << (report.differences.empty() ? "" : report.differences[0].subject);
}

// The fund check compares sums of the events' own fields with the balance folded from postings;
// with the domain's postings they agree, so the check is shown failing on a scratch row changed
// between the fold and Finish.
TEST_F(ProjectionReconcileTest, FundInvariantComparesEventFieldsWithTheFoldedBalance) {
  testing::LedgerEvents e;
  e.Community("xishan");
  e.Sale("xishan", "S1", "M1", 10000);
  e.Payout("xishan", "PAY1", "P1", 400);
  ledger_.Append(e.Take());
  MemoryRowStore scratch;
  DifferenceList differences;
  InvariantChecker checker(ledger_.log(), &differences);
  BalancesProjection balances;
  AuditTrailProjection audit;
  ASSERT_TRUE(Engine(&scratch, {&balances, &audit, &checker})
                  .CatchUp(*ledger_.log(), CatchUpOptions())
                  .ok());
  ASSERT_TRUE(checker.Finish(scratch).ok());
  EXPECT_EQ(0u, differences.total());

  RowBatch batch;
  batch.puts.emplace_back(BalanceKey("fund:xishan", Unit::FEN),
                          ValueWriter().I64(601).U64(2).U64(3).Finish());
  ASSERT_TRUE(scratch.Commit(batch).ok());
  ASSERT_TRUE(checker.Finish(scratch).ok());
  ReconcileReport report;
  report.differences = differences.listed();
  ASSERT_EQ(2u, differences.total());  // this one, and fen no longer sums to zero
  EXPECT_EQ(1u, Find(report, "invariant", "all accounts in fen").size());
  auto fund = Find(report, "invariant", "fund:xishan fen");
  ASSERT_EQ(1u, fund.size());
  EXPECT_NE(std::string::npos, fund[0].expected.find("600"));
  EXPECT_EQ("balance 601", fund[0].found);
}

}  // namespace
}  // namespace mulin::projections
