// Goal: the read commands work beside a live writer (DESIGN §5) even while it flushes and compacts:
// a read-only open that catches the writer replacing table files or dropping a write-ahead log
// must not report the ledger as damaged (exit 3) when it is not. It reads a pin of the files
// (ledger/store.cc), which it removes once open, and which a later open removes for a reader that
// died; where no pin can be made it reads the ledger in place.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
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
// The directories in which read-only opens pin the files they read are named so.
constexpr const char* kPinPrefix = ".mulin-read-";

// The pins in `dir`.
std::vector<std::string> PinsIn(const std::string& dir) {
  std::vector<std::string> pins;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename();
    if (name.rfind(kPinPrefix, 0) == 0) pins.push_back(name);
  }
  return pins;
}

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
  EXPECT_TRUE(PinsIn(writer.dir()).empty());
  EXPECT_TRUE(PinsIn(writer.dir() + "/projections").empty());
}

// A reader killed while it opened leaves its pin, whose links would keep deleted logs on disk: the
// next read-only open removes it, and leaves a live reader's alone.
TEST(ReadBesideWriterTest, APinLeftByADeadReaderIsRemoved) {
  TempDir dir;
  TestLedger ledger(dir.Sub("ledger"));
  ASSERT_TRUE(ledger.Open().ok());
  ASSERT_TRUE(ledger.AppendRedemptions(kRecordsPerRound).ok());
  ledger.Close();
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  ASSERT_GT(dead, 0);
  ASSERT_EQ(dead, waitpid(dead, nullptr, 0));
  const std::string abandoned = kPinPrefix + std::to_string(dead) + "-a1b2c3";
  const std::string live = kPinPrefix + std::to_string(getpid()) + "-d4e5f6";
  for (const std::string& pin : {abandoned, live}) {
    std::filesystem::create_directory(ledger.dir() + "/" + pin);
    std::ofstream(ledger.dir() + "/" + pin + "/CURRENT") << "MANIFEST-000001\n";
  }
  RunResult r = mulin::testing::Run({MULIN_BINARY, "--db", ledger.dir(), "verify"});
  EXPECT_EQ(0, r.exit_code) << r.out << r.err;
  EXPECT_EQ(std::vector<std::string>{live}, PinsIn(ledger.dir()));
}

// Where no pin can be made, a ledger on read-only media, the read commands read it in place.
TEST(ReadBesideWriterTest, ALedgerOnReadOnlyMediaIsReadInPlace) {
  const char* const unshare = "/usr/bin/unshare";
  if (mulin::testing::Run({unshare, "--map-root-user", "--mount", "/bin/true"}).exit_code != 0) {
    GTEST_SKIP() << "no user and mount namespaces here to mount the ledger read-only";
  }
  TempDir dir;
  TestLedger ledger(dir.Sub("ledger"));
  ASSERT_TRUE(ledger.Open().ok());
  ASSERT_TRUE(ledger.AppendRedemptions(kRecordsPerRound).ok());
  ledger.Close();
  const std::string script =
      "mount --bind -o ro \"$1\" \"$1\" && ! touch \"$1/probe\" 2>/dev/null && "
      "exec \"$2\" --db \"$1\" verify";
  RunResult r = mulin::testing::Run({unshare, "--map-root-user", "--mount", "/bin/sh", "-c", script,
                                     "sh", ledger.dir(), MULIN_BINARY});
  EXPECT_EQ(0, r.exit_code) << r.out << r.err;
  EXPECT_NE(std::string::npos, r.out.find("ok: 40 records verified")) << r.out << r.err;
}

}  // namespace
}  // namespace mulin::testing
