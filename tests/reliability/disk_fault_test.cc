// Goal: a failing disk never makes the ledger serve wrong data, and every fault is reported with
// the seq or the file it hit: flipped bytes in random records and in a table file, a truncated and
// a deleted table file, and a write-ahead log that lost its tail (where the ledger falls back to a
// whole-batch prefix that an auditor's checkpoint exposes as truncated).
//
// The test runs this binary again as the appender that it kills (main() below), as
// tests/ledger/log_durability_test.cc does.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "ledger/record_format.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ledger.h"

namespace mulin::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kAppenderFlag[] = "--wal-appender";
constexpr uint64_t kRecords = 300;
constexpr int kRecordFlips = 40;
constexpr int kTableFlips = 12;
constexpr size_t kAppenderBatchRecords = 16;
constexpr uint64_t kAppenderBatchesMax = 100000;  // a lost child still stops
constexpr size_t kAcknowledgedBeforeKill = 8;     // batches the appender reports before the kill
constexpr int kAppenderAfterAckMs = 100;          // and how long it runs on after those
constexpr int kAppenderStartDeadlineMs = 60000;   // a start slower than this fails the test
constexpr uint32_t kSeed = 0x6d756c69;            // fixed: a failure replays the same faults
constexpr int kExitOk = 0;
constexpr int kExitIntegrity = 3;

RunResult Mulin(const std::string& db, std::vector<std::string> args) {
  args.insert(args.begin(), {MULIN_BINARY, "--db", db});
  RunOptions options;
  options.unset_env.push_back("MULIN_DB");
  return Run(args, options);
}

size_t CountLines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

// The live table files of the `events` column family, largest first.
std::vector<std::string> EventTables(TestLedger* ledger) {
  std::vector<rocksdb::LiveFileMetaData> files;
  ledger->store().db()->GetLiveFilesMetaData(&files);
  std::sort(files.begin(), files.end(), [](auto& a, auto& b) { return a.size > b.size; });
  std::vector<std::string> paths;
  for (const auto& f : files) {
    if (f.column_family_name == "events") paths.push_back(f.db_path + "/" + f.name);
  }
  return paths;
}

// A ledger of kRecords events whose `events` family sits in table files, not only in the WAL.
class DiskFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ledger_.Open().ok());
    ASSERT_TRUE(ledger_.AppendMixed(kRecords).ok());
    rocksdb::FlushOptions flush;
    flush.wait = true;
    ASSERT_TRUE(ledger_.store().db()->Flush(flush, ledger_.store().events()).ok());
    tables_ = EventTables(&ledger_);
    ASSERT_FALSE(tables_.empty());
    ledger_.Close();
  }

  // Every way to read the ledger refuses, naming `what` (a seq or a file), with exit 3.
  void ExpectRefusedNaming(const std::string& db, const std::string& what) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"verify"}, {"checkpoint"}, {"export", "--format", "jsonl"}}) {
      SCOPED_TRACE(args[0]);
      RunResult r = Mulin(db, args);
      EXPECT_EQ(kExitIntegrity, r.exit_code) << r.out << r.err;
      EXPECT_NE(std::string::npos, (r.out + r.err).find(what)) << r.out << r.err;
      if (args[0] == "export") {
        EXPECT_EQ(0u, CountLines(r.out)) << "served data past a fault";
      }
    }
    ServerProcess server(MULIN_BINARY, db);
    EXPECT_FALSE(server.Start()) << "mulin serve started on a damaged ledger";
    std::ifstream log(server.log_path());
    std::stringstream text;
    text << log.rdbuf();
    EXPECT_NE(std::string::npos, text.str().find(what)) << text.str();
  }

  TempDir dir_;
  TestLedger ledger_{dir_.Sub("ledger")};
  std::vector<std::string> tables_;
};

TEST_F(DiskFaultTest, AFlippedByteInAnyRecordIsNamedAndNeverServed) {
  std::mt19937 random(kSeed);
  int detected = 0;
  for (int i = 0; i < kRecordFlips; ++i) {
    const uint64_t seq = 1 + random() % kRecords;
    ASSERT_TRUE(ledger_.Open().ok());
    Result<std::string> original = ledger_.ReadRaw(seq);
    ASSERT_TRUE(original.ok());
    const size_t index = random() % original->size();
    const uint8_t mask = static_cast<uint8_t>(1 + random() % 255);
    SCOPED_TRACE("seq " + std::to_string(seq) + ", byte " + std::to_string(index));
    ASSERT_TRUE(ledger_.WriteRaw(seq, FlipByte(*original, index, mask)).ok());
    ledger_.Close();
    // In the library: a read of that record is a corruption error naming it.
    ASSERT_TRUE(ledger_.Open(/*check_head=*/false).ok());
    Result<std::string> read = ledger_.log().ReadPayload(seq);
    EXPECT_TRUE(read.status().IsCorruption()) << read.status().ToString();
    EXPECT_EQ(seq, read.status().seq());
    ledger_.Close();
    // Through the program: verify names it; export stops before it.
    RunResult verify = Mulin(ledger_.dir(), {"verify", "--json"});
    EXPECT_EQ(kExitIntegrity, verify.exit_code) << verify.out << verify.err;
    const bool named =
        verify.out.find("\"firstBadSeq\":\"" + std::to_string(seq) + "\"") != std::string::npos;
    EXPECT_TRUE(named) << verify.out;
    RunResult exported = Mulin(ledger_.dir(), {"export", "--format", "jsonl"});
    EXPECT_EQ(kExitIntegrity, exported.exit_code) << exported.err;
    EXPECT_LT(CountLines(exported.out), seq) << "export served the damaged record";
    EXPECT_NE(std::string::npos, exported.err.find(std::to_string(seq))) << exported.err;
    detected += named && verify.exit_code == kExitIntegrity ? 1 : 0;
    ASSERT_TRUE(ledger_.Open(/*check_head=*/false).ok());
    ASSERT_TRUE(ledger_.WriteRaw(seq, *original).ok());
    ledger_.Close();
  }
  EXPECT_EQ(kExitOk, Mulin(ledger_.dir(), {"verify"}).exit_code);
  std::printf("record flips: %d injected, %d detected with their seq\n", kRecordFlips, detected);
}

void FlipFileByte(const std::string& path, uint64_t offset, uint8_t mask) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(static_cast<std::streamoff>(offset));
  char byte = 0;
  file.get(byte);
  file.seekp(static_cast<std::streamoff>(offset));
  file.put(static_cast<char>(byte ^ mask));
}

TEST_F(DiskFaultTest, AFlippedByteInATableFileIsReportedNotServed) {
  std::mt19937 random(kSeed);
  const std::string table_name = fs::path(tables_.front()).filename();
  int detected = 0;
  for (int i = 0; i < kTableFlips; ++i) {
    // A copy per flip: each fault is judged alone.
    const std::string db = dir_.Sub("flip-" + std::to_string(i));
    fs::copy(ledger_.dir(), db, fs::copy_options::recursive);
    const std::string table = db + "/" + table_name;
    const uint64_t offset = random() % fs::file_size(table);
    SCOPED_TRACE("offset " + std::to_string(offset) + " of " + table_name);
    FlipFileByte(table, offset, static_cast<uint8_t>(1 + random() % 255));
    RunResult verify = Mulin(db, {"verify"});
    // Never a clean bill of health, and never a crash: 3 with the seq or the file named.
    EXPECT_EQ(kExitIntegrity, verify.exit_code) << verify.out << verify.err;
    const std::string said = verify.out + verify.err;
    const bool named =
        said.find("seq") != std::string::npos || said.find(table_name) != std::string::npos;
    EXPECT_TRUE(named) << said;
    RunResult exported = Mulin(db, {"export", "--format", "jsonl"});
    EXPECT_NE(kExitOk, exported.exit_code) << "export served a damaged table";
    detected += verify.exit_code == kExitIntegrity && named ? 1 : 0;
    fs::remove_all(db);
  }
  std::printf("table flips: %d injected, %d detected\n", kTableFlips, detected);
}

TEST_F(DiskFaultTest, ATruncatedTableFileIsNamed) {
  fs::resize_file(tables_.front(), fs::file_size(tables_.front()) / 2);
  ExpectRefusedNaming(ledger_.dir(), fs::path(tables_.front()).filename());
}

TEST_F(DiskFaultTest, ADeletedTableFileIsNamed) {
  fs::remove(tables_.front());
  // RocksDB names the missing table by its number (having also looked for the older .ldb name).
  ExpectRefusedNaming(ledger_.dir(), fs::path(tables_.front()).stem());
}

// The child: appends batches and reports each acknowledged head as "SEQ:HASH\n" until killed.
int RunAppender(const std::string& dir, int ack_fd) {
  TestLedger ledger(dir);
  if (!ledger.Open().ok()) return 1;
  for (uint64_t batch = 0; batch < kAppenderBatchesMax; ++batch) {
    if (!ledger.AppendRedemptions(kAppenderBatchRecords, kAppenderBatchRecords).ok()) return 1;
    const ledger::Head head = ledger.log().head();
    const std::string line =
        std::to_string(head.seq) + ":" + ledger::HexEncode(head.chain) + "\n";  // < PIPE_BUF
    if (write(ack_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 1;
  }
  return 0;
}

// Runs the appender until it has acknowledged kAcknowledgedBeforeKill batches and for
// kAppenderAfterAckMs more, kills it and returns every head it acknowledged. Waiting for the
// acknowledgements rather than a fixed time: under the sanitizers on a slow host the appender once
// took longer than the 300 ms this used to wait only to open its ledger, and reported nothing.
std::vector<std::string> AppendThenKill(const std::string& dir) {
  int fds[2];
  EXPECT_EQ(0, pipe2(fds, O_CLOEXEC));
  const std::vector<std::string> args = {"disk_fault_test", kAppenderFlag, dir,
                                         std::to_string(fds[1])};
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    fcntl(fds[1], F_SETFD, 0);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  close(fds[1]);
  std::string bytes;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kAppenderStartDeadlineMs);
  while (static_cast<size_t>(std::count(bytes.begin(), bytes.end(), '\n')) <
             kAcknowledgedBeforeKill &&
         std::chrono::steady_clock::now() < deadline) {
    if (!ReadSome(fds[0], 100, &bytes)) break;  // the appender is gone; the caller's checks say so
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(kAppenderAfterAckMs));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the appender stopped by itself: " << status;
  while (ReadSome(fds[0], 1000, &bytes)) {
  }
  close(fds[0]);
  std::vector<std::string> heads;
  std::istringstream in(bytes);
  for (std::string line; std::getline(in, line);) heads.push_back(line);
  return heads;
}

// The newest write-ahead log file of a RocksDB directory (names are increasing numbers).
std::string NewestWal(const std::string& dir) {
  std::string newest;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename();
    if (entry.path().extension() == ".log" && name > fs::path(newest).filename().string()) {
      newest = entry.path();
    }
  }
  return newest;
}

TEST_F(DiskFaultTest, ALostLogTailLeavesAWholeBatchPrefixThatACheckpointExposes) {
  const std::string db = dir_.Sub("wal");
  const std::vector<std::string> acknowledged = AppendThenKill(db);
  ASSERT_GE(acknowledged.size(), 4u) << "the appender acknowledged too little to lose a tail";
  const std::string wal = NewestWal(db);
  ASSERT_FALSE(wal.empty());
  // The disk lost the last third of the log file, acknowledged batches included.
  fs::resize_file(wal, fs::file_size(wal) * 2 / 3);
  RunResult verify = Mulin(db, {"verify"});
  EXPECT_EQ(kExitOk, verify.exit_code)
      << "the prefix is self-consistent: " << verify.out << verify.err;
  RunResult checkpoint = Mulin(db, {"checkpoint", "--json"});
  ASSERT_EQ(kExitOk, checkpoint.exit_code) << checkpoint.err;
  // What remains ends exactly at a head that was acknowledged: no torn batch.
  const std::string out = checkpoint.out;
  const std::string seq = out.substr(out.find("\"seq\":\"") + 7);
  const std::string hash = out.substr(out.find("\"chainHash\":\"") + 13, 64);
  const std::string head = seq.substr(0, seq.find('"')) + ":" + hash;
  EXPECT_NE(acknowledged.end(), std::find(acknowledged.begin(), acknowledged.end(), head))
      << head << " was never acknowledged";
  EXPECT_NE(acknowledged.back(), head) << "truncating the log lost nothing";
  // The last acknowledged head, as an auditor's checkpoint, exposes the loss and names its seq.
  RunResult audited = Mulin(db, {"verify", "--expect", acknowledged.back()});
  EXPECT_EQ(kExitIntegrity, audited.exit_code) << audited.out << audited.err;
  EXPECT_NE(std::string::npos, audited.out.find("history was truncated")) << audited.out;
  const std::string last_seq = acknowledged.back().substr(0, acknowledged.back().find(':'));
  EXPECT_NE(std::string::npos, audited.out.find(last_seq)) << audited.out;
  std::printf(
      "lost log tail: %s of %s acknowledged records remain; the last checkpoint exposes "
      "the loss\n",
      head.substr(0, head.find(':')).c_str(), last_seq.c_str());
}

}  // namespace
}  // namespace mulin::testing

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], mulin::testing::kAppenderFlag) == 0) {
    return mulin::testing::RunAppender(argv[2], std::atoi(argv[3]));
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
