// The writer-snapshot tests' fixture: the stored snapshot as start-up loads it, compared with a
// replay of the log, and the commands that change many entries of the state or one.
#ifndef MULIN_TESTS_LEDGER_WRITER_SNAPSHOT_FIXTURE_H_
#define MULIN_TESTS_LEDGER_WRITER_SNAPSHOT_FIXTURE_H_

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>

#include "ledger/snapshot.h"
#include "ledger/writer.h"
#include "tests/ledger/writer_fixture.h"
#include "tests/support/commands.h"

namespace mulin::ledger {

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
    Result<std::optional<StoredSnapshot>> changes = ReadSnapshotChanges(store_);
    EXPECT_TRUE(whole.ok() && changes.ok());
    if (!whole.ok() || !changes.ok()) return {0, 0};
    return {whole->has_value() ? (*whole)->at.seq : 0,
            changes->has_value() ? (*changes)->at.seq : 0};
  }

  // A whole snapshot taken after 200 volunteers, then 60 redemptions whose changes are stored
  // beside it (never merged), the writer stopped. Returns the options it ran with.
  WriterOptions StoreChangesBesideAWholeSnapshot() {
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
    return options;
  }

  // Volunteers enough that an interval of 25 events changes fewer entries than the state holds,
  // so that snapshots are laid over the one before (domain::ChangesAreSmaller).
  void RegisterVolunteers(int n) {
    for (int i = 0; i < n; ++i) {
      Ok(mulin::testing::RegisterMember("many" + std::to_string(i), "xishan",
                                        "MV" + std::to_string(i), {schema::Role::VOLUNTEER}));
    }
  }

  void Redeems(const std::string& prefix, int n) {
    for (int i = 0; i < n; ++i) {
      Ok(mulin::testing::Redeem(prefix + std::to_string(i), "T1",
                                prefix + "-RD" + std::to_string(i), "V1", 1));
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
      Ok(mulin::testing::Redeem("s" + std::to_string(i), "T1", "RD" + std::to_string(i), "V1", 2));
      if (i % 9 == 0) {
        Ok(mulin::testing::RegisterMember("n" + std::to_string(i), "xishan",
                                          "N" + std::to_string(i), {schema::Role::VOLUNTEER}));
        GivePoints("N" + std::to_string(i), 10);
      }
      if (i % 7 == 0) {
        Ok(mulin::testing::RecordSale("sale" + std::to_string(i), "T1", "S" + std::to_string(i),
                                      "M1", 1000 + i));
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

}  // namespace mulin::ledger

#endif  // MULIN_TESTS_LEDGER_WRITER_SNAPSHOT_FIXTURE_H_
