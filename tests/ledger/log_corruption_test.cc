// Goal: every way a stored record can be damaged or forged — a flipped byte anywhere in its frame,
// a rewritten payload with a fresh checksum, a rewritten chain, a missing or planted record, a bad
// block in a table file — is found, and the first bad seq is named by Verify and by every read.
#include <gtest/gtest.h>
#include <rocksdb/options.h>

#include <filesystem>
#include <fstream>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/record_format.h"
#include "ledger/verify.h"
#include "tests/support/events.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ledger.h"

namespace mulin::ledger {
namespace {

using mulin::testing::FlipByte;
using mulin::testing::ForgeRecord;
using mulin::testing::RedemptionPayload;
using mulin::testing::TempDir;
using mulin::testing::TestLedger;

constexpr uint64_t kRecords = 10;  // Verify with 2 threads splits this log into 1..5 and 6..10.

class LogCorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ledger_.Open().ok());
    ASSERT_TRUE(ledger_.AppendRedemptions(kRecords, /*batch_records=*/3).ok());
    head_ = ledger_.log().head();
  }

  // Reopens without the head check, as `mulin verify` does, to see what Verify reports.
  void Reopen() { ASSERT_TRUE(ledger_.Open(/*check_head=*/false).ok()); }

  // Verify, whatever the number of threads, reports corruption naming `seq` and saying `what`.
  void ExpectVerifyNames(uint64_t seq, const std::string& what) {
    for (int threads : {1, 2, 3}) {
      SCOPED_TRACE("threads " + std::to_string(threads));
      Result<VerifyReport> report = ledger_.Verify(threads);
      ASSERT_TRUE(report.ok()) << report.status().ToString();
      EXPECT_TRUE(report->problem.IsCorruption()) << report->problem.ToString();
      EXPECT_EQ(seq, report->problem.seq()) << report->problem.ToString();
      EXPECT_NE(std::string::npos, report->problem.message().find(what))
          << report->problem.ToString();
    }
  }

  void ExpectVerifyClean() {
    Result<VerifyReport> report = ledger_.Verify();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->problem.ok()) << report->problem.ToString();
    EXPECT_EQ(head_.seq, report->records_checked);
  }

  // A cursor from seq 1 yields 1..seq-1 and then stops with corruption naming `seq`.
  void ExpectCursorStopsAt(uint64_t seq) {
    auto cursor = ledger_.log().NewCursor(1);
    uint64_t next = 1;
    for (; cursor->Valid(); cursor->Next()) EXPECT_EQ(next++, cursor->seq());
    EXPECT_EQ(seq, next);
    EXPECT_TRUE(cursor->status().IsCorruption()) << cursor->status().ToString();
    EXPECT_EQ(seq, cursor->status().seq()) << cursor->status().ToString();
  }

  TempDir dir_;
  TestLedger ledger_{dir_.path()};
  Head head_;
};

struct FlipPosition {
  const char* part;
  size_t (*index)(size_t record_bytes);
  uint8_t mask;
};

const FlipPosition kFlipPositions[] = {
    {"header: version", [](size_t) -> size_t { return 0; }, 0x01},
    {"header: reserved", [](size_t) -> size_t { return 2; }, 0x80},
    {"header: payload size", [](size_t) -> size_t { return 4; }, 0x08},
    {"header: payload size, high byte", [](size_t) -> size_t { return 7; }, 0x40},
    {"payload: first byte", [](size_t) -> size_t { return kRecordHeaderBytes; }, 0x01},
    {"payload: middle", [](size_t n) -> size_t { return n / 2; }, 0xff},
    {"payload: last byte", [](size_t n) -> size_t { return n - kRecordTrailerBytes - 1; }, 0x10},
    {"chain: first byte", [](size_t n) -> size_t { return n - kRecordTrailerBytes; }, 0x02},
    {"chain: last byte", [](size_t n) -> size_t { return n - 9; }, 0x20},
    {"checksum: first byte", [](size_t n) -> size_t { return n - 8; }, 0x04},
    {"checksum: last byte", [](size_t n) -> size_t { return n - 1; }, 0x80},
};

TEST_F(LogCorruptionTest, FlippedByteAnywhereInARecordIsNamedByVerifyAndByReads) {
  int round = 0;
  for (const FlipPosition& position : kFlipPositions) {
    for (uint64_t seq : {uint64_t{1}, uint64_t{5}, uint64_t{6}, kRecords}) {
      SCOPED_TRACE(std::string(position.part) + " of record " + std::to_string(seq));
      Result<std::string> original = ledger_.ReadRaw(seq);
      ASSERT_TRUE(original.ok());
      const size_t index = position.index(original->size());
      ASSERT_TRUE(ledger_.WriteRaw(seq, FlipByte(*original, index, position.mask)).ok());
      if (++round % 2 == 0) {
        // Half the rounds read the damaged value from a table file rather than the memtable.
        ASSERT_TRUE(ledger_.store().db()->Flush(rocksdb::FlushOptions()).ok());
      }
      Reopen();
      ExpectVerifyNames(seq, "checksum mismatch");
      ExpectCursorStopsAt(seq);
      Result<std::string> payload = ledger_.log().ReadPayload(seq);
      EXPECT_TRUE(payload.status().IsCorruption());
      EXPECT_EQ(seq, payload.status().seq());
      // The open-time head check reads the last record only.
      Status open = ledger_.Open(/*check_head=*/true);
      EXPECT_EQ(seq == kRecords, open.IsCorruption()) << open.ToString();
      if (!open.ok()) {
        EXPECT_EQ(seq, open.seq());
      }
      // Putting the original bytes back makes the log whole: the check was about that byte.
      Reopen();
      ASSERT_TRUE(ledger_.WriteRaw(seq, *original).ok());
      ExpectVerifyClean();
    }
  }
}

TEST_F(LogCorruptionTest, RecordCopiedToAnotherSeqFailsItsChecksum) {
  // Seeding the checksum with the seq binds a record to its key: a copy is not a valid record.
  Result<std::string> fourth = ledger_.ReadRaw(4);
  ASSERT_TRUE(fourth.ok());
  ASSERT_TRUE(ledger_.WriteRaw(5, *fourth).ok());
  Reopen();
  ExpectVerifyNames(5, "checksum mismatch");
  ExpectCursorStopsAt(5);
}

TEST_F(LogCorruptionTest, RewrittenPayloadWithFreshChecksumBreaksTheChain) {
  for (uint64_t seq : {uint64_t{1}, uint64_t{5}, uint64_t{6}, kRecords}) {
    SCOPED_TRACE("record " + std::to_string(seq));
    Result<std::string> original = ledger_.ReadRaw(seq);
    ASSERT_TRUE(original.ok());
    Result<RecordView> view = DecodeRecord(seq, *original);
    ASSERT_TRUE(view.ok());
    // A forger who knows the frame: new content, the old chain, a correct checksum.
    const std::string forged_payload = RedemptionPayload(seq, /*points=*/1);
    ASSERT_NE(std::string(view->payload), forged_payload);
    ASSERT_TRUE(ledger_.WriteRaw(seq, ForgeRecord(seq, forged_payload, view->chain)).ok());
    Reopen();
    // Every checksum holds, so reads go through: only the chain tells.
    auto cursor = ledger_.log().NewCursor(1);
    uint64_t read = 0;
    for (; cursor->Valid(); cursor->Next()) ++read;
    EXPECT_TRUE(cursor->status().ok());
    EXPECT_EQ(kRecords, read);
    ExpectVerifyNames(seq, "chain break");
    ASSERT_TRUE(ledger_.WriteRaw(seq, *original).ok());
    ExpectVerifyClean();
  }
}

// Rewrites record `from` with new content and recomputes the chain of it and every later record.
void ForgeFrom(TestLedger* ledger, uint64_t from, uint64_t to, ChainHash* last_chain) {
  Result<std::string> before = ledger->ReadRaw(from - 1);
  ChainHash chain = kGenesisChain;
  if (from > 1) {
    ASSERT_TRUE(before.ok());
    Result<RecordView> previous = DecodeRecord(from - 1, *before);
    ASSERT_TRUE(previous.ok());
    chain = previous->chain;
  }
  for (uint64_t seq = from; seq <= to; ++seq) {
    const std::string payload =
        seq == from ? RedemptionPayload(seq, /*points=*/999999) : RedemptionPayload(seq);
    chain = ComputeChain(chain, seq, payload);
    ASSERT_TRUE(ledger->WriteRaw(seq, ForgeRecord(seq, payload, chain)).ok());
  }
  *last_chain = chain;
}

TEST_F(LogCorruptionTest, RewrittenChainWithoutTheHeadIsAHeadMismatch) {
  ChainHash forged_head_chain;
  ForgeFrom(&ledger_, 4, kRecords, &forged_head_chain);
  ASSERT_NE(head_.chain, forged_head_chain);
  Reopen();
  ExpectVerifyNames(kRecords, "stored head chain hash does not match");
  Status open = ledger_.Open(/*check_head=*/true);
  EXPECT_TRUE(open.IsCorruption()) << open.ToString();
  EXPECT_EQ(kRecords, open.seq());
}

TEST_F(LogCorruptionTest, RewrittenHistoryAndHeadIsCaughtOnlyByAnOldCheckpoint) {
  const Head checkpoint_before = [this] {
    auto cursor = ledger_.log().NewCursor(3, 3);
    return Head{3, cursor->chain()};
  }();
  ChainHash forged_head_chain;
  ForgeFrom(&ledger_, 4, kRecords, &forged_head_chain);
  ASSERT_TRUE(ledger_.WriteRawHead(Head{kRecords, forged_head_chain}).ok());
  ASSERT_TRUE(ledger_.Open(/*check_head=*/true).ok());
  // The forged log is self-consistent: without a checkpoint nothing can tell.
  Result<VerifyReport> alone = ledger_.Verify();
  ASSERT_TRUE(alone.ok());
  EXPECT_TRUE(alone->problem.ok()) << alone->problem.ToString();
  // The auditor's checkpoint of the original head catches it and names its seq.
  Result<VerifyReport> audited = ledger_.Verify(2, head_);
  ASSERT_TRUE(audited.ok());
  EXPECT_TRUE(audited->problem.IsCorruption());
  EXPECT_EQ(kRecords, audited->problem.seq());
  EXPECT_NE(std::string::npos, audited->problem.message().find("was rewritten"));
  EXPECT_FALSE(audited->expect_checked);
  // A checkpoint taken before the rewritten part still holds: history up to it is unchanged.
  Result<VerifyReport> earlier = ledger_.Verify(2, checkpoint_before);
  ASSERT_TRUE(earlier.ok());
  EXPECT_TRUE(earlier->problem.ok()) << earlier->problem.ToString();
  EXPECT_TRUE(earlier->expect_checked);
}

TEST_F(LogCorruptionTest, DeletedRecordInTheMiddleIsAGapNamingIt) {
  for (uint64_t seq : {uint64_t{1}, uint64_t{5}, uint64_t{6}, uint64_t{9}}) {
    SCOPED_TRACE("record " + std::to_string(seq));
    Result<std::string> original = ledger_.ReadRaw(seq);
    ASSERT_TRUE(original.ok());
    ASSERT_TRUE(ledger_.DeleteRaw(seq).ok());
    Reopen();
    ExpectVerifyNames(seq, "is missing");
    ExpectCursorStopsAt(seq);
    EXPECT_TRUE(ledger_.log().ReadPayload(seq).status().IsNotFound());
    ASSERT_TRUE(ledger_.WriteRaw(seq, *original).ok());
    ExpectVerifyClean();
  }
}

TEST_F(LogCorruptionTest, DeletedLastRecordFailsTheHeadCheckAndVerify) {
  ASSERT_TRUE(ledger_.DeleteRaw(kRecords).ok());
  Status open = ledger_.Open(/*check_head=*/true);
  EXPECT_TRUE(open.IsCorruption()) << open.ToString();
  EXPECT_EQ(kRecords, open.seq());
  EXPECT_NE(std::string::npos, open.message().find("last record is seq 9"));
  Reopen();
  ExpectVerifyNames(kRecords, "is missing");
  ExpectCursorStopsAt(kRecords);
}

TEST_F(LogCorruptionTest, EveryRecordDeletedIsNamedFromSeqOne) {
  for (uint64_t seq = 1; seq <= kRecords; ++seq) ASSERT_TRUE(ledger_.DeleteRaw(seq).ok());
  Status open = ledger_.Open(/*check_head=*/true);
  EXPECT_TRUE(open.IsCorruption());
  EXPECT_EQ(1u, open.seq());
  Reopen();
  ExpectVerifyNames(1, "is missing");
}

TEST_F(LogCorruptionTest, RecordPlantedPastTheHeadIsFound) {
  for (uint64_t planted : {kRecords + 1, kRecords + 100}) {
    SCOPED_TRACE("planted at " + std::to_string(planted));
    // A well-formed record that chains correctly onto the head: only its position betrays it.
    const std::string payload = RedemptionPayload(planted);
    const ChainHash chain = ComputeChain(head_.chain, planted, payload);
    ASSERT_TRUE(ledger_.WriteRaw(planted, ForgeRecord(planted, payload, chain)).ok());
    Status open = ledger_.Open(/*check_head=*/true);
    EXPECT_TRUE(open.IsCorruption()) << open.ToString();
    EXPECT_EQ(kRecords + 1, open.seq());
    Reopen();
    ExpectVerifyNames(kRecords + 1, "stored past the head");
    ASSERT_TRUE(ledger_.DeleteRaw(planted).ok());
    ExpectVerifyClean();
  }
}

// The largest table file of the `events` family: the one a failing disk would damage.
std::string LargestTableFile(const std::string& dir) {
  std::string largest;
  uintmax_t largest_bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".sst") continue;
    if (entry.file_size() > largest_bytes) {
      largest_bytes = entry.file_size();
      largest = entry.path();
    }
  }
  return largest;
}

TEST_F(LogCorruptionTest, DamagedTableFileBlockIsCorruptionNamingASeq) {
  constexpr uint64_t kMany = 3000;  // enough records for many 16 KiB blocks
  ASSERT_TRUE(ledger_.AppendRedemptions(kMany - kRecords, 500).ok());
  ASSERT_TRUE(ledger_.store().db()->Flush(rocksdb::FlushOptions(), ledger_.store().events()).ok());
  ledger_.Close();
  const std::string table = LargestTableFile(dir_.path());
  ASSERT_FALSE(table.empty());
  // A third of the way into the file is inside the data blocks (index and footer are at the end).
  const std::streamoff offset = static_cast<std::streamoff>(std::filesystem::file_size(table) / 3);
  std::fstream file(table, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(offset);
  const char byte = static_cast<char>(file.get() ^ 0x5a);
  file.seekp(offset);
  file.put(byte);
  file.close();

  Reopen();
  Result<VerifyReport> report = ledger_.Verify();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_TRUE(report->problem.IsCorruption()) << report->problem.ToString();
  const uint64_t bad = report->problem.seq();
  EXPECT_GT(bad, 1u) << report->problem.ToString();
  EXPECT_LT(bad, kMany) << report->problem.ToString();
  ExpectCursorStopsAt(bad);
}

}  // namespace
}  // namespace mulin::ledger
