// Goal: a catch-up killed with SIGKILL mid-batch loses the whole batch (and the one in flight to
// the store, if it had not landed) and nothing else — rows and checkpoint stay those of the last
// batch that landed — and after a restart the projections
// equal a rebuild from seq 1, byte for byte, however often and wherever the process died.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "projections/engine.h"
#include "projections/standard.h"
#include "tests/projections/ledger_fixture.h"
#include "tests/support/temp_dir.h"

namespace mulin::projections {
namespace {

using testing::DumpRows;
using testing::FirstDifference;
using testing::LedgerFixture;
using testing::RowMap;

constexpr size_t kEvents = 20000;
constexpr size_t kBatchEvents = 1000;

class ProjectionCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger_.Open();
    head_ = ledger_.AppendRandomEvents(31, kEvents);
    ledger_.Close();  // the child opens it: RocksDB allows one writer process
  }

  // Runs a catch-up in a child process; `kill_at_seq` > 0 makes the child SIGKILL itself once
  // the fold reaches that seq. Returns the child's wait status.
  int CatchUpInChild(uint64_t kill_at_seq) {
    const pid_t pid = fork();
    if (pid == 0) {
      LedgerFixture child(ledger_.dir());
      child.Open();
      StandardProjections set;
      CatchUpOptions options;
      options.batch_events_max = kBatchEvents;
      options.progress_interval_events = 250;
      options.progress = [kill_at_seq](uint64_t done, uint64_t) {
        if (kill_at_seq != 0 && done >= kill_at_seq) raise(SIGKILL);
      };
      const bool ok = Engine(child.rows(), set.All()).CatchUp(*child.log(), options).ok();
      _exit(ok ? 0 : 1);
    }
    int status = 0;
    EXPECT_EQ(pid, waitpid(pid, &status, 0));
    return status;
  }

  RowMap RebuiltRows(uint64_t to_seq) {
    MemoryRowStore scratch;
    StandardProjections set;
    CatchUpOptions options;
    options.to_seq = to_seq;
    EXPECT_TRUE(Engine(&scratch, set.All()).CatchUp(*ledger_.log(), options).ok());
    return DumpRows(scratch);
  }

  testing::TempDir dir_;
  LedgerFixture ledger_{dir_.path()};
  uint64_t head_ = 0;
};

TEST_F(ProjectionCrashTest, KilledMidBatchKeepsExactlyTheCommittedBatches) {
  const int status = CatchUpInChild(2 * kBatchEvents + 750);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;

  ledger_.Open();
  StandardProjections set;
  Engine engine(ledger_.rows(), set.All());
  // Batches land on a thread of their own while the next is folded: the second may still have
  // been in flight at the kill, and then it is lost whole. No other state is allowed.
  const uint64_t landed = engine.ReadCheckpoint(kBalancesName)->seq;
  EXPECT_TRUE(landed == kBatchEvents || landed == 2 * kBatchEvents) << landed;
  for (Projection* projection : set.All()) {
    EXPECT_EQ(landed, engine.ReadCheckpoint(projection->name())->seq) << projection->name();
  }
  const RowMap committed = DumpRows(*ledger_.rows());
  const RowMap expected = RebuiltRows(landed);
  EXPECT_TRUE(expected == committed) << FirstDifference(expected, committed);

  ASSERT_TRUE(engine.CatchUp(*ledger_.log(), CatchUpOptions()).ok());
  const RowMap resumed = DumpRows(*ledger_.rows());
  const RowMap rebuilt = RebuiltRows(0);
  EXPECT_TRUE(rebuilt == resumed) << FirstDifference(rebuilt, resumed);
}

TEST_F(ProjectionCrashTest, KilledAtRandomMomentsThenRestartedEqualsARebuild) {
  std::mt19937_64 rng(5);
  int killed = 0;
  for (int attempt = 0; attempt < 6; ++attempt) {
    const pid_t pid = fork();
    if (pid == 0) {
      LedgerFixture child(ledger_.dir());
      child.Open();
      StandardProjections set;
      CatchUpOptions options;
      options.batch_events_max = 300;  // many commits: kills land in and between them
      const bool ok = Engine(child.rows(), set.All()).CatchUp(*child.log(), options).ok();
      _exit(ok ? 0 : 1);
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 120)(rng)));
    kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(pid, waitpid(pid, &status, 0));
    if (WIFSIGNALED(status)) {
      ++killed;
    } else {
      ASSERT_EQ(0, WEXITSTATUS(status)) << "a catch-up failed after a kill";
    }
  }
  EXPECT_GT(killed, 0) << "no child was killed: the test proved nothing";

  ledger_.Open();
  StandardProjections set;
  Engine engine(ledger_.rows(), set.All());
  ASSERT_TRUE(engine.CatchUp(*ledger_.log(), CatchUpOptions()).ok());
  const RowMap resumed = DumpRows(*ledger_.rows());
  const RowMap rebuilt = RebuiltRows(0);
  EXPECT_TRUE(rebuilt == resumed) << FirstDifference(rebuilt, resumed);
  EXPECT_EQ(head_, engine.ReadCheckpoint(kAuditName)->seq);
}

}  // namespace
}  // namespace mulin::projections
