// Goal: the writer keeps redemptions and sales out of its in-memory state without changing a single
// decision. Ids stay unique and reversals stay single across groups, restarts and snapshots; a
// ledger whose log has no index (an older ledger, a log filled by other means) is indexed at the
// writer's next open; an entry that is damaged is named and nothing is decided on it.
#include "ledger/receipt_index.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "ledger/receipt_check.h"
#include "tests/ledger/writer_fixture.h"
#include "tests/support/commands.h"

namespace mulin::ledger {
namespace {

using namespace mulin::testing;  // NOLINT: the command builders read like a script

using ReceiptIndexTest = WriterTest;

void Rejected(const std::string& code, const CommandResult& result) {
  EXPECT_EQ(Code::kRejected, result.status.code()) << result.status.ToString();
  EXPECT_EQ(code, result.status.reason_code()) << result.status.ToString();
}

size_t StateReceipts(Writer* writer) {
  size_t count = 0;
  EXPECT_TRUE(
      writer->Read([&](const domain::State& s) { count = s.redemptions.size() + s.sales.size(); })
          .ok());
  return count;
}

uint64_t Marker(Store* store) {
  std::string value;
  EXPECT_TRUE(store->db()->Get(rocksdb::ReadOptions(), store->meta(), "receipts", &value).ok());
  return value.size() == 8 ? GetFixed64(value.data()) : ~uint64_t{0};
}

TEST(ReceiptCodecTest, RoundTripsAndNamesEveryFlippedByte) {
  Receipt receipt{7, 19, 1700000000000000, 30, 0, "V1", "M1"};
  const std::string key = std::string(1, kRedemptionReceipt) + "RD1";
  const std::string value = EncodeReceipt(key, receipt);
  Result<Receipt> decoded = DecodeReceipt(key, value);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(receipt, *decoded);
  for (size_t i = 0; i < value.size(); ++i) {
    std::string damaged = value;
    damaged[i] ^= 0x10;
    Result<Receipt> bad = DecodeReceipt(key, damaged);
    ASSERT_FALSE(bad.ok()) << "byte " << i;
    EXPECT_EQ(Code::kCorruption, bad.status().code());
    EXPECT_NE(std::string::npos, bad.status().message().find("redemption 'RD1'"));
  }
  // The same bytes under another id, or cut short, are refused as well.
  EXPECT_FALSE(DecodeReceipt(std::string(1, kRedemptionReceipt) + "RD2", value).ok());
  EXPECT_FALSE(DecodeReceipt(key, value.substr(0, value.size() - 1)).ok());
  EXPECT_FALSE(DecodeReceipt("xRD1", value).ok());
}

TEST_F(ReceiptIndexTest, IdsStayUniqueAndReversalsSingleAcrossGroupsAndRestarts) {
  Open();
  SetUpCommunities();
  GivePoints("V1", 100);
  Ok(Redeem("r1", "T1", "RD1", "V1", 30));
  Ok(RecordSale("s1", "T1", "S1", "M1", 5000));
  // The state forgets them after each group; the index remembers.
  EXPECT_EQ(0u, StateReceipts(writer_.get()));
  Rejected("duplicate_id", writer_->Execute(Redeem("r2", "T1", "RD1", "V1", 5)));
  Rejected("duplicate_id", writer_->Execute(RecordSale("s2", "T1", "S1", "M1", 100)));
  Open();
  Rejected("duplicate_id", writer_->Execute(Redeem("r3", "T1", "RD1", "V1", 5)));
  Ok(ReverseRedemption("x1", "T1", "RD1"));
  Ok(ReverseSale("x2", "T1", "S1", "M1"));
  EXPECT_EQ(100, Balance("volunteer:V1", schema::Unit::POINTS));
  Rejected("already_reversed", writer_->Execute(ReverseRedemption("x3", "T1", "RD1")));
  Open();
  Rejected("already_reversed", writer_->Execute(ReverseRedemption("x4", "T1", "RD1")));
  Rejected("already_reversed", writer_->Execute(ReverseSale("x5", "T1", "S1", "M1")));
  Rejected("unknown_redemption", writer_->Execute(ReverseRedemption("x6", "T1", "RD-none")));
  EXPECT_EQ(log_->head().seq, Marker(store_));
  EXPECT_EQ(ReplayedState(), EncodedState());
}

TEST_F(ReceiptIndexTest, OneGroupMayCreateAndReverseTheSameReceipt) {
  Open();
  SetUpCommunities();
  GivePoints("V1", 100);
  std::vector<std::future<CommandResult>> results;
  for (const std::string& command :
       {Redeem("r1", "T1", "RD1", "V1", 30), ReverseRedemption("x1", "T1", "RD1"),
        ReverseRedemption("x2", "T1", "RD1"), Redeem("r2", "T1", "RD1", "V1", 30)}) {
    auto promise = std::make_shared<std::promise<CommandResult>>();
    results.push_back(promise->get_future());
    writer_->Submit(command, [promise](const CommandResult& r) { promise->set_value(r); });
  }
  EXPECT_TRUE(results[0].get().status.ok());
  EXPECT_TRUE(results[1].get().status.ok());
  Rejected("already_reversed", results[2].get());
  Rejected("duplicate_id", results[3].get());
  EXPECT_EQ(ReplayedState(), EncodedState());
}

// A snapshot is older than the index: start-up replays the events after it against entries that
// already show what those events did (a reversal after the snapshot), and must see them as of each
// event, not as of the head.
TEST_F(ReceiptIndexTest, ReplayAfterASnapshotSeesEachReceiptAsItWasThen) {
  WriterOptions options;
  options.snapshot_interval_events = 20;
  Open(options);
  SetUpCommunities();
  GivePoints("V1", 1000);
  for (int i = 0; i < 30; ++i) {
    Ok(Redeem("r" + std::to_string(i), "T1", "RD" + std::to_string(i), "V1", 1));
  }
  WaitForSnapshots(1);
  const uint64_t snapshot_at = log_->head().seq;
  Ok(ReverseRedemption("x0", "T1", "RD0"));          // created before the snapshot
  Ok(Redeem("late", "T1", "RD-late", "V1", 1));      // created after it
  Ok(ReverseRedemption("x-late", "T1", "RD-late"));  // and reversed after it
  ASSERT_LT(log_->head().seq, snapshot_at + 20);     // no snapshot since
  Open(options);
  EXPECT_EQ(ReplayedState(), EncodedState());
  Rejected("already_reversed", writer_->Execute(ReverseRedemption("x0b", "T1", "RD0")));
  Rejected("already_reversed", writer_->Execute(ReverseRedemption("x-l2", "T1", "RD-late")));
  Ok(ReverseRedemption("x1", "T1", "RD1"));
  EXPECT_EQ(1000 - 30 + 2, Balance("volunteer:V1", schema::Unit::POINTS));
}

// Start-up replays a long tail in chunks, each reading its receipts as of its first event: ids and
// reversals must hold across chunk boundaries too.
TEST_F(ReceiptIndexTest, ALongReplaySpansChunksAndStillChecksEveryId) {
  WriterOptions no_snapshots;
  no_snapshots.snapshot_interval_events = 0;
  Open(no_snapshots);
  SetUpCommunities();
  GivePoints("V1", 100000);
  constexpr int kRedemptions = 9000;  // over two replay chunks of 4096 events
  std::vector<std::future<CommandResult>> results;
  for (int i = 0; i < kRedemptions; ++i) {
    auto promise = std::make_shared<std::promise<CommandResult>>();
    results.push_back(promise->get_future());
    const std::string command =
        i % 1000 == 999
            ? ReverseRedemption("x" + std::to_string(i), "T1", "RD" + std::to_string(i - 990))
            : Redeem("r" + std::to_string(i), "T1", "RD" + std::to_string(i), "V1", 1);
    writer_->Submit(command, [promise](const CommandResult& r) { promise->set_value(r); });
  }
  for (auto& result : results) ASSERT_TRUE(result.get().status.ok());
  Open(no_snapshots);
  EXPECT_EQ(ReplayedState(), EncodedState());
  Rejected("already_reversed", writer_->Execute(ReverseRedemption("again", "T1", "RD9")));
  Rejected("duplicate_id", writer_->Execute(Redeem("dup", "T1", "RD8000", "V1", 1)));
  Ok(ReverseRedemption("first", "T1", "RD0"));
}

// A ledger written without the index (before it existed, or by other means): its next writable
// open creates the family and indexes every event; a read-only open of it works without one.
TEST_F(ReceiptIndexTest, ALedgerWithoutTheIndexIsIndexedAtTheWritersNextOpen) {
  Open();
  SetUpCommunities();
  GivePoints("V1", 100);
  Ok(Redeem("r1", "T1", "RD1", "V1", 30));
  Ok(RecordSale("s1", "T1", "S1", "M1", 5000));
  Ok(ReverseSale("x1", "T1", "S1", "M1"));
  writer_.reset();
  ASSERT_TRUE(store_->db()->DropColumnFamily(store_->receipts()).ok());
  ASSERT_TRUE(store_->db()->Delete(rocksdb::WriteOptions(), store_->meta(), "receipts").ok());
  Close();

  StoreOptions read_only;
  read_only.read_only = true;
  auto reader = Store::Open(ledger_.dir(), read_only);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ(nullptr, (*reader)->receipts());
  auto reader_log = EventLog::Open(reader->get());
  ASSERT_TRUE(reader_log.ok()) << reader_log.status().ToString();
  reader_log->reset();
  reader->reset();

  Open();
  EXPECT_EQ(log_->head().seq, Marker(store_));
  Rejected("duplicate_id", writer_->Execute(Redeem("r2", "T1", "RD1", "V1", 5)));
  Rejected("already_reversed", writer_->Execute(ReverseSale("x2", "T1", "S1", "M1")));
  Ok(ReverseRedemption("x3", "T1", "RD1"));
  EXPECT_EQ(ReplayedState(), EncodedState());
}

// The nightly check (`mulin reconcile`): an index that drifted from the log is found, whatever the
// drift, even when the entry's checksum was recomputed to match.
class ReceiptCheckTest : public WriterTest {
 protected:
  void SetUp() override {
    Open();
    SetUpCommunities();
    GivePoints("V1", 100);
    Ok(Redeem("r1", "T1", "RD1", "V1", 30));
    Ok(Redeem("r2", "T1", "RD2", "V1", 10));
    Ok(ReverseRedemption("x1", "T1", "RD1"));
    Ok(RecordSale("s1", "T1", "S1", "M1", 5000));
    writer_.reset();  // the index now covers the whole log
  }

  ReceiptCheck Check() {
    Result<ReceiptCheck> check = CheckReceiptIndex(store_, *log_);
    EXPECT_TRUE(check.ok()) << check.status().ToString();
    return check.ok() ? *check : ReceiptCheck();
  }

  void ExpectFound(const std::string& words) {
    const ReceiptCheck check = Check();
    EXPECT_EQ(Code::kCorruption, check.problem.code()) << check.problem.ToString();
    EXPECT_NE(std::string::npos, check.problem.message().find(words)) << check.problem.ToString();
  }

  static std::string Key(const std::string& id) { return std::string(1, kRedemptionReceipt) + id; }
  Receipt Entry(const std::string& id) {
    std::string value;
    EXPECT_TRUE(
        store_->db()->Get(rocksdb::ReadOptions(), store_->receipts(), Key(id), &value).ok());
    return DecodeReceipt(Key(id), value).value();
  }
  // Rewrites the entry of `id` as `change` makes it, with a checksum that matches.
  void Change(const std::string& id, const std::function<void(Receipt*)>& change) {
    Receipt entry = Entry(id);
    change(&entry);
    Put(id, entry);
  }
  void Put(const std::string& id, const Receipt& receipt) {
    ASSERT_TRUE(store_->db()
                    ->Put(rocksdb::WriteOptions(), store_->receipts(), Key(id),
                          EncodeReceipt(Key(id), receipt))
                    .ok());
  }
};

TEST_F(ReceiptCheckTest, ACleanIndexMatchesTheLog) {
  const ReceiptCheck check = Check();
  EXPECT_TRUE(check.problem.ok()) << check.problem.ToString();
  EXPECT_TRUE(check.indexed);
  EXPECT_EQ(log_->head().seq, check.through_seq);
  EXPECT_EQ(3u, check.receipts);
}

TEST_F(ReceiptCheckTest, AMissingEntryIsFound) {
  ASSERT_TRUE(store_->db()->Delete(rocksdb::WriteOptions(), store_->receipts(), Key("RD2")).ok());
  ExpectFound("no entry for redemption 'RD2'");
}

TEST_F(ReceiptCheckTest, AnUndoneReversalIsFound) {
  // The entry that would let RD1 be reversed a second time.
  Change("RD1", [](Receipt* entry) { entry->reversed_seq = 0; });
  ExpectFound("does not record its reversal");
}

TEST_F(ReceiptCheckTest, AReversalTheLogNeverMadeIsFound) {
  const uint64_t head = log_->head().seq;
  Change("RD2", [head](Receipt* entry) { entry->reversed_seq = head; });
  ExpectFound("redemptions and sales (1 reversed)");
}

TEST_F(ReceiptCheckTest, AChangedAmountIsFound) {
  Change("RD2", [](Receipt* entry) { entry->amount = 1; });
  ExpectFound("the entry of redemption 'RD2' differs from its event");
}

TEST_F(ReceiptCheckTest, APlantedEntryIsFound) {
  Receipt planted = Entry("RD2");
  Put("RD-planted", planted);
  ExpectFound("it holds 4 entries");
}

TEST_F(ReceiptCheckTest, ALedgerNotYetIndexedSaysSo) {
  ASSERT_TRUE(store_->db()->Delete(rocksdb::WriteOptions(), store_->meta(), "receipts").ok());
  const ReceiptCheck check = Check();
  EXPECT_FALSE(check.indexed);
  EXPECT_TRUE(check.problem.ok());
}

TEST_F(ReceiptIndexTest, ADamagedEntryIsNamedAndNothingIsDecidedOnIt) {
  Open();
  SetUpCommunities();
  GivePoints("V1", 100);
  Ok(Redeem("r1", "T1", "RD1", "V1", 30));
  // A read waits until the writer holds nothing undurable, and so no receipt in memory either.
  EXPECT_EQ(70, Balance("volunteer:V1", schema::Unit::POINTS));
  const std::string key = std::string(1, kRedemptionReceipt) + "RD1";
  std::string value;
  ASSERT_TRUE(store_->db()->Get(rocksdb::ReadOptions(), store_->receipts(), key, &value).ok());
  value[3] ^= 0x01;
  ASSERT_TRUE(store_->db()->Put(rocksdb::WriteOptions(), store_->receipts(), key, value).ok());
  const Head before = log_->head();
  CommandResult result = writer_->Execute(ReverseRedemption("x1", "T1", "RD1"));
  EXPECT_EQ(Code::kCorruption, result.status.code());
  EXPECT_NE(std::string::npos, result.status.message().find("redemption 'RD1'"))
      << result.status.ToString();
  EXPECT_EQ(before, log_->head());
  // Commands that name other receipts, or none, go on.
  Ok(Redeem("r2", "T1", "RD2", "V1", 10));
  EXPECT_EQ(60, Balance("volunteer:V1", schema::Unit::POINTS));
}

}  // namespace
}  // namespace mulin::ledger
