// Goal: the read commands work beside a live writer (DESIGN §5) even while it flushes and compacts:
// a read-only open that catches the writer replacing table files or dropping a write-ahead log
// must not report the ledger as damaged (exit 3) when it is not. It reads a pin of the files
// (ledger/store_open.h), which it removes once open, and which a later open removes for a reader
// that died; where no pin can be made it reads the ledger in place.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "ledger/event_log.h"
#include "ledger/store.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ledger.h"

namespace mulin::testing {
namespace {

constexpr int kWriterRounds = 150;
// A writer that goes on until the reader has run enough commands stops after this many rounds.
constexpr int kWriterRoundsMax = 3000;
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

struct ReadRun {
  std::string command;
  RunResult result;
};

// Runs `read` with "verify" and "checkpoint" in turn, as a nightly job runs them beside `mulin
// serve`, for as long as `writer` appends, flushes after every round and compacts every few: the
// flushes delete a write-ahead log each time, the compactions every table file. The writer goes
// on for kWriterRounds, and then until `reads_min` commands have finished (or kWriterRoundsMax).
// Returns each run.
std::vector<ReadRun> ReadBesideChurn(TestLedger* writer, size_t reads_min,
                                     const std::function<RunResult(const char*)>& read) {
  std::atomic<bool> done{false};
  std::atomic<size_t> reads{0};
  std::thread churn([&] {
    rocksdb::DB* db = writer->store().db();
    rocksdb::FlushOptions flush;
    flush.wait = true;
    for (int round = 1; round <= kWriterRounds || (reads < reads_min && round <= kWriterRoundsMax);
         ++round) {
      EXPECT_TRUE(writer->AppendRedemptions(kRecordsPerRound).ok());
      for (auto* family : {writer->store().events(), writer->store().meta()}) {
        EXPECT_TRUE(db->Flush(flush, family).ok());
      }
      if (round % kCompactEvery == 0) {
        rocksdb::CompactRangeOptions compact;
        EXPECT_TRUE(db->CompactRange(compact, writer->store().events(), nullptr, nullptr).ok());
        EXPECT_TRUE(db->CompactRange(compact, writer->store().meta(), nullptr, nullptr).ok());
      }
    }
    done = true;
  });
  std::vector<ReadRun> runs;
  while (!done) {
    for (const char* command : {"verify", "checkpoint"}) {
      runs.push_back({command, read(command)});
      ++reads;
    }
  }
  churn.join();
  return runs;
}

// Whether `dir` can be mounted read-only here without privileges (user and mount namespaces, and
// the mount program), so that a write to it fails.
bool CanMountReadOnly(const std::string& dir) {
  std::filesystem::create_directories(dir);
  const std::string script = "mount --bind -o ro \"$1\" \"$1\" && ! touch \"$1/probe\" 2>/dev/null";
  return mulin::testing::Run(
             {"/usr/bin/unshare", "--map-root-user", "--mount", "/bin/sh", "-c", script, "sh", dir})
             .exit_code == 0;
}

// Runs `mulin --db <mount> <command>` where `ledger` is mounted read-only at `mount`, and checks
// first that the mount refuses a write.
RunResult ReadThroughReadOnlyMount(const std::string& ledger, const std::string& mount,
                                   const char* command) {
  const std::string script =
      "mount --bind -o ro \"$1\" \"$2\" && ! touch \"$2/probe\" 2>/dev/null && "
      "exec \"$3\" --db \"$2\" \"$4\"";
  return mulin::testing::Run({"/usr/bin/unshare", "--map-root-user", "--mount", "/bin/sh", "-c",
                              script, "sh", ledger, mount, MULIN_BINARY, command});
}

// Each test starts from a ledger of one round of redemptions, open for writing.
class ReadBesideWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ledger_.Open().ok());
    ASSERT_TRUE(ledger_.AppendRedemptions(kRecordsPerRound).ok());
  }

  TempDir dir_;
  TestLedger ledger_{dir_.Sub("ledger")};
};

TEST_F(ReadBesideWriterTest, ReadOnlyOpensSurviveFlushesAndCompactions) {
  const std::vector<ReadRun> runs = ReadBesideChurn(&ledger_, 0, [&](const char* command) {
    return mulin::testing::Run({MULIN_BINARY, "--db", ledger_.dir(), command});
  });
  std::vector<std::string> failures;
  for (const ReadRun& run : runs) {
    if (run.result.exit_code != 0) {
      failures.push_back(run.command + ": " + run.result.out + run.result.err);
    }
  }
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << runs.size()
                                << " read commands failed; the first: " << failures.front();
  std::printf("read commands beside a compacting writer: %zu, failed: %zu\n", runs.size(),
              failures.size());
  EXPECT_TRUE(PinsIn(ledger_.dir()).empty());
  EXPECT_TRUE(PinsIn(ledger_.dir() + "/projections").empty());
}

// A reader that cannot pin (here the ledger is mounted read-only for it while the writer changes
// it underneath) opens in place, and retries while the files change: it answers, or says it is
// busy and to try again, and never reports damage that a torn view would show.
TEST_F(ReadBesideWriterTest, ReadsInPlaceBesideAWriterAnswerOrSayBusy) {
  if (!CanMountReadOnly(dir_.Sub("probe")))
    GTEST_SKIP() << "cannot mount a directory read-only here";
  const std::string mount = dir_.Sub("read-only");
  std::filesystem::create_directory(mount);
  // An in-place open gives up after its 50 attempts, a few seconds here: the writer goes on until
  // two commands have finished, so that those saw the files change throughout.
  const std::vector<ReadRun> runs = ReadBesideChurn(&ledger_, 2, [&](const char* command) {
    return ReadThroughReadOnlyMount(ledger_.dir(), mount, command);
  });
  size_t answered = 0, busy = 0;
  for (const ReadRun& run : runs) {
    const std::string said = run.result.out + run.result.err;
    if (run.result.exit_code == 0) {
      ++answered;
    } else if (run.result.exit_code == 1 && said.find("try again") != std::string::npos) {
      ++busy;
    } else {
      ADD_FAILURE() << run.command << " exited " << run.result.exit_code << ": " << said;
    }
  }
  std::printf("in-place read commands beside a compacting writer: %zu, answered %zu, busy %zu\n",
              runs.size(), answered, busy);
}

// A reader killed while it opened leaves its pin, whose links would keep deleted logs on disk: the
// next read-only open removes it, and leaves a live reader's alone.
TEST_F(ReadBesideWriterTest, APinLeftByADeadReaderIsRemoved) {
  ledger_.Close();
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  ASSERT_GT(dead, 0);
  ASSERT_EQ(dead, waitpid(dead, nullptr, 0));
  const std::string abandoned = kPinPrefix + std::to_string(dead) + "-a1b2c3";
  const std::string live = kPinPrefix + std::to_string(getpid()) + "-d4e5f6";
  for (const std::string& pin : {abandoned, live}) {
    std::filesystem::create_directory(ledger_.dir() + "/" + pin);
    std::ofstream(ledger_.dir() + "/" + pin + "/CURRENT") << "MANIFEST-000001\n";
  }
  RunResult r = mulin::testing::Run({MULIN_BINARY, "--db", ledger_.dir(), "verify"});
  EXPECT_EQ(0, r.exit_code) << r.out << r.err;
  EXPECT_EQ(std::vector<std::string>{live}, PinsIn(ledger_.dir()));
}

// Where no pin can be made, a ledger on read-only media, the read commands read it in place.
TEST_F(ReadBesideWriterTest, ALedgerOnReadOnlyMediaIsReadInPlace) {
  if (!CanMountReadOnly(dir_.Sub("probe")))
    GTEST_SKIP() << "cannot mount a directory read-only here";
  ledger_.Close();
  RunResult r = ReadThroughReadOnlyMount(ledger_.dir(), ledger_.dir(), "verify");
  EXPECT_EQ(0, r.exit_code) << r.out << r.err;
  EXPECT_NE(std::string::npos, r.out.find("ok: 40 records verified")) << r.out << r.err;
}

}  // namespace
}  // namespace mulin::testing
