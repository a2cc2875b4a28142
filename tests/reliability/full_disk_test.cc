// Goal: a full disk makes the ledger refuse commands with an I/O error, never damages the log and
// never loses an acknowledged command: once space is freed and the ledger reopened, verify is
// clean, every acknowledged command is there exactly once, and appends work again.
//
// The disk is a small tmpfs mounted for the test; without the privilege to mount one the test is
// skipped, saying so.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "ledger/event_codec.h"
#include "ledger/store.h"
#include "ledger/verify.h"
#include "ledger/writer.h"
#include "tests/support/commands.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace mulin::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kDiskSize[] = "size=24m";
// Left free when the disk is filled: room for a few hundred commands, then none.
constexpr size_t kHeadroomBytes = 256 * 1024;
constexpr size_t kFillChunkBytes = 64 * 1024;
// A bound on commands sent at a full disk: the test fails rather than loop if space never ends.
constexpr int kCommandsMax = 200000;
constexpr int kRefusalsWanted = 20;

// A tmpfs mounted at `dir` for the life of the object.
class SmallDisk {
 public:
  explicit SmallDisk(std::string dir) : dir_(std::move(dir)) {
    fs::create_directories(dir_);
    if (mount("tmpfs", dir_.c_str(), "tmpfs", 0, kDiskSize) != 0) error_ = std::strerror(errno);
  }
  ~SmallDisk() {
    if (error_.empty()) umount2(dir_.c_str(), MNT_DETACH);
  }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  std::string error_;
};

// Fills the file system of `path` until at most `headroom_bytes` stay free (0: until full).
void Fill(const std::string& path, size_t headroom_bytes) {
  std::FILE* filler = std::fopen(path.c_str(), "wb");
  ASSERT_NE(nullptr, filler) << std::strerror(errno);
  const std::string chunk(headroom_bytes == 0 ? 512 : kFillChunkBytes, 'f');
  while (fs::space(fs::path(path).parent_path()).available > headroom_bytes + chunk.size()) {
    if (std::fwrite(chunk.data(), 1, chunk.size(), filler) != chunk.size() ||
        std::fflush(filler) != 0) {
      break;
    }
  }
  // Whatever space is left in smaller pieces goes too when the disk is to be full.
  while (headroom_bytes == 0 && std::fputc('f', filler) != EOF && std::fflush(filler) == 0) {
  }
  std::fclose(filler);
}

struct Open {
  std::unique_ptr<ledger::Store> store;
  std::unique_ptr<ledger::EventLog> log;
  std::unique_ptr<ledger::Writer> writer;
};

Result<Open> OpenLedger(const std::string& db) {
  Open open;
  auto store = ledger::Store::Open(db, ledger::StoreOptions());
  if (!store.ok()) return store.status();
  open.store = std::move(store).value();
  auto log = ledger::EventLog::Open(open.store.get());
  if (!log.ok()) return log.status();
  open.log = std::move(log).value();
  ledger::WriterOptions options;
  options.snapshot_interval_events = 0;  // snapshots would only blur where the space went
  auto writer = ledger::Writer::Open(open.store.get(), open.log.get(), options);
  if (!writer.ok()) return writer.status();
  open.writer = std::move(writer).value();
  return open;
}

std::string RedeemOne(int i) {
  const std::string id = "full-" + std::to_string(i);
  return Redeem(id, "T1", id, "V1", 1);
}

TEST(FullDiskTest, AFullDiskRefusesCommandsAndLosesNothingAcknowledged) {
  TempDir dir;
  SmallDisk disk(dir.Sub("disk"));
  if (!disk.error().empty()) {
    GTEST_SKIP() << "cannot mount a tmpfs for a small disk (needs root): " << disk.error();
  }
  const std::string db = dir.Sub("disk/ledger");
  std::map<std::string, int> acknowledged;  // redemption id → 1
  {
    Result<Open> ledger = OpenLedger(db);
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    ledger::Writer& w = *ledger->writer;
    for (const std::string& command :
         {RegisterCommunity("s1", "nanhu"), RegisterMerchant("s2", "nanhu", "M1"),
          RegisterTerminal("s3", "nanhu", "T1", "M1"),
          RegisterMember("s4", "nanhu", "ST1", {schema::Role::STAFF}),
          RegisterMember("s5", "nanhu", "V1", {schema::Role::VOLUNTEER}),
          Adjust("s6", "ST1", "nanhu", "volunteer:V1", schema::Unit::POINTS, 1000000000)}) {
      ASSERT_TRUE(w.Execute(command).status.ok());
    }
    ASSERT_NO_FATAL_FAILURE(Fill(dir.Sub("disk/filler"), kHeadroomBytes));
    int refusals = 0, i = 0;
    for (; i < kCommandsMax && refusals < kRefusalsWanted; ++i) {
      ledger::CommandResult result = w.Execute(RedeemOne(i));
      if (result.status.ok()) {
        acknowledged["full-" + std::to_string(i)] = 1;
      } else {
        // Refused as an I/O error, with the reason, never a crash or a rejection.
        EXPECT_EQ(Code::kIoError, result.status.code()) << result.status.ToString();
        ++refusals;
      }
    }
    ASSERT_EQ(kRefusalsWanted, refusals) << "the disk never filled up";
    std::printf("full disk: %zu commands acknowledged before the disk filled, %d refused\n",
                acknowledged.size(), refusals);
  }
  // Closing the ledger may give back space it had reserved: fill that too, then the program
  // says the same, in one line, with exit 1.
  ASSERT_NO_FATAL_FAILURE(Fill(dir.Sub("disk/filler-2"), 0));
  RunResult cli =
      mulin::testing::Run({MULIN_BINARY, "--db", db, "redeem", "--actor", "T1", "--terminal", "T1",
                           "--redemption", "cli-1", "--volunteer", "V1", "--points", "1"});
  EXPECT_EQ(1, cli.exit_code) << cli.out << cli.err;
  EXPECT_NE(std::string::npos, cli.err.find("space")) << cli.err;
  fs::remove(dir.Sub("disk/filler"));
  fs::remove(dir.Sub("disk/filler-2"));
  RunResult verify = mulin::testing::Run({MULIN_BINARY, "--db", db, "verify"});
  EXPECT_EQ(0, verify.exit_code) << verify.out << verify.err;
  Result<Open> reopened = OpenLedger(db);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  std::map<std::string, int> in_log;
  auto cursor = reopened->log->NewCursor(1);
  for (; cursor->Valid(); cursor->Next()) {
    auto event = ledger::DecodeEvent(cursor->payload(), cursor->seq());
    ASSERT_TRUE(event.ok());
    auto body = event->event().getBody();
    if (body.isPointsRedeemed()) ++in_log[body.getPointsRedeemed().getRedemptionId().cStr()];
  }
  ASSERT_TRUE(cursor->status().ok()) << cursor->status().ToString();
  for (const auto& [id, count] : acknowledged) EXPECT_EQ(1, in_log[id]) << id;
  for (const auto& [id, count] : in_log) EXPECT_EQ(1, count) << id;
  // Appends work again once there is space.
  EXPECT_TRUE(reopened->writer->Execute(RedeemOne(kCommandsMax)).status.ok());
}

}  // namespace
}  // namespace mulin::testing
