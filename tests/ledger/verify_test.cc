// Goal: Verify checks a whole log whatever its size and thread count, names the first bad seq (also
// at the seams between its workers), checks envelopes, the ledger clock and an auditor's
// checkpoint, reports progress, and stays clean while the log is appended to.
#include "ledger/verify.h"

#include <capnp/message.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>

#include "ledger/event_codec.h"
#include "tests/support/events.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ledger.h"

namespace mulin::ledger {
namespace {

using mulin::testing::RedemptionPayload;
using mulin::testing::TempDir;
using mulin::testing::TestLedger;

// A redemption at `seq` whose envelope says `envelope_seq` and time `recorded_at_us`.
std::string PayloadWith(uint64_t envelope_seq, int64_t recorded_at_us) {
  capnp::MallocMessageBuilder message;
  auto event = message.initRoot<schema::Event>();
  event.setSeq(envelope_seq);
  event.setRecordedAtUs(recorded_at_us);
  event.setActorId("T-yjm-01");
  auto body = event.getBody().initPointsRedeemed();
  body.setRedemptionId("RD" + std::to_string(envelope_seq));
  body.setPoints(5);
  return EncodeMessage(message);
}

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(ledger_.Open().ok()); }

  VerifyReport MustVerify(const VerifyOptions& options) {
    Result<VerifyReport> report = Verify(ledger_.log(), options);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : VerifyReport{};
  }

  VerifyReport MustVerify(int threads) {
    VerifyOptions options;
    options.threads = threads;
    return MustVerify(options);
  }

  // Appends payloads one record per call, so each lands at the next seq.
  void AppendOne(const std::string& payload) {
    ASSERT_TRUE(ledger_.log().Append({payload}, {}).ok());
  }

  TempDir dir_;
  TestLedger ledger_{dir_.path()};
};

TEST_F(VerifyTest, CleanLogsOfEverySizeAndThreadCount) {
  uint64_t size = 0;
  for (uint64_t target : {0, 1, 2, 3, 7, 100}) {
    ASSERT_TRUE(ledger_.AppendRedemptions(target - size).ok());
    size = target;
    // 0 and 99 are out of range and are clamped, not trusted.
    for (int threads : {1, 2, 3, 4, 16, 0, 99}) {
      SCOPED_TRACE(std::to_string(size) + " records, " + std::to_string(threads) + " threads");
      const VerifyReport report = MustVerify(threads);
      EXPECT_TRUE(report.problem.ok()) << report.problem.ToString();
      EXPECT_EQ(size, report.records_checked);
      EXPECT_EQ(ledger_.log().head(), report.head);
      EXPECT_FALSE(report.expect_checked);
    }
  }
}

TEST_F(VerifyTest, FirstMissingSeqIsNamedWhereverTheWorkersSplitTheLog) {
  constexpr uint64_t kRecords = 9;
  ASSERT_TRUE(ledger_.AppendRedemptions(kRecords).ok());
  for (uint64_t seq = 1; seq <= kRecords; ++seq) {
    Result<std::string> original = ledger_.ReadRaw(seq);
    ASSERT_TRUE(original.ok());
    ASSERT_TRUE(ledger_.DeleteRaw(seq).ok());
    for (int threads = 1; threads <= 5; ++threads) {
      SCOPED_TRACE("missing " + std::to_string(seq) + ", threads " + std::to_string(threads));
      const VerifyReport report = MustVerify(threads);
      EXPECT_TRUE(report.problem.IsCorruption());
      EXPECT_EQ(seq, report.problem.seq()) << report.problem.ToString();
      EXPECT_LT(report.records_checked, kRecords);
    }
    ASSERT_TRUE(ledger_.WriteRaw(seq, *original).ok());
  }
  EXPECT_TRUE(MustVerify(2).problem.ok());
}

TEST_F(VerifyTest, OfTwoBadRecordsTheFirstIsNamed) {
  ASSERT_TRUE(ledger_.AppendRedemptions(10).ok());
  ASSERT_TRUE(ledger_.DeleteRaw(7).ok());
  Result<std::string> third = ledger_.ReadRaw(3);
  ASSERT_TRUE(third.ok());
  ASSERT_TRUE(ledger_.WriteRaw(3, mulin::testing::FlipByte(*third, 20, 0x01)).ok());
  for (int threads = 1; threads <= 4; ++threads) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    EXPECT_EQ(3u, MustVerify(threads).problem.seq());
  }
}

TEST_F(VerifyTest, EnvelopeSeqThatDisagreesWithThePositionIsNamed) {
  ASSERT_TRUE(ledger_.AppendRedemptions(4).ok());
  AppendOne(PayloadWith(/*envelope_seq=*/6, /*recorded_at_us=*/5000000));
  ASSERT_TRUE(ledger_.AppendRedemptions(3).ok());
  const VerifyReport report = MustVerify(2);
  EXPECT_TRUE(report.problem.IsCorruption());
  EXPECT_EQ(5u, report.problem.seq());
  EXPECT_NE(std::string::npos, report.problem.message().find("envelope says seq 6"));
}

TEST_F(VerifyTest, LedgerClockGoingBackwardsIsNamedAlsoAtAWorkerSeam) {
  // Ten records split 1..5 and 6..10 between two workers; seq 6 goes back before seq 5.
  for (uint64_t seq = 1; seq <= 10; ++seq) {
    const int64_t at_us = seq == 6 ? 4999999 : static_cast<int64_t>(seq) * 1000000;
    AppendOne(PayloadWith(seq, at_us));
  }
  for (int threads : {1, 2}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    const VerifyReport report = MustVerify(threads);
    EXPECT_TRUE(report.problem.IsCorruption());
    EXPECT_EQ(6u, report.problem.seq()) << report.problem.ToString();
    EXPECT_NE(std::string::npos, report.problem.message().find("clock goes backwards"));
  }
}

TEST_F(VerifyTest, EqualTimesAreNotAClockGoingBackwards) {
  for (uint64_t seq = 1; seq <= 6; ++seq) AppendOne(PayloadWith(seq, 42));
  EXPECT_TRUE(MustVerify(2).problem.ok());
}

TEST_F(VerifyTest, CheckpointsAtAnySeqHoldOnAnUnchangedLog) {
  ASSERT_TRUE(ledger_.AppendRedemptions(20).ok());
  for (uint64_t seq : {1, 10, 11, 20}) {
    SCOPED_TRACE("checkpoint " + std::to_string(seq));
    VerifyOptions options;
    options.expect = Head{seq, ledger_.log().NewCursor(seq, seq)->chain()};
    const VerifyReport report = MustVerify(options);
    EXPECT_TRUE(report.problem.ok()) << report.problem.ToString();
    EXPECT_TRUE(report.expect_checked);
  }
  VerifyOptions genesis;
  genesis.expect = Head{0, kGenesisChain};
  EXPECT_TRUE(MustVerify(genesis).expect_checked);
}

TEST_F(VerifyTest, CheckpointThatDoesNotMatchIsNamed) {
  ASSERT_TRUE(ledger_.AppendRedemptions(20).ok());
  ChainHash wrong = ledger_.log().NewCursor(12, 12)->chain();
  wrong[31] ^= 1;
  VerifyOptions options;
  options.expect = Head{12, wrong};
  VerifyReport report = MustVerify(options);
  EXPECT_TRUE(report.problem.IsCorruption());
  EXPECT_EQ(12u, report.problem.seq());
  EXPECT_FALSE(report.expect_checked);
  // Right hash, wrong seq: the checkpoint names a position, not only a hash.
  options.expect = Head{13, ledger_.log().NewCursor(12, 12)->chain()};
  EXPECT_EQ(13u, MustVerify(options).problem.seq());
  // An empty log's checkpoint with a non-zero hash is not the empty log's.
  options.expect = Head{0, wrong};
  EXPECT_TRUE(MustVerify(options).problem.IsCorruption());
}

TEST_F(VerifyTest, CheckpointPastTheHeadMeansTruncatedHistory) {
  ASSERT_TRUE(ledger_.AppendRedemptions(5).ok());
  VerifyOptions options;
  options.expect = Head{8, ledger_.log().head().chain};
  const VerifyReport report = MustVerify(options);
  EXPECT_TRUE(report.problem.IsCorruption());
  EXPECT_EQ(6u, report.problem.seq());
  EXPECT_NE(std::string::npos, report.problem.message().find("truncated"));
}

TEST_F(VerifyTest, ProgressIsMonotonicAndEndsAtTheTotal) {
  constexpr uint64_t kRecords = 40000;
  ASSERT_TRUE(ledger_.AppendRedemptions(kRecords, 4096).ok());
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  VerifyOptions options;
  options.progress_interval_ms = 1;
  options.progress = [&calls](uint64_t checked, uint64_t total) {
    calls.emplace_back(checked, total);
  };
  const VerifyReport report = MustVerify(options);
  EXPECT_TRUE(report.problem.ok());
  ASSERT_FALSE(calls.empty());
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(kRecords, calls[i].second);
    EXPECT_LE(calls[i].first, kRecords);
    EXPECT_LE(calls[i == 0 ? 0 : i - 1].first, calls[i].first);
  }
  EXPECT_EQ(kRecords, calls.back().first);
}

TEST_F(VerifyTest, MalformedStoredHeadIsCorruption) {
  ASSERT_TRUE(ledger_.AppendRedemptions(3).ok());
  ASSERT_TRUE(ledger_.store()
                  .db()
                  ->Put(rocksdb::WriteOptions(), ledger_.store().meta(), "head", "short")
                  .ok());
  const VerifyReport report = MustVerify(2);
  EXPECT_TRUE(report.problem.IsCorruption());
  EXPECT_NE(std::string::npos, report.problem.message().find("stored head"));
}

TEST_F(VerifyTest, RecordsWithoutAStoredHeadAreAllPastIt) {
  ASSERT_TRUE(ledger_.AppendRedemptions(3).ok());
  ASSERT_TRUE(
      ledger_.store().db()->Delete(rocksdb::WriteOptions(), ledger_.store().meta(), "head").ok());
  const VerifyReport report = MustVerify(2);
  EXPECT_TRUE(report.problem.IsCorruption());
  EXPECT_EQ(1u, report.problem.seq());
}

// A log's head() is set after an append's write lands, so for a moment it lags the stored head,
// which is what Verify reads. Appends through a second log over the same store hold that moment
// open: Verify must still check every record the stored head covers, and the head's own chain.
TEST_F(VerifyTest, ChecksEveryRecordTheStoredHeadCoversWhileTheLogsHeadLags) {
  ASSERT_TRUE(ledger_.AppendRedemptions(3).ok());
  Result<std::unique_ptr<EventLog>> other = EventLog::Open(&ledger_.store());
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  ASSERT_TRUE((*other)->Append(mulin::testing::RedemptionPayloads(4, 5), {}).ok());
  ASSERT_EQ(3u, ledger_.log().head().seq);
  VerifyOptions options;
  options.threads = 2;
  options.expect = (*other)->head();  // an auditor's checkpoint at the stored head
  const VerifyReport report = MustVerify(options);
  EXPECT_TRUE(report.problem.ok()) << report.problem.ToString();
  EXPECT_EQ(8u, report.head.seq);
  EXPECT_EQ(8u, report.records_checked);
  EXPECT_TRUE(report.expect_checked);
  // And a record rewritten past the lagging head is still found.
  Result<std::string> record = ledger_.ReadRaw(7);
  ASSERT_TRUE(record.ok());
  std::string damaged = *record;
  damaged[damaged.size() / 2] ^= 0x01;
  ASSERT_TRUE(ledger_.WriteRaw(7, damaged).ok());
  const VerifyReport found = MustVerify(2);
  EXPECT_TRUE(found.problem.IsCorruption()) << found.problem.ToString();
  EXPECT_EQ(7u, found.problem.seq());
}

TEST_F(VerifyTest, StaysCleanWhileTheLogIsAppendedTo) {
  // The header promises Verify may run beside the writer and checks the head it saw at start.
  ASSERT_TRUE(ledger_.AppendRedemptions(100).ok());
  std::atomic<bool> done{false};
  Status append_status;
  std::thread writer([&] {
    for (int batch = 0; batch < 300 && append_status.ok(); ++batch) {
      append_status = ledger_.AppendRedemptions(7);
    }
    done = true;
  });
  int rounds = 0;
  while (!done || rounds == 0) {
    const VerifyReport report = MustVerify(2);
    EXPECT_TRUE(report.problem.ok()) << report.problem.ToString();
    EXPECT_EQ(report.head.seq, report.records_checked);
    ++rounds;
  }
  writer.join();
  EXPECT_TRUE(append_status.ok()) << append_status.ToString();
  EXPECT_TRUE(MustVerify(2).problem.ok());
}

TEST_F(VerifyTest, ReadOnlyOpenVerifiesBesideTheWriter) {
  ASSERT_TRUE(ledger_.AppendRedemptions(25).ok());
  StoreOptions read_only;
  read_only.read_only = true;
  Result<std::unique_ptr<Store>> store = Store::Open(dir_.path(), read_only);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Result<std::unique_ptr<EventLog>> log = EventLog::Open(store->get());
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  Result<VerifyReport> report = Verify(**log, VerifyOptions());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->problem.ok()) << report->problem.ToString();
  EXPECT_EQ(25u, report->records_checked);
}

}  // namespace
}  // namespace mulin::ledger
