// Goal: each projection says what a known little history implies — balances per account and
// unit, the audit trail with counterparties and running balances, the fund statement of a
// period, and the order loop's states, ratings and service minutes.
#include <gtest/gtest.h>

#include "projections/engine.h"
#include "projections/orders_rows.h"
#include "projections/standard.h"
#include "tests/projections/ledger_events.h"
#include "tests/projections/ledger_fixture.h"
#include "tests/support/temp_dir.h"

namespace mulin::projections {
namespace {

using schema::Unit;
using W = schema::Event::Body::Which;

constexpr int64_t kStepUs = 60 * 1000000LL;

class ProjectionContentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger_.Open();
    testing::LedgerEvents e;
    e.Community("xishan");                                                  // 1
    e.Placed("xishan", "O1", "R1");                                         // 2
    e.Dispatched("xishan", "O1", "SW1");                                    // 3
    e.Accepted("xishan", "O1");                                             // 4
    e.Delivered("xishan", "O1", {{"V1", 90}, {"V2", 30}});                  // 5
    e.Rated("xishan", "O1", 5);                                             // 6
    e.Points(W::POINTS_CREDITED, "xishan", "O1", {{"V1", 15}, {"V2", 5}});  // 7
    e.Redeemed("xishan", "RD1", "V1", "M1", 10);                            // 8
    e.Sale("xishan", "S1", "M1", 12345);                                    // 9: 1235 fen, half up
    e.Sale("xishan", "S2", "M2", 1000);                                     // 10: 100 fen
    e.SaleReversed("xishan", "S1", 9, "M1", 12345, 1235);                   // 11
    e.Payout("xishan", "PAY1", "P1", 50);                                   // 12
    e.RedemptionReversed("xishan", "RD1", 8, "V1", "M1", 10);               // 13
    e.Adjust("xishan", "fund:xishan", Unit::FEN, 7);                        // 14
    e.Placed("xishan", "O2", "R2");                                         // 15
    e.Cancelled("xishan", "O2");                                            // 16
    e.Placed("xishan", "O3", "R1");                                         // 17
    e.Dispatched("xishan", "O3", "SW1");                                    // 18
    e.Accepted("xishan", "O3");                                             // 19
    e.Delivered("xishan", "O3", {{"V2", 60}});                              // 20
    e.Rated("xishan", "O3", 1);                                             // 21
    e.Points(W::POINTS_HELD, "xishan", "O3", {{"V2", 10}});                 // 22
    ledger_.Append(e.Take());
    auto stats = Engine(ledger_.rows(), set_.All()).CatchUp(*ledger_.log(), CatchUpOptions());
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  }

  static int64_t TimeOf(uint64_t seq) {
    return testing::kMarch1MorningUs + static_cast<int64_t>(seq - 1) * kStepUs;
  }

  int64_t BalanceOf(const std::string& account, Unit unit) {
    auto balances = ReadAccountBalances(*ledger_.rows(), account);
    EXPECT_TRUE(balances.ok()) << balances.status().ToString();
    for (const Balance& b : *balances) {
      if (b.unit == unit) return b.balance;
    }
    return 0;
  }

  testing::TempDir dir_;
  testing::LedgerFixture ledger_{dir_.path()};
  StandardProjections set_;
};

TEST_F(ProjectionContentTest, BalancesOfEveryAccountAndUnit) {
  EXPECT_EQ(15, BalanceOf("volunteer:V1", Unit::POINTS));
  EXPECT_EQ(90, BalanceOf("volunteer:V1", Unit::MINUTES));
  EXPECT_EQ(5, BalanceOf("volunteer:V2", Unit::POINTS));
  EXPECT_EQ(90, BalanceOf("volunteer:V2", Unit::MINUTES));
  EXPECT_EQ(10, BalanceOf("held:O3", Unit::POINTS));
  EXPECT_EQ(-30, BalanceOf("issuance:xishan", Unit::POINTS));
  EXPECT_EQ(-180, BalanceOf("service:xishan", Unit::MINUTES));
  EXPECT_EQ(0, BalanceOf("merchant:M1", Unit::POINTS));
  EXPECT_EQ(0, BalanceOf("merchant:M1", Unit::FEN));
  EXPECT_EQ(-100, BalanceOf("merchant:M2", Unit::FEN));
  EXPECT_EQ(57, BalanceOf("fund:xishan", Unit::FEN));
  EXPECT_EQ(50, BalanceOf("project:P1", Unit::FEN));
  EXPECT_EQ(-7, BalanceOf("adjustments:xishan", Unit::FEN));
  auto v1 = ReadAccountBalances(*ledger_.rows(), "volunteer:V1");
  ASSERT_TRUE(v1.ok());
  ASSERT_EQ(2u, v1->size());  // points and minutes, nothing else
  EXPECT_EQ(13u, (*v1)[0].last_seq);
  EXPECT_EQ(3u, (*v1)[0].postings);
  EXPECT_TRUE(ReadAccountBalances(*ledger_.rows(), "volunteer:V9")->empty());
}

TEST_F(ProjectionContentTest, AuditTrailHasSeqTimeKindCounterpartyAndRunningBalance) {
  std::vector<AuditEntry> entries;
  ASSERT_TRUE(
      ScanAuditTrail(*ledger_.rows(), "volunteer:V1", kTimeMin, kTimeMax, [&](const AuditEntry& e) {
        entries.push_back(e);
        return true;
      }).ok());
  ASSERT_EQ(4u, entries.size());
  EXPECT_EQ(5u, entries[0].seq);
  EXPECT_EQ(Unit::MINUTES, entries[0].unit);
  EXPECT_EQ("service:xishan", entries[0].counterparty);
  EXPECT_EQ(W::ORDER_DELIVERED, entries[0].kind);
  EXPECT_EQ(TimeOf(5), entries[0].time_us);
  EXPECT_EQ(90, entries[0].balance);
  EXPECT_EQ(7u, entries[1].seq);
  EXPECT_EQ("issuance:xishan", entries[1].counterparty);
  EXPECT_EQ(15, entries[1].balance);
  EXPECT_EQ(8u, entries[2].seq);
  EXPECT_EQ(-10, entries[2].delta);
  EXPECT_EQ(5, entries[2].balance);
  EXPECT_EQ("merchant:M1", entries[2].counterparty);
  EXPECT_EQ(W::POINTS_REDEEMED, entries[2].kind);
  EXPECT_EQ(13u, entries[3].seq);
  EXPECT_EQ(15, entries[3].balance);

  // [from, to): from the credit up to, not including, the reversal.
  std::vector<uint64_t> seqs;
  ASSERT_TRUE(ScanAuditTrail(*ledger_.rows(), "volunteer:V1", TimeOf(7), TimeOf(13),
                             [&](const AuditEntry& e) {
                               seqs.push_back(e.seq);
                               return true;
                             })
                  .ok());
  EXPECT_EQ((std::vector<uint64_t>{7, 8}), seqs);
}

TEST_F(ProjectionContentTest, FundStatementOfAllTimeAndOfAPeriod) {
  auto all = BuildFundStatement(*ledger_.rows(), "xishan", kTimeMin, kTimeMax);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(0, all->opening_fen);
  EXPECT_EQ(57, all->closing_fen);
  ASSERT_EQ(2u, all->contributions.size());
  EXPECT_EQ("M1", all->contributions[0].merchant);
  EXPECT_EQ(12345, all->contributions[0].gross_fen);
  EXPECT_EQ(1235, all->contributions[0].contribution_fen);
  EXPECT_EQ("M2", all->contributions[1].merchant);
  EXPECT_EQ(100, all->contributions[1].contribution_fen);
  EXPECT_EQ(1335, all->contributions_fen);
  ASSERT_EQ(1u, all->reversals.size());
  EXPECT_EQ("S1", all->reversals[0].reference);
  EXPECT_EQ(11u, all->reversals[0].seq);
  EXPECT_EQ(1235, all->reversals_fen);
  ASSERT_EQ(1u, all->payouts.size());
  EXPECT_EQ("P1", all->payouts[0].project);
  EXPECT_EQ(50, all->payouts_fen);
  EXPECT_EQ(7, all->adjustments_fen);
  EXPECT_EQ(5u, all->entries.size());  // two sales, a reversal, a payout, an adjustment

  auto period = BuildFundStatement(*ledger_.rows(), "xishan", TimeOf(10), TimeOf(13));
  ASSERT_TRUE(period.ok());
  EXPECT_EQ(1235, period->opening_fen);
  EXPECT_EQ(50, period->closing_fen);
  ASSERT_EQ(1u, period->contributions.size());
  EXPECT_EQ("M2", period->contributions[0].merchant);
  EXPECT_EQ(1235, period->reversals_fen);
  EXPECT_EQ(50, period->payouts_fen);
  EXPECT_EQ(0, period->adjustments_fen);

  auto none = BuildFundStatement(*ledger_.rows(), "nanhu", kTimeMin, kTimeMax);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->entries.empty());
  EXPECT_EQ(0, none->closing_fen);
}

TEST_F(ProjectionContentTest, OrdersStatesRatingsAndServiceMinutes) {
  auto o1 = ReadOrder(*ledger_.rows(), "O1");
  ASSERT_TRUE(o1.ok() && o1->has_value());
  EXPECT_EQ(OrderState::kClosed, (*o1)->state);
  EXPECT_EQ(5, (*o1)->rating);
  EXPECT_EQ(120, (*o1)->minutes);
  EXPECT_EQ(20, (*o1)->points);
  EXPECT_EQ("SW1", (*o1)->social_worker);
  EXPECT_EQ(TimeOf(6) - TimeOf(2), (*o1)->rated_us - (*o1)->placed_us);
  EXPECT_EQ(OrderState::kCancelled, (*ReadOrder(*ledger_.rows(), "O2"))->state);
  EXPECT_EQ(OrderState::kHeld, (*ReadOrder(*ledger_.rows(), "O3"))->state);
  EXPECT_FALSE(ReadOrder(*ledger_.rows(), "O4")->has_value());

  auto summary = ReadServiceSummary(*ledger_.rows(), "xishan", 1);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(1u, summary->orders_by_state[static_cast<size_t>(OrderState::kClosed)]);
  EXPECT_EQ(1u, summary->orders_by_state[static_cast<size_t>(OrderState::kCancelled)]);
  EXPECT_EQ(1u, summary->orders_by_state[static_cast<size_t>(OrderState::kHeld)]);
  EXPECT_EQ(0u, summary->orders_by_state[static_cast<size_t>(OrderState::kPlaced)]);
  EXPECT_EQ(1u, summary->ratings_by_value[4]);
  EXPECT_EQ(1u, summary->ratings_by_value[0]);
  EXPECT_EQ((TimeOf(6) - TimeOf(2)) + (TimeOf(21) - TimeOf(17)), summary->placed_to_rated_us);
  EXPECT_EQ(180, summary->minutes);
  EXPECT_EQ(2u, summary->volunteers);
  ASSERT_EQ(1u, summary->top_volunteers.size());          // top 1 of 2
  EXPECT_EQ("V1", summary->top_volunteers[0].volunteer);  // 90 minutes; V2 also 90: id breaks it
  EXPECT_EQ(90, summary->top_volunteers[0].minutes);
}

// A step that changes no text of an order rewrites the row's fixed fields where they lie. A row
// changed behind the fold's back so that it does not decode (a state past the last, a byte short
// or over, a text's length past the end) stops the order's next step with its seq: nothing of the
// batch is written, and the row stays as it was found.
TEST_F(ProjectionContentTest, AnOrderRowThatDoesNotDecodeStopsTheOrdersNextStep) {
  using orders_internal::OrderLayout;
  const std::string key =
      RowPrefix(kOrdersName) + orders_internal::TaggedKey(orders_internal::kOrderTag, "O3");
  std::string stored;
  ASSERT_TRUE(*ledger_.rows()->Get(key, &stored));
  OrderLayout layout;
  ASSERT_TRUE(orders_internal::LocateOrder(stored, &layout));
  testing::LedgerEvents e(TimeOf(23), 23);
  e.Points(W::HELD_POINTS_APPROVED, "xishan", "O3", {{"V2", 10}});  // 23
  ledger_.Append(e.Take());

  std::string bad_state = stored;
  bad_state[layout.state_at] = static_cast<char>(kOrderStateCount);
  std::string past_the_end = stored;
  past_the_end[0] = '\x7f';  // the community's length, little-endian
  for (const std::string& tampered :
       {bad_state, stored.substr(0, stored.size() - 1), stored + '\0', past_the_end}) {
    RowBatch batch;
    batch.puts.emplace_back(key, tampered);
    ASSERT_TRUE(ledger_.rows()->Commit(batch).ok());
    auto refused = Engine(ledger_.rows(), set_.All()).CatchUp(*ledger_.log(), CatchUpOptions());
    ASSERT_TRUE(refused.status().IsCorruption()) << refused.status().ToString();
    EXPECT_EQ(23u, refused.status().seq());
    EXPECT_NE(std::string::npos, refused.status().message().find("does not decode"));
    std::string found;
    ASSERT_TRUE(*ledger_.rows()->Get(key, &found));
    EXPECT_EQ(tampered, found);
  }

  RowBatch restore;
  restore.puts.emplace_back(key, stored);
  ASSERT_TRUE(ledger_.rows()->Commit(restore).ok());
  auto stats = Engine(ledger_.rows(), set_.All()).CatchUp(*ledger_.log(), CatchUpOptions());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  auto o3 = ReadOrder(*ledger_.rows(), "O3");
  ASSERT_TRUE(o3.ok() && o3->has_value());
  EXPECT_EQ(OrderState::kClosed, (*o3)->state);
  EXPECT_EQ("xishan", (*o3)->community);
  EXPECT_EQ("R1", (*o3)->resident);
  EXPECT_EQ("SW1", (*o3)->social_worker);
  EXPECT_EQ(TimeOf(17), (*o3)->placed_us);
  EXPECT_EQ(TimeOf(21), (*o3)->rated_us);
  EXPECT_EQ(TimeOf(23), (*o3)->closed_us);
  EXPECT_EQ(1, (*o3)->rating);
  EXPECT_EQ(60, (*o3)->minutes);
  EXPECT_EQ(10, (*o3)->points);
}

}  // namespace
}  // namespace mulin::projections
