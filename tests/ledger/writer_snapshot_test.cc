// Goal: the writer starts from a snapshot plus the log's tail into exactly the state a full replay
// gives, also from the files a crash leaves right after a snapshot written past the WAL; a
// snapshot written on its own thread is complete once the writer has stopped.
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>

#include "ledger/writer.h"
#include "tests/ledger/writer_fixture.h"
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
  Result<std::optional<StoredSnapshot>> stored = ReadUsableSnapshot(store_, *log_);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  ASSERT_TRUE(stored->has_value());
  EXPECT_LT(log_->head().seq, (*stored)->at.seq + options.snapshot_interval_events);
  Open(options);
  EXPECT_EQ(ReplayedState(), EncodedState());
}

}  // namespace
}  // namespace mulin::ledger
