// Goal: the writer starts from a snapshot plus the log's tail into exactly the state a full replay
// gives, also from the files a crash leaves right after a snapshot written past the WAL; a
// snapshot written on its own thread is complete once the writer has stopped; a snapshot laid over
// the one before holds, byte for byte, the state a replay to its seq gives, and one whose base is
// gone is not stored, the next being taken whole.
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include "ledger/writer.h"
#include "tests/ledger/writer_fixture.h"
#include "tests/ledger/writer_snapshot_fixture.h"
#include "tests/support/commands.h"

namespace mulin::ledger {
namespace {

using namespace mulin::testing;  // NOLINT: the command builders read like a script

TEST_F(WriterTest, SnapshotPlusTailEqualsFullReplay) {
  WriterOptions options;
  options.snapshot_interval_events = 25;
  Open(options);
  SetUpCommunities();
  GivePoints("V1", 1000);
  for (int i = 0; i < 120; ++i) {
    Ok(Redeem("s" + std::to_string(i), "T1", "RD" + std::to_string(i), "V1", 3));
    if (i % 7 == 0)
      Ok(RecordSale("sale" + std::to_string(i), "T1", "S" + std::to_string(i), "M1", 1000 + i));
  }
  WaitForSnapshots(1);
  const std::string live = EncodedState();
  Open(options);  // starts from the latest snapshot and replays the tail
  EXPECT_EQ(live, EncodedState());
  EXPECT_EQ(live, ReplayedState());
  Ok(Redeem("after", "T1", "RD-after", "V1", 1));
  EXPECT_EQ(ReplayedState(), EncodedState());
}

// A large snapshot is written past the WAL and flushed in the background (here every one is): the
// files a crash leaves at any moment after snapshots (here, right after the last, its flush
// perhaps not done) open into the state a full replay of their log gives.
TEST_F(WriterTest, ACrashAfterSnapshotsOpensToTheStateOfAFullReplay) {
  WriterOptions options;
  options.snapshot_interval_events = 25;
  options.unlogged_snapshot_bytes_min = 0;
  Open(options);
  SetUpCommunities();
  GivePoints("V1", 1000);
  for (int i = 0; i < 80; ++i) {
    Ok(Redeem("c" + std::to_string(i), "T1", "RD" + std::to_string(i), "V1", 2));
  }
  // The files are copied once three snapshots are written, perhaps while a fourth is.
  WaitForSnapshots(3);
  const std::string crashed = dir_.Sub("crashed");
  testing::CopyLiveDirectory(ledger_.dir(), crashed);
  Close();
  std::filesystem::remove_all(ledger_.dir());
  std::filesystem::rename(crashed, ledger_.dir());
  Open(options);
  EXPECT_EQ(ReplayedState(), EncodedState());
  Ok(Redeem("after", "T1", "RD-after", "V1", 1));
  EXPECT_EQ(ReplayedState(), EncodedState());
  EXPECT_EQ(Balance("volunteer:V1", schema::Unit::POINTS), 1000 - 80 * 2 - 1);
}

// A snapshot is taken whenever a group ends snapshot_interval_events or more after the last one,
// and written on a thread of its own: Stop waits for that write, so the last snapshot taken is the
// one stored, within an interval of the head.
TEST_F(WriterTest, StopWaitsForTheSnapshotBeingWritten) {
  WriterOptions options;
  options.snapshot_interval_events = 25;
  options.unlogged_snapshot_bytes_min = 0;  // written past the WAL, then flushed: the longer way
  Open(options);
  SetUpCommunities();
  GivePoints("V1", 1000);
  for (int i = 0; i < 60; ++i) {
    Ok(Redeem("w" + std::to_string(i), "T1", "RD" + std::to_string(i), "V1", 1));
  }
  writer_->Stop();
  ASSERT_GE(writer_->stats().snapshots, 2u);
  Result<std::optional<LoadedSnapshot>> stored = LoadSnapshot(store_, *log_);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  ASSERT_TRUE(stored->has_value());
  EXPECT_LT(log_->head().seq, (*stored)->at.seq + options.snapshot_interval_events);
  Open(options);
  EXPECT_EQ(ReplayedState(), EncodedState());
}

// By default the changes are stored beside the whole snapshot until they grow large.
TEST_F(WriterSnapshotTest, IncrementalSnapshotsHoldTheStateOfAReplayToTheirSeq) {
  WriterOptions options;
  options.snapshot_interval_events = 25;
  ExpectIncrementalSnapshotsHoldTheReplay(options);
}

TEST_F(WriterSnapshotTest, WithoutIncrementalSnapshotsEveryOneIsWhole) {
  WriterOptions options;
  options.snapshot_interval_events = 25;
  options.incremental_snapshots = false;
  Open(options);
  SetUpCommunities();
  GivePoints("V1", 1000);
  Redeems("w", 80);
  writer_->Stop();
  EXPECT_GE(writer_->stats().snapshots, 3u);
  EXPECT_EQ(0u, writer_->stats().incremental_snapshots);
  ExpectStoredIsTheReplayAtItsSeq();
}

// Opened from a snapshot, the writer tracks its state's changes only when it will take snapshots:
// without them, what it noted would grow with the log.
TEST_F(WriterSnapshotTest, ChangesAreTrackedOnlyForSnapshotsToCome) {
  WriterOptions options;
  options.snapshot_interval_events = 25;
  Open(options);
  SetUpCommunities();
  GivePoints("V1", 1000);
  Redeems("t", 40);
  writer_->Stop();
  ASSERT_GE(writer_->stats().snapshots, 1u);
  const auto tracking = [this] {
    bool on = false;
    EXPECT_TRUE(writer_->Read([&](const domain::State& s) { on = s.changes.tracking(); }).ok());
    return on;
  };
  Open(options);
  EXPECT_TRUE(tracking());
  options.snapshot_interval_events = 0;
  Open(options);
  EXPECT_FALSE(tracking());
  options.snapshot_interval_events = 25;
  options.incremental_snapshots = false;
  Open(options);
  EXPECT_FALSE(tracking());
}

// The stored snapshot deleted behind the writer's back (as a bug or an operator might): the next
// snapshot, to be merged into it, is not stored; the one after is taken whole, and the next is laid
// over that one again. (Changes stored beside a whole snapshot that is gone are not used at
// start-up: ChangesNotBasedOnTheWholeOrUndecodableAreLeftOut.)
TEST_F(WriterSnapshotTest, AnIncrementalSnapshotWithoutItsBaseIsDroppedAndTheNextIsWhole) {
  WriterOptions options;
  options.snapshot_interval_events = 25;
  options.unlogged_snapshot_bytes_min = 0;
  options.snapshot_changes_fraction_max = 0;
  Open(options);
  SetUpCommunities();
  RegisterVolunteers(200);
  GivePoints("V1", 1000);
  Redeems("a", 40);
  // Reopened, the writer tracks its changes from the stored snapshot, and none is being written.
  Open(options);
  const uint64_t taken = Stored().at.seq;
  const uint64_t head = log_->head().seq;
  ASSERT_LT(head, taken + 25);
  ASSERT_TRUE(store_->db()->Delete(rocksdb::WriteOptions(), store_->snapshots(), "latest").ok());
  // Each redemption is one event.
  Redeems("b", static_cast<int>(taken + 25 - head));  // due: laid over a snapshot that is gone
  Redeems("c", 25);                                   // due: whole
  WaitForSnapshots(1);
  EXPECT_EQ(0u, writer_->stats().incremental_snapshots);
  EXPECT_EQ(taken + 50, Stored().at.seq);
  ExpectStoredIsTheReplayAtItsSeq();
  Redeems("d", 25);  // due: laid over the whole one
  WaitForSnapshots(2);
  EXPECT_EQ(1u, writer_->stats().incremental_snapshots);
  EXPECT_EQ(taken + 75, Stored().at.seq);
  ExpectStoredIsTheReplayAtItsSeq();
}

// A small state whose entries change over and over: the changes name more entries than the state
// holds, and the snapshot is encoded whole, which sorts fewer.
TEST_F(WriterSnapshotTest, ChangesNamingMoreEntriesThanTheStateHoldsAreEncodedWhole) {
  WriterOptions options;
  options.snapshot_interval_events = 25;
  Open(options);
  SetUpCommunities();
  GivePoints("V1", 1000);
  Redeems("e", 80);
  writer_->Stop();
  EXPECT_GE(writer_->stats().snapshots, 3u);
  EXPECT_EQ(0u, writer_->stats().incremental_snapshots);
  ExpectStoredIsTheReplayAtItsSeq();
}

}  // namespace
}  // namespace mulin::ledger
