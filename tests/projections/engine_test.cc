// Goal: the engine folds each event into every projection exactly once, whatever the batching:
// a projection kept incrementally equals one rebuilt from seq 1, byte for byte; checkpoints name
// the record they stop at, and one that names another history is refused.
#include "projections/engine.h"

#include <gtest/gtest.h>

#include <memory>

#include "projections/audit_trail.h"
#include "projections/fund_statement.h"
#include "projections/standard.h"
#include "tests/projections/engine_fixture.h"
#include "tests/projections/random_stream.h"

namespace mulin::projections {
namespace {

using testing::DumpRows;
using testing::FirstDifference;
using testing::RandomStream;
using testing::RowMap;

TEST_F(ProjectionEngineTest, RebuildFromSeqOneEqualsIncrementalByteForByte) {
  RandomStream stream(7);
  GrowIncrementally(&stream, 30, /*batch_events_max=*/97);
  const RowMap incremental = DumpRows(*ledger_.rows());
  const uint64_t head = ledger_.log()->head().seq;
  ASSERT_GT(head, 3000u);
  for (Projection* projection : standard_.All()) {
    EXPECT_GT(DumpRows(*ledger_.rows(), RowPrefix(projection->name())).size(), 10u)
        << projection->name() << " kept no rows: the comparison would prove nothing";
    auto checkpoint = Engine(ledger_.rows(), {}).ReadCheckpoint(projection->name());
    ASSERT_TRUE(checkpoint.ok());
    EXPECT_EQ(head, checkpoint->seq);
  }

  // Into scratch space in one pass with the default batch size.
  MemoryRowStore scratch;
  StandardProjections rebuilt;
  auto stats = Engine(&scratch, rebuilt.All()).CatchUp(*ledger_.log(), CatchUpOptions());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(head, stats->events);
  const RowMap from_scratch = DumpRows(scratch);
  EXPECT_TRUE(incremental == from_scratch) << FirstDifference(incremental, from_scratch);

  // Dropped and rebuilt in place, one projection at a time.
  Engine engine(ledger_.rows(), standard_.All());
  for (Projection* projection : standard_.All()) {
    ASSERT_TRUE(engine.Drop(projection->name()).ok());
    EXPECT_TRUE(DumpRows(*ledger_.rows(), RowPrefix(projection->name())).empty());
    auto rebuilt_stats = engine.CatchUp(*ledger_.log(), CatchUpOptions());
    ASSERT_TRUE(rebuilt_stats.ok()) << rebuilt_stats.status().ToString();
    EXPECT_EQ(head, rebuilt_stats->events) << "only the dropped projection starts from seq 1";
  }
  const RowMap in_place = DumpRows(*ledger_.rows());
  EXPECT_TRUE(incremental == in_place) << FirstDifference(incremental, in_place);
}

TEST_F(ProjectionEngineTest, BatchesBoundedByBytesStillFoldEachEventOnce) {
  RandomStream stream(8);
  ledger_.Append(stream.Next(2000));
  CatchUpOptions tiny;
  tiny.batch_bytes_max = 1;  // every event its own batch
  Engine engine(ledger_.rows(), standard_.All());
  auto stats = engine.CatchUp(*ledger_.log(), tiny);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  // Each event that writes a row ends its batch; the three community registrations the stream
  // starts with write none, so they ride along with the first event that does.
  EXPECT_EQ(stats->events - 3, stats->batches);
  ExpectStoredRowsEqualARebuild();
}

TEST_F(ProjectionEngineTest, AsOfSeqStopsThereWithThatRecordsChain) {
  RandomStream stream(9);
  ledger_.Append(stream.Next(500));
  MemoryRowStore scratch;
  StandardProjections set;
  Engine engine(&scratch, set.All());
  CatchUpOptions options;
  options.to_seq = 321;
  ASSERT_TRUE(engine.CatchUp(*ledger_.log(), options).ok());
  for (Projection* projection : set.All()) {
    auto checkpoint = engine.ReadCheckpoint(projection->name());
    ASSERT_TRUE(checkpoint.ok());
    EXPECT_EQ(321u, checkpoint->seq);
    EXPECT_EQ(*ChainAt(*ledger_.log(), 321), checkpoint->chain);
  }
  options.to_seq = ledger_.log()->head().seq + 1;
  EXPECT_EQ(Code::kInvalidArgument, engine.CatchUp(*ledger_.log(), options).status().code());
  options.to_seq = 100;  // behind the projections: an as-of view needs empty scratch
  EXPECT_EQ(Code::kInvalidArgument, engine.CatchUp(*ledger_.log(), options).status().code());
}

TEST_F(ProjectionEngineTest, CheckpointNamingAnotherRecordIsRefused) {
  RandomStream stream(10);
  ledger_.Append(stream.Next(300));
  Engine engine(ledger_.rows(), standard_.All());
  ASSERT_TRUE(engine.CatchUp(*ledger_.log(), CatchUpOptions()).ok());
  ledger_.Append(stream.Next(10));

  // Moved back by one: the chain stored is that of the head, not of the record it now names.
  Checkpoint moved = *engine.ReadCheckpoint(kFundName);
  moved.seq -= 1;
  RowBatch batch;
  batch.puts.emplace_back(CheckpointKey(kFundName), EncodeCheckpoint(moved));
  ASSERT_TRUE(ledger_.rows()->Commit(batch).ok());
  auto refused = engine.CatchUp(*ledger_.log(), CatchUpOptions());
  EXPECT_TRUE(refused.status().IsCorruption()) << refused.status().ToString();
  EXPECT_EQ(moved.seq, refused.status().seq());
  EXPECT_NE(std::string::npos, refused.status().message().find("fund"));

  // Past the head.
  moved.seq = ledger_.log()->head().seq + 5;
  batch.puts.clear();
  batch.puts.emplace_back(CheckpointKey(kFundName), EncodeCheckpoint(moved));
  ASSERT_TRUE(ledger_.rows()->Commit(batch).ok());
  EXPECT_TRUE(engine.CatchUp(*ledger_.log(), CatchUpOptions()).status().IsCorruption());

  // Undecodable.
  batch.puts.clear();
  batch.puts.emplace_back(CheckpointKey(kFundName), "short");
  ASSERT_TRUE(ledger_.rows()->Commit(batch).ok());
  EXPECT_TRUE(engine.CatchUp(*ledger_.log(), CatchUpOptions()).status().IsCorruption());
}

TEST_F(ProjectionEngineTest, DropRemovesOneProjectionAndItsCheckpointOnly) {
  RandomStream stream(11);
  ledger_.Append(stream.Next(400));
  Engine engine(ledger_.rows(), standard_.All());
  ASSERT_TRUE(engine.CatchUp(*ledger_.log(), CatchUpOptions()).ok());
  const RowMap balances = DumpRows(*ledger_.rows(), RowPrefix(kBalancesName));
  ASSERT_TRUE(engine.Drop(kAuditName).ok());
  EXPECT_TRUE(DumpRows(*ledger_.rows(), RowPrefix(kAuditName)).empty());
  EXPECT_EQ(0u, engine.ReadCheckpoint(kAuditName)->seq);
  EXPECT_EQ(balances, DumpRows(*ledger_.rows(), RowPrefix(kBalancesName)));
  EXPECT_EQ(ledger_.log()->head().seq, engine.ReadCheckpoint(kBalancesName)->seq);
}

TEST_F(ProjectionEngineTest, ProgressIsReportedUpToTheTarget) {
  RandomStream stream(12);
  ledger_.Append(stream.Next(1000));
  CatchUpOptions options;
  options.progress_interval_events = 100;
  std::vector<uint64_t> seen;
  options.progress = [&](uint64_t done, uint64_t total) {
    EXPECT_EQ(ledger_.log()->head().seq, total);
    seen.push_back(done);
  };
  ASSERT_TRUE(Engine(ledger_.rows(), standard_.All()).CatchUp(*ledger_.log(), options).ok());
  ASSERT_GE(seen.size(), 10u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(ledger_.log()->head().seq, seen.back());
}

// Looks at a row it never writes, for every event: the fold must not keep an empty row for it.
class PeekingProjection final : public Projection {
 public:
  std::string_view name() const override { return "peek"; }
  Status Apply(const EventContext& context, Rows* rows) override {
    Result<std::string*> absent = rows->Mutable("never written " + std::to_string(context.seq));
    if (!absent.ok()) return absent.status();
    return (*absent)->empty() ? Status::Ok() : Status::Corruption("a row no one wrote exists");
  }
  std::string DescribeKey(std::string_view row_key) const override { return std::string(row_key); }
  std::string DescribeValue(std::string_view, std::string_view value) const override {
    return std::string(value);
  }
};

// Into memory the fold changes the store's rows in place; folded in steps it must still equal one
// pass, and a batch that stops early (as-of seqs that cut batches short) must leave no trace.
TEST_F(ProjectionEngineTest, MemoryCaughtUpInStepsEqualsOnePass) {
  RandomStream stream(14);
  ledger_.Append(stream.Next(3000));
  MemoryRowStore one_pass;
  StandardProjections a;
  ASSERT_TRUE(Engine(&one_pass, a.All()).CatchUp(*ledger_.log(), CatchUpOptions()).ok());

  MemoryRowStore in_steps;
  StandardProjections b;
  PeekingProjection peek;
  std::vector<Projection*> with_peek = b.All();
  with_peek.push_back(&peek);
  Engine engine(&in_steps, with_peek);
  CatchUpOptions options;
  options.batch_events_max = 37;
  for (uint64_t to : {1u, 2u, 500u, 1234u, 2999u}) {
    options.to_seq = to;
    ASSERT_TRUE(engine.CatchUp(*ledger_.log(), options).ok()) << to;
  }
  options.to_seq = 0;
  ASSERT_TRUE(engine.CatchUp(*ledger_.log(), options).ok());
  const RowMap expected = DumpRows(one_pass);
  RowMap found = DumpRows(in_steps);
  ASSERT_EQ(1u, found.erase(CheckpointKey(peek.name())));
  ASSERT_GT(expected.size(), 100u);
  EXPECT_TRUE(expected == found) << FirstDifference(expected, found);
  EXPECT_EQ(expected.size() + 1, in_steps.size()) << "rows the fold left empty stay in the map";
}

// A fold into memory that fails part way has changed rows its checkpoints do not cover: the store
// must refuse to be read or extended rather than show them.
TEST_F(ProjectionEngineTest, MemoryLeftByAFailedFoldRefusesEveryUse) {
  RandomStream stream(15);
  ledger_.Append(stream.Next(2000));
  MemoryRowStore scratch;
  StandardProjections set;
  Engine engine(&scratch, set.All());
  CatchUpOptions options;
  options.to_seq = 1000;
  ASSERT_TRUE(engine.CatchUp(*ledger_.log(), options).ok());
  // Every balance row made undecodable: the next posting to any of them stops the fold, after
  // the other projections have folded part of the batch.
  RowBatch garble;
  for (const auto& [key, value] : DumpRows(scratch, RowPrefix(kBalancesName))) {
    garble.puts.emplace_back(key, "x");
  }
  ASSERT_FALSE(garble.puts.empty());
  ASSERT_TRUE(scratch.Commit(garble).ok());

  auto failed = engine.CatchUp(*ledger_.log(), CatchUpOptions());
  ASSERT_TRUE(failed.status().IsCorruption()) << failed.status().ToString();
  std::string value;
  auto read = scratch.Get(CheckpointKey(kAuditName), &value);
  EXPECT_EQ(failed.status().ToString(), read.status().ToString());
  auto it = scratch.NewIterator();
  it->Seek("");
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsCorruption());
  EXPECT_TRUE(scratch.Commit(RowBatch()).IsCorruption());
  EXPECT_TRUE(engine.CatchUp(*ledger_.log(), CatchUpOptions()).status().IsCorruption());
}

// Batches land on a thread of their own while the next is folded; one that fails must stop the
// catch-up there, with no later batch landing after it, so that the next catch-up redoes it.
TEST_F(ProjectionEngineTest, ABatchThatFailsToLandStopsTheCatchUpThere) {
  RandomStream stream(16);
  ledger_.Append(stream.Next(3000));
  ASSERT_TRUE(ledger_.rows()->CommitsBesideReads());
  FailingRowStore failing(ledger_.rows(), /*fail_at=*/4);
  CatchUpOptions options;
  options.batch_events_max = 100;
  auto failed = Engine(&failing, standard_.All()).CatchUp(*ledger_.log(), options);
  EXPECT_EQ(Code::kIoError, failed.status().code()) << failed.status().ToString();
  EXPECT_EQ(4, failing.commits()) << "a batch was committed after the one that failed";
  Engine engine(ledger_.rows(), standard_.All());
  for (Projection* projection : standard_.All()) {
    EXPECT_EQ(300u, engine.ReadCheckpoint(projection->name())->seq) << projection->name();
  }

  ASSERT_TRUE(engine.CatchUp(*ledger_.log(), options).ok());
  ExpectStoredRowsEqualARebuild();
}

}  // namespace
}  // namespace mulin::projections
