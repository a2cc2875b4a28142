// Goal: the read commands work beside a live writer (DESIGN §5) even while it flushes and compacts:
// a read-only open that catches the writer replacing table files or dropping a write-ahead log
// must not report the ledger as damaged (exit 3) when it is not.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "ledger/event_log.h"
#include "ledger/store.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ledger.h"

namespace mulin::testing {
namespace {

constexpr int kWriterRounds = 150;
constexpr size_t kRecordsPerRound = 40;
// Every this many rounds the writer compacts everything, replacing every table file at once.
constexpr int kCompactEvery = 5;

TEST(ReadBesideWriterTest, ReadOnlyOpensSurviveFlushesAndCompactions) {
  TempDir dir;
  TestLedger writer(dir.Sub("ledger"));
  ASSERT_TRUE(writer.Open().ok());
  ASSERT_TRUE(writer.AppendRedemptions(kRecordsPerRound).ok());
  std::atomic<bool> done{false};
  std::thread churn([&] {
    rocksdb::DB* db = writer.store().db();
    rocksdb::FlushOptions flush;
    flush.wait = true;
    for (int round = 1; round <= kWriterRounds; ++round) {
      EXPECT_TRUE(writer.AppendRedemptions(kRecordsPerRound).ok());
      for (auto* family : {writer.store().events(), writer.store().meta()}) {
        EXPECT_TRUE(db->Flush(flush, family).ok());
      }
      if (round % kCompactEvery == 0) {
        rocksdb::CompactRangeOptions compact;
        EXPECT_TRUE(db->CompactRange(compact, writer.store().events(), nullptr, nullptr).ok());
        EXPECT_TRUE(db->CompactRange(compact, writer.store().meta(), nullptr, nullptr).ok());
      }
    }
    done = true;
  });
  // The read commands, as a nightly job runs them beside `mulin serve`.
  int runs = 0;
  std::vector<std::string> failures;
  while (!done) {
    for (const char* command : {"verify", "checkpoint"}) {
      RunResult r = mulin::testing::Run({MULIN_BINARY, "--db", writer.dir(), command});
      ++runs;
      if (r.exit_code != 0) failures.push_back(std::string(command) + ": " + r.out + r.err);
    }
  }
  churn.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << runs
                                << " read commands failed; the first: " << failures.front();
  std::printf("read commands beside a compacting writer: %d, failed: %zu\n", runs, failures.size());
}

}  // namespace
}  // namespace mulin::testing
