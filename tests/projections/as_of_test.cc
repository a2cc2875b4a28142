// Goal: a fund statement built as of seq N (or as of an instant) equals the statement of a ledger
// that only ever had events 1..N, row for row and line for line.
#include "projections/as_of.h"

#include <gtest/gtest.h>

#include "ledger/event_codec.h"
#include "projections/engine.h"
#include "projections/fund_statement.h"
#include "tests/projections/ledger_fixture.h"
#include "tests/projections/random_stream.h"
#include "tests/support/temp_dir.h"

namespace mulin::projections {
namespace {

using testing::DumpRows;
using testing::FirstDifference;
using testing::LedgerFixture;
using testing::RowMap;

const char* const kCommunities[] = {"xishan", "yangjiamen", "nanhu"};

// Every line of a statement, as text, so two statements compare in one EXPECT_EQ.
std::string Lines(const FundStatement& s) {
  std::string out = s.community + " opening " + std::to_string(s.opening_fen) + " closing " +
                    std::to_string(s.closing_fen) + " in " + std::to_string(s.contributions_fen) +
                    " reversed " + std::to_string(s.reversals_fen) + " paid " +
                    std::to_string(s.payouts_fen) + " adjusted " +
                    std::to_string(s.adjustments_fen) + "\n";
  for (const auto& m : s.contributions) {
    out += "merchant " + m.merchant + " " + std::to_string(m.sales) + " " +
           std::to_string(m.gross_fen) + " " + std::to_string(m.contribution_fen) + "\n";
  }
  for (const auto& p : s.payouts) {
    out += "project " + p.project + " " + std::to_string(p.amount_fen) + "\n";
  }
  for (const auto& e : s.entries) {
    out += std::to_string(e.seq) + " " + e.reference + " " + std::to_string(e.delta_fen) + " " +
           std::to_string(e.balance_fen) + "\n";
  }
  return out;
}

class ProjectionAsOfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    full_.Open();
    testing::RandomStream stream(41);
    payloads_ = stream.Next(4000);
    full_.Append(payloads_);
  }

  // The statements and fund rows of a ledger holding only events 1..n, caught up in place.
  void ShortLedger(uint64_t n, RowMap* rows, std::vector<std::string>* statements) {
    testing::TempDir dir;
    LedgerFixture short_ledger(dir.path());
    short_ledger.Open();
    short_ledger.Append(
        std::vector<std::string>(payloads_.begin(), payloads_.begin() + static_cast<ptrdiff_t>(n)));
    FundStatementProjection fund;
    ASSERT_TRUE(
        Engine(short_ledger.rows(), {&fund}).CatchUp(*short_ledger.log(), CatchUpOptions()).ok());
    *rows = DumpRows(*short_ledger.rows());
    for (const char* c : kCommunities) {
      auto s = BuildFundStatement(*short_ledger.rows(), c, kTimeMin, kTimeMax);
      ASSERT_TRUE(s.ok());
      statements->push_back(Lines(*s));
    }
  }

  void ExpectAsOfEqualsShortLedger(uint64_t n) {
    MemoryRowStore scratch;
    FundStatementProjection fund;
    ASSERT_TRUE(BuildAsOf(*full_.log(), n, {&fund}, &scratch).ok());
    RowMap expected_rows;
    std::vector<std::string> expected;
    ShortLedger(n, &expected_rows, &expected);
    const RowMap rows = DumpRows(scratch);
    EXPECT_TRUE(expected_rows == rows)
        << "as of " << n << ": " << FirstDifference(expected_rows, rows);
    for (size_t i = 0; i < std::size(kCommunities); ++i) {
      auto s = BuildFundStatement(scratch, kCommunities[i], kTimeMin, kTimeMax);
      ASSERT_TRUE(s.ok());
      EXPECT_EQ(expected[i], Lines(*s)) << "as of seq " << n;
    }
  }

  int64_t TimeOf(uint64_t seq) {
    auto event = ledger::DecodeEvent(*full_.log()->ReadPayload(seq), seq);
    EXPECT_TRUE(event.ok());
    return event->event().getRecordedAtUs();
  }

  testing::TempDir dir_;
  LedgerFixture full_{dir_.path()};
  std::vector<std::string> payloads_;
};

TEST_F(ProjectionAsOfTest, StatementAsOfSeqEqualsALedgerThatStoppedThere) {
  for (uint64_t n :
       {uint64_t{1}, uint64_t{4}, uint64_t{777}, uint64_t{2345}, uint64_t{payloads_.size()}}) {
    ExpectAsOfEqualsShortLedger(n);
  }
  // And it differs from the head's, or the comparison above proved little.
  MemoryRowStore early;
  FundStatementProjection fund;
  ASSERT_TRUE(BuildAsOf(*full_.log(), 777, {&fund}, &early).ok());
  MemoryRowStore late;
  ASSERT_TRUE(BuildAsOf(*full_.log(), 2345, {&fund}, &late).ok());
  EXPECT_NE(Lines(*BuildFundStatement(early, "xishan", kTimeMin, kTimeMax)),
            Lines(*BuildFundStatement(late, "xishan", kTimeMin, kTimeMax)));
}

TEST_F(ProjectionAsOfTest, AsOfAnInstantMeansEverythingRecordedBeforeIt) {
  EXPECT_EQ(0u, *SeqBefore(*full_.log(), TimeOf(1)));
  EXPECT_EQ(1u, *SeqBefore(*full_.log(), TimeOf(1) + 1));
  EXPECT_EQ(1776u, *SeqBefore(*full_.log(), TimeOf(1777)));
  EXPECT_EQ(1777u, *SeqBefore(*full_.log(), TimeOf(1777) + 1));
  EXPECT_EQ(full_.log()->head().seq, *SeqBefore(*full_.log(), kTimeMax));
  EXPECT_EQ(0u, *SeqBefore(*full_.log(), kTimeMin));
  const uint64_t n = *SeqBefore(*full_.log(), TimeOf(1500) + 1);
  ASSERT_EQ(1500u, n);
  ExpectAsOfEqualsShortLedger(n);
}

}  // namespace
}  // namespace mulin::projections
