// Goal: the log appends gapless, chained, checksummed records atomically and reads them back
// verified, across reopen; the request index answers what was recorded.
#include "ledger/event_log.h"

#include <gtest/gtest.h>

#include "ledger/event_codec.h"
#include "tests/support/events.h"
#include "tests/support/temp_dir.h"

namespace mulin::ledger {
namespace {

using mulin::testing::RedemptionPayload;
using mulin::testing::RedemptionPayloads;
using mulin::testing::TempDir;

class EventLogTest : public ::testing::Test {
 protected:
  void Open() {
    log_.reset();
    store_.reset();
    auto store = Store::Open(dir_.path(), StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    auto log = EventLog::Open(store_.get());
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
  }

  void Append(size_t count) {
    const uint64_t first = log_->head().seq + 1;
    ASSERT_TRUE(log_->Append(RedemptionPayloads(first, count), {}).ok());
  }

  std::vector<std::string> ReadAll() {
    std::vector<std::string> out;
    auto cursor = log_->NewCursor(1);
    for (; cursor->Valid(); cursor->Next()) out.emplace_back(cursor->payload());
    EXPECT_TRUE(cursor->status().ok()) << cursor->status().ToString();
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EventLog> log_;
};

TEST_F(EventLogTest, EmptyLogHasGenesisHead) {
  Open();
  EXPECT_EQ(0u, log_->head().seq);
  EXPECT_EQ(kGenesisChain, log_->head().chain);
  EXPECT_TRUE(ReadAll().empty());
}

TEST_F(EventLogTest, RoundTrip) {
  Open();
  const auto payloads = RedemptionPayloads(1, 5);
  ASSERT_TRUE(log_->Append(payloads, {}).ok());
  EXPECT_EQ(5u, log_->head().seq);
  EXPECT_EQ(payloads, ReadAll());
  auto one = log_->ReadPayload(3);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(payloads[2], *one);
  auto decoded = DecodeEvent(*one, 3);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(schema::Event::Body::POINTS_REDEEMED, decoded->event().getBody().which());
  EXPECT_EQ("RD3", std::string(decoded->event().getBody().getPointsRedeemed().getRedemptionId()));
}

TEST_F(EventLogTest, SeqIsGaplessAcrossReopen) {
  Open();
  Append(3);
  Append(2);
  Open();
  EXPECT_EQ(5u, log_->head().seq);
  Append(4);
  Open();
  EXPECT_EQ(9u, log_->head().seq);
  auto cursor = log_->NewCursor(1);
  uint64_t expected = 1;
  for (; cursor->Valid(); cursor->Next()) EXPECT_EQ(expected++, cursor->seq());
  EXPECT_EQ(10u, expected);
  EXPECT_TRUE(cursor->status().ok());
}

TEST_F(EventLogTest, ChainLinksEveryRecordToItsPredecessor) {
  Open();
  Append(10);
  ChainHash previous = kGenesisChain;
  auto cursor = log_->NewCursor(1);
  for (; cursor->Valid(); cursor->Next()) {
    EXPECT_EQ(ComputeChain(previous, cursor->seq(), cursor->payload()), cursor->chain());
    previous = cursor->chain();
  }
  EXPECT_EQ(previous, log_->head().chain);
}

TEST_F(EventLogTest, SameContentGivesSameHead) {
  Open();
  Append(7);
  const Head first = log_->head();
  TempDir other;
  auto store = Store::Open(other.path(), StoreOptions());
  ASSERT_TRUE(store.ok());
  auto log = EventLog::Open(store.value().get());
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append(RedemptionPayloads(1, 3), {}).ok());
  ASSERT_TRUE((*log)->Append(RedemptionPayloads(4, 4), {}).ok());
  EXPECT_EQ(first, (*log)->head());
}

TEST_F(EventLogTest, CursorReadsARange) {
  Open();
  Append(20);
  auto cursor = log_->NewCursor(5, 8);
  std::vector<uint64_t> seen;
  for (; cursor->Valid(); cursor->Next()) seen.push_back(cursor->seq());
  EXPECT_EQ((std::vector<uint64_t>{5, 6, 7, 8}), seen);
  EXPECT_TRUE(cursor->status().ok());
}

TEST_F(EventLogTest, RequestIndexRemembersSeqAndContentHash) {
  Open();
  Append(2);
  RequestEntry entry;
  entry.key = "r-42";
  entry.record.first_seq = 3;
  entry.record.event_count = 2;
  entry.record.content_hash.fill(0xab);
  ASSERT_TRUE(log_->Append(RedemptionPayloads(3, 2), {entry}).ok());
  Open();
  auto found = log_->FindRequest("r-42");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(3u, (*found)->first_seq);
  EXPECT_EQ(2u, (*found)->event_count);
  EXPECT_EQ(entry.record.content_hash, (*found)->content_hash);
  auto missing = log_->FindRequest("r-43");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(EventLogTest, OversizedRecordIsRefusedAndNothingIsAppended) {
  Open();
  Append(1);
  const Head before = log_->head();
  std::vector<std::string> payloads = RedemptionPayloads(2, 1);
  payloads.push_back(std::string(kRecordPayloadBytesMax + 8, 'x'));
  Status s = log_->Append(payloads, {});
  EXPECT_EQ(Code::kInvalidArgument, s.code());
  EXPECT_NE(std::string::npos, s.message().find("exceeds the limit"));
  EXPECT_EQ(before, log_->head());
  Open();
  EXPECT_EQ(before, log_->head());
}

TEST_F(EventLogTest, OverlongRequestKeyIsRefused) {
  Open();
  RequestEntry entry;
  entry.key = std::string(kRequestKeyBytesMax + 1, 'k');
  EXPECT_EQ(Code::kInvalidArgument, log_->Append(RedemptionPayloads(1, 1), {entry}).code());
  EXPECT_EQ(0u, log_->head().seq);
}

TEST_F(EventLogTest, ReadOnlyOpenSeesTheLogAndRefusesAppends) {
  Open();
  Append(3);
  StoreOptions options;
  options.read_only = true;
  auto store = Store::Open(dir_.path(), options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto log = EventLog::Open(store.value().get());
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ(3u, (*log)->head().seq);
  EXPECT_FALSE((*log)->Append(RedemptionPayloads(4, 1), {}).ok());
}

TEST_F(EventLogTest, SecondWriterGetsBusyNotALockError) {
  Open();
  auto second = Store::Open(dir_.path(), StoreOptions());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(Code::kBusy, second.status().code());
  EXPECT_NE(std::string::npos, second.status().message().find("mulin serve"));
}

}  // namespace
}  // namespace mulin::ledger
