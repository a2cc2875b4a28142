// Goal: changes stored beside the whole snapshot hold, laid over it, the state a replay to their
// seq gives, across reopens; merged into the whole every time or once grown past their fraction,
// the same; changes based on another whole, or undecodable, are left out at start-up and replaced
// by the next snapshot's; a whole snapshot of another history, or undecodable, is left out with
// its changes, and the log replayed in full; and a stop takes a snapshot at the head after enough
// events.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "ledger/writer.h"
#include "tests/ledger/writer_snapshot_fixture.h"
#include "tests/support/commands.h"

namespace mulin::ledger {
namespace {

using namespace mulin::testing;  // NOLINT: the command builders read like a script

// Merged into the whole snapshot every time: the whole is rewritten, and no changes are stored.
TEST_F(WriterSnapshotTest, IncrementalSnapshotsMergedEveryTimeHoldTheReplay) {
  WriterOptions options;
  options.snapshot_interval_events = 25;
  options.snapshot_changes_fraction_max = 0;
  const WriterStats stats = ExpectIncrementalSnapshotsHoldTheReplay(options);
  EXPECT_EQ(stats.incremental_snapshots, stats.merged_snapshots);
  writer_->Stop();
  const auto [whole, changes] = StoredSeqs();
  EXPECT_EQ(Stored().at.seq, whole);
  EXPECT_EQ(0u, changes);
}

// Never merged: the whole snapshot stays the first one, the changes since stored beside it reach
// the last, and start-up lays them over it, also after a reopen that tracked from them.
TEST_F(WriterSnapshotTest, ChangesStoredBesideTheWholeHoldTheReplay) {
  WriterOptions options;
  options.snapshot_interval_events = 25;
  options.snapshot_changes_fraction_max = 1e9;
  const WriterStats stats = ExpectIncrementalSnapshotsHoldTheReplay(options);
  EXPECT_EQ(0u, stats.merged_snapshots);
  writer_->Stop();
  const auto [whole, changes] = StoredSeqs();
  EXPECT_LT(whole, 30u) << "the first snapshot";
  EXPECT_EQ(Stored().at.seq, changes);
  EXPECT_EQ(whole, Stored().whole_at.seq);
  EXPECT_TRUE(Stored().with_changes);
}

// Changes grown past the fraction are merged into the whole, which is written anew, and the changes
// go with it; later intervals' changes are stored beside the new whole.
TEST_F(WriterSnapshotTest, ChangesGrownLargeAreMergedIntoTheWhole) {
  WriterOptions options;
  options.snapshot_interval_events = 25;
  options.snapshot_changes_fraction_max = 0.2;
  Open(options);
  SetUpCommunities();
  RegisterVolunteers(200);
  // Points for each volunteer: every interval changes 25 balances more.
  for (int i = 0; i < 200; ++i) GivePoints("MV" + std::to_string(i), 5);
  writer_->Stop();
  const WriterStats stats = writer_->stats();
  EXPECT_GE(stats.merged_snapshots, 1u);
  EXPECT_GT(stats.incremental_snapshots, stats.merged_snapshots) << "some stored beside";
  const uint64_t first_whole = 25 + 1;  // the cast's events end within a group of the first 25
  EXPECT_GT(StoredSeqs().first, first_whole) << "the whole was written anew";
  ExpectStoredIsTheReplayAtItsSeq();

  Open(options);
  EXPECT_EQ(ReplayedState(), EncodedState());
  for (int i = 0; i < 30; ++i) {
    Ok(Adjust("more-" + std::to_string(i), "S1", "xishan", "volunteer:MV" + std::to_string(i),
              schema::Unit::POINTS, 1));
  }
  WaitForSnapshots(1);
  writer_->Stop();
  EXPECT_EQ(0u, writer_->stats().merged_snapshots);
  const auto [whole, changes] = StoredSeqs();
  EXPECT_GT(changes, whole) << "stored beside the whole";
  ExpectStoredIsTheReplayAtItsSeq();
}

// Changes stored beside a whole snapshot they are not based on, or that do not decode, are left out
// at start-up: the writer starts from the whole snapshot and replays the rest, and its next
// snapshot's changes replace them.
TEST_F(WriterSnapshotTest, ChangesNotBasedOnTheWholeOrUndecodableAreLeftOut) {
  const WriterOptions options = StoreChangesBesideAWholeSnapshot();
  const auto [whole, changes] = StoredSeqs();
  ASSERT_GT(changes, whole);
  Result<std::optional<StoredSnapshot>> stored = ReadSnapshotChanges(store_);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  const std::string value = (*stored)->value;
  const auto put = [this](const std::string& v) {
    ASSERT_TRUE(store_->db()->Put(rocksdb::WriteOptions(), store_->snapshots(), "changes", v).ok());
  };
  std::string other_base = value;
  other_base[8 + 32 + 8] ^= 1;  // the base's chain hash
  std::string garbage = value;
  garbage.replace(2 * (8 + 32), std::string::npos, std::string(64, '\x5a'));
  for (const std::string& bad : {other_base, garbage}) {
    put(bad);
    EXPECT_EQ(whole, Stored().at.seq);
    EXPECT_FALSE(Stored().with_changes);
    Open(options);
    EXPECT_EQ(ReplayedState(), EncodedState());
    Redeems("b" + std::to_string(bad.size()), 25);
    writer_->Stop();
    // The tail since the whole is past an interval: the first group takes a snapshot at once.
    EXPECT_GE(writer_->stats().snapshots, 1u);
    EXPECT_EQ(writer_->stats().snapshots, writer_->stats().incremental_snapshots)
        << "laid over the whole";
    EXPECT_GT(Stored().at.seq, whole);
    EXPECT_EQ(whole, Stored().whole_at.seq);
    ExpectStoredIsTheReplayAtItsSeq();
  }
}

// A whole snapshot that does not decode, or is of another history, is not used, nor are the
// changes stored beside it: start-up replays the log in full, and the next snapshot is whole.
TEST_F(WriterSnapshotTest, AnUnusableWholeSnapshotIsLeftOutWithItsChanges) {
  const WriterOptions options = StoreChangesBesideAWholeSnapshot();
  // Each made from the whole snapshot stored, its header kept but for what is named: the garbage
  // one is still the base of the changes stored beside it, which decode with it and fail.
  const auto other_history = [](std::string value) {
    value[8] ^= 1;  // the chain hash
    return value;
  };
  const auto garbage = [](std::string value) {
    return value.replace(8 + 32, std::string::npos, std::string(64, '\x5a'));
  };
  int round = 0;
  for (const auto& make_bad : {+other_history, +garbage}) {
    const auto [whole_before, changes_before] = StoredSeqs();
    ASSERT_GT(changes_before, whole_before);
    Result<std::optional<StoredSnapshot>> stored = ReadSnapshot(store_);
    ASSERT_TRUE(stored.ok() && stored->has_value());
    ASSERT_TRUE(store_->db()
                    ->Put(rocksdb::WriteOptions(), store_->snapshots(), "latest",
                          make_bad((*stored)->value))
                    .ok());
    Result<std::optional<LoadedSnapshot>> loaded = LoadSnapshot(store_, *log_);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_FALSE(loaded->has_value()) << round;
    Open(options);
    EXPECT_EQ(ReplayedState(), EncodedState()) << round;
    Redeems("b" + std::to_string(round++), 25);
    writer_->Stop();
    EXPECT_LT(writer_->stats().incremental_snapshots, writer_->stats().snapshots)
        << "the first is whole: there is nothing to lay it over";
    EXPECT_GT(StoredSeqs().first, whole_before) << "a new whole one";
    ExpectStoredIsTheReplayAtItsSeq();
  }
}

// A stop takes a snapshot when stop_snapshot_events_min events or more followed the last one, so
// that the next start-up replays no tail; after fewer, or with the option at 0, it takes none.
TEST_F(WriterSnapshotTest, StopTakesASnapshotWhenEnoughEventsFollowedTheLast) {
  WriterOptions options;
  options.snapshot_interval_events = 1000;  // none on the way
  options.stop_snapshot_events_min = 10;
  Open(options);
  SetUpCommunities();
  GivePoints("V1", 1000);
  Redeems("a", 10);
  writer_->Stop();
  EXPECT_EQ(1u, writer_->stats().snapshots);
  EXPECT_EQ(log_->head().seq, Stored().at.seq);
  const uint64_t first = Stored().at.seq;

  Open(options);
  Redeems("b", 9);
  writer_->Stop();
  EXPECT_EQ(0u, writer_->stats().snapshots) << "9 events after the last";
  EXPECT_EQ(first, Stored().at.seq);

  Open(options);
  EXPECT_EQ(ReplayedState(), EncodedState());
  Redeems("c", 1);  // with the 9 replayed: 10 since the last
  writer_->Stop();
  EXPECT_EQ(1u, writer_->stats().snapshots);
  EXPECT_EQ(log_->head().seq, Stored().at.seq);
  ExpectStoredIsTheReplayAtItsSeq();

  options.stop_snapshot_events_min = 0;
  Open(options);
  Redeems("d", 20);
  writer_->Stop();
  EXPECT_EQ(0u, writer_->stats().snapshots) << "never at a stop";
  options.stop_snapshot_events_min = 10;
  options.snapshot_interval_events = 0;
  Open(options);
  Redeems("e", 20);
  writer_->Stop();
  EXPECT_EQ(0u, writer_->stats().snapshots) << "no snapshots at all";
  Open(options);
  EXPECT_EQ(ReplayedState(), EncodedState());
}

}  // namespace
}  // namespace mulin::ledger
