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
#include "tests/support/commands.h"

namespace mulin::ledger {
namespace {

using namespace mulin::testing;  // NOLINT: the command builders read like a script

class WriterSnapshotTest : public WriterTest {
 protected:
  // The stored snapshot, with any changes stored beside it laid over it, which must be there.
  LoadedSnapshot Stored() {
    Result<std::optional<LoadedSnapshot>> stored = LoadSnapshot(store_, *log_);
    EXPECT_TRUE(stored.ok()) << stored.status().ToString();
    if (!stored.ok() || !stored->has_value()) {
      ADD_FAILURE() << "no snapshot is stored";
      return LoadedSnapshot();
    }
    return std::move(stored).value().value();
  }

  // The stored snapshot holds exactly the state a replay of the log to its seq builds.
  void ExpectStoredIsTheReplayAtItsSeq() {
    const LoadedSnapshot stored = Stored();
    ASSERT_GT(stored.at.seq, 0u);
    domain::State replayed = Replay(stored.at.seq);
    DropReceipts(&replayed);
    EXPECT_EQ(domain::EncodeState(replayed), domain::EncodeState(stored.state))
        << "snapshot at seq " << stored.at.seq << ", whole at " << stored.whole_at.seq;
  }

  // The seq of the whole snapshot stored and of the changes stored beside it (0: none).
  std::pair<uint64_t, uint64_t> StoredSeqs() {
    Result<std::optional<StoredSnapshot>> whole = ReadSnapshot(store_);
    Result<std::optional<StoredChanges>> changes = ReadSnapshotChanges(store_);
    EXPECT_TRUE(whole.ok() && changes.ok());
    if (!whole.ok() || !changes.ok()) return {0, 0};
    return {whole->has_value() ? (*whole)->at.seq : 0,
            changes->has_value() ? (*changes)->at.seq : 0};
  }

  // Volunteers enough that an interval of 25 events changes fewer entries than the state holds,
  // so that snapshots are laid over the one before (domain::ChangesAreSmaller).
  void RegisterVolunteers(int n) {
    for (int i = 0; i < n; ++i) {
      Ok(RegisterMember("many" + std::to_string(i), "xishan", "MV" + std::to_string(i),
                        {schema::Role::VOLUNTEER}));
    }
  }

  void Redeems(const std::string& prefix, int n) {
    for (int i = 0; i < n; ++i) {
      Ok(Redeem(prefix + std::to_string(i), "T1", prefix + "-RD" + std::to_string(i), "V1", 1));
    }
  }

  // Members registered, points given and spent, sales recorded, with snapshots every 25 events:
  // every snapshot after the first is laid over the one before, and each holds the state of a full
  // replay to its seq. Reopened, the writer lays its first snapshot over the one it started from.
  // Returns the stats of the first run.
  WriterStats ExpectIncrementalSnapshotsHoldTheReplay(const WriterOptions& options) {
    Open(options);
    SetUpCommunities();
    RegisterVolunteers(200);
    GivePoints("V1", 1000);
    for (int i = 0; i < 200; ++i) {
      Ok(Redeem("s" + std::to_string(i), "T1", "RD" + std::to_string(i), "V1", 2));
      if (i % 9 == 0) {
        Ok(RegisterMember("n" + std::to_string(i), "xishan", "N" + std::to_string(i),
                          {schema::Role::VOLUNTEER}));
        GivePoints("N" + std::to_string(i), 10);
      }
      if (i % 7 == 0) {
        Ok(RecordSale("sale" + std::to_string(i), "T1", "S" + std::to_string(i), "M1", 1000 + i));
      }
      if (i % 40 == 39) ExpectStoredIsTheReplayAtItsSeq();
    }
    writer_->Stop();
    const WriterStats stats = writer_->stats();
    EXPECT_GE(stats.snapshots, 8u);
    EXPECT_EQ(stats.snapshots - 1, stats.incremental_snapshots) << "all but the first";
    ExpectStoredIsTheReplayAtItsSeq();

    Open(options);
    EXPECT_EQ(ReplayedState(), EncodedState());
    Redeems("after", 30);
    WaitForSnapshots(1);
    EXPECT_EQ(1u, writer_->stats().incremental_snapshots) << "laid over the snapshot opened from";
    ExpectStoredIsTheReplayAtItsSeq();
    EXPECT_EQ(ReplayedState(), EncodedState());
    return stats;
  }
};

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
  WriterOptions options;
  options.snapshot_interval_events = 25;
  options.incremental_snapshots = false;  // the whole snapshot taken after the volunteers
  Open(options);
  SetUpCommunities();
  RegisterVolunteers(200);
  GivePoints("V1", 1000);
  options.incremental_snapshots = true;
  options.snapshot_changes_fraction_max = 1e9;
  Open(options);
  Redeems("a", 60);
  writer_->Stop();
  const auto [whole, changes] = StoredSeqs();
  ASSERT_GT(changes, whole);
  Result<std::optional<StoredChanges>> stored = ReadSnapshotChanges(store_);
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
