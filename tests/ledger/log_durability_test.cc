// Goal: a process killed with SIGKILL at any moment while appending — also while it opens and
// recovers the log — loses no acknowledged record and tears no batch; the log reopens with its
// head check, verifies clean, and every record decodes with its own seq.
//
// The test runs this binary again as the appender (main() below), so that the child starts from a
// clean exec rather than a fork of a process whose RocksDB threads may hold locks.
#include <capnp/message.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/store.h"
#include "ledger/verify.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ledger.h"

namespace mulin::ledger {
namespace {

constexpr char kChildFlag[] = "--durability-appender";
constexpr int kIterations = 24;
constexpr size_t kBatchRecordsMax = 64;
// The appender stops by itself only if nobody kills it; a bound keeps a lost child finite.
constexpr uint64_t kChildBatchesMax = 1000000;
constexpr int kKillDelayMsMin = 5;
constexpr int kKillDelayMsMax = 80;
constexpr int kChildOpenTimeoutMs = 20000;
constexpr uint64_t kSeed = 0x6d756c696e;  // fixed: a failure replays the same kill schedule

std::string BatchKey(uint64_t last_seq) { return "batch-" + std::to_string(last_seq); }

// A redemption whose request id names the last seq of its batch, so that a reader can tell
// whether the batch that ends the log is whole.
std::string BatchPayload(uint64_t seq, uint64_t batch_last) {
  capnp::MallocMessageBuilder message;
  auto event = message.initRoot<schema::Event>();
  event.setSeq(seq);
  event.setRecordedAtUs(static_cast<int64_t>(seq) * 1000);
  event.setActorId("T-sg-07");
  event.setCommunityId("shuanggang");
  event.setRequestId("batch-ending-" + std::to_string(batch_last));
  auto body = event.getBody().initPointsRedeemed();
  body.setRedemptionId("RD" + std::to_string(seq));
  body.setVolunteerId("V" + std::to_string(seq % 311));
  body.setMerchantId("M07");
  body.setTerminalId("T-sg-07");
  body.setPoints(static_cast<int64_t>(seq % 40) + 1);
  return EncodeMessage(message);
}

bool WriteSeq(int fd, uint64_t seq) {
  // Eight bytes to a pipe are written whole (≤ PIPE_BUF), so the parent never reads half a seq.
  for (;;) {
    const ssize_t n = write(fd, &seq, sizeof(seq));
    if (n == static_cast<ssize_t>(sizeof(seq))) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

// The child: opens the log, reports its head, then appends batches and reports each acknowledged
// head until it is killed.
int RunAppender(const std::string& dir, int ack_fd, uint64_t seed) {
  Result<std::unique_ptr<Store>> store = Store::Open(dir, StoreOptions());
  if (!store.ok()) {
    fprintf(stderr, "appender: %s\n", store.status().ToString().c_str());
    return 1;
  }
  Result<std::unique_ptr<EventLog>> log = EventLog::Open(store->get());
  if (!log.ok()) {
    fprintf(stderr, "appender: %s\n", log.status().ToString().c_str());
    return 1;
  }
  if (!WriteSeq(ack_fd, (*log)->head().seq)) return 1;
  std::mt19937_64 random(seed);
  for (uint64_t batch = 0; batch < kChildBatchesMax; ++batch) {
    const uint64_t first = (*log)->head().seq + 1;
    const uint64_t last = first + random() % kBatchRecordsMax;
    std::vector<std::string> payloads;
    for (uint64_t seq = first; seq <= last; ++seq) payloads.push_back(BatchPayload(seq, last));
    RequestEntry request{
        BatchKey(last),
        RequestRecord{first, static_cast<uint32_t>(last - first + 1), ContentHash{}}};
    Status s = (*log)->Append(payloads, {request});
    if (!s.ok()) {
      fprintf(stderr, "appender: %s\n", s.ToString().c_str());
      return 1;
    }
    if (!WriteSeq(ack_fd, last)) return 1;
  }
  return 0;
}

struct Child {
  pid_t pid = -1;
  int read_fd = -1;
};

Child SpawnAppender(const std::string& dir, uint64_t seed) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Child{};
  // Everything the child needs is built before fork: between fork and exec only async-signal-safe
  // calls are allowed.
  const std::vector<std::string> args = {"log_durability_test", kChildFlag, dir,
                                         std::to_string(fds[1]), std::to_string(seed)};
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    fcntl(fds[1], F_SETFD, 0);  // the write end survives exec; the read end does not
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return Child{};
  }
  return Child{pid, fds[0]};
}

std::vector<uint64_t> ParseSeqs(const std::string& bytes) {
  EXPECT_EQ(0u, bytes.size() % sizeof(uint64_t));
  std::vector<uint64_t> seqs(bytes.size() / sizeof(uint64_t));
  if (!seqs.empty()) std::memcpy(seqs.data(), bytes.data(), seqs.size() * sizeof(uint64_t));
  return seqs;
}

class LogDurabilityTest : public ::testing::Test {
 protected:
  // Everything a crash may not break, checked on the reopened log.
  void CheckAfterCrash(uint64_t last_acked) {
    ASSERT_TRUE(ledger_.Open(/*check_head=*/true).ok());
    const uint64_t head = ledger_.log().head().seq;
    EXPECT_GE(head, last_acked);
    // At most the one batch in flight when the kill came can be on disk unacknowledged.
    EXPECT_LE(head, last_acked + kBatchRecordsMax);
    Result<VerifyReport> report = ledger_.Verify();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->problem.ok()) << report->problem.ToString();
    EXPECT_EQ(head, report->records_checked);
    uint64_t decoded = 0;
    std::string last_request_id;
    auto cursor = ledger_.log().NewCursor(1);
    for (; cursor->Valid(); cursor->Next()) {
      Result<DecodedEvent> event = DecodeEvent(cursor->payload(), cursor->seq());
      ASSERT_TRUE(event.ok()) << event.status().ToString();
      last_request_id = event->event().getRequestId();
      ++decoded;
    }
    ASSERT_TRUE(cursor->status().ok()) << cursor->status().ToString();
    EXPECT_EQ(head, decoded);
    if (head == 0) return;
    // The log ends with a whole batch, and that batch's request entry landed with it.
    EXPECT_EQ("batch-ending-" + std::to_string(head), last_request_id);
    Result<std::optional<RequestRecord>> request = ledger_.log().FindRequest(BatchKey(head));
    ASSERT_TRUE(request.ok());
    ASSERT_TRUE(request->has_value());
    EXPECT_EQ(head, (*request)->first_seq + (*request)->event_count - 1);
  }

  mulin::testing::TempDir dir_;
  mulin::testing::TestLedger ledger_{dir_.path()};
};

TEST_F(LogDurabilityTest, KilledAppenderLosesNoAcknowledgedRecord) {
  std::mt19937_64 random(kSeed);
  uint64_t verified_head = 0;
  int kills_after_an_ack = 0;
  for (int iteration = 0; iteration < kIterations; ++iteration) {
    const int delay_ms =
        kKillDelayMsMin + static_cast<int>(random() % (kKillDelayMsMax - kKillDelayMsMin + 1));
    // Every third kill counts from the spawn, so some land while the child opens and recovers.
    const bool from_spawn = iteration % 3 == 0;
    SCOPED_TRACE("iteration " + std::to_string(iteration) + ", kill after " +
                 std::to_string(delay_ms) + " ms from the " + (from_spawn ? "spawn" : "open"));
    const Child child = SpawnAppender(dir_.path(), random());
    ASSERT_GT(child.pid, 0) << strerror(errno);
    std::string bytes;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(kChildOpenTimeoutMs);
    while (!from_spawn && bytes.size() < sizeof(uint64_t) &&
           std::chrono::steady_clock::now() < deadline) {
      if (!mulin::testing::ReadSome(child.read_fd, 100, &bytes)) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ASSERT_EQ(0, kill(child.pid, SIGKILL));
    int wait_status = 0;
    ASSERT_EQ(child.pid, waitpid(child.pid, &wait_status, 0));
    EXPECT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL)
        << "the appender stopped by itself (status " << wait_status << ")";
    while (mulin::testing::ReadSome(child.read_fd, 1000, &bytes)) {
    }
    close(child.read_fd);

    const std::vector<uint64_t> seqs = ParseSeqs(bytes);
    if (!from_spawn) {
      ASSERT_FALSE(seqs.empty()) << "the appender never opened the log";
    }
    // The child opened the log the parent verified, then acknowledged increasing heads.
    if (!seqs.empty()) {
      EXPECT_EQ(verified_head, seqs.front());
    }
    for (size_t i = 1; i < seqs.size(); ++i) EXPECT_LT(seqs[i - 1], seqs[i]);
    const uint64_t last_acked = seqs.empty() ? verified_head : seqs.back();
    if (seqs.size() > 1) ++kills_after_an_ack;
    CheckAfterCrash(last_acked);
    if (HasFatalFailure()) return;
    verified_head = ledger_.log().head().seq;
    ledger_.Close();
  }
  // The schedule must really have killed appenders mid-stream, or the test proves nothing.
  EXPECT_GE(kills_after_an_ack, kIterations / 4);
  EXPECT_GT(verified_head, 0u);
}

}  // namespace
}  // namespace mulin::ledger

int main(int argc, char** argv) {
  if (argc == 5 && std::strcmp(argv[1], mulin::ledger::kChildFlag) == 0) {
    return mulin::ledger::RunAppender(argv[2], std::atoi(argv[3]), std::stoull(argv[4]));
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
