// The writer tests' fixture: a ledger in a temporary directory with a writer on it, the demo's
// two communities, and a full replay of the log to compare the writer's state with.
#ifndef MULIN_TESTS_LEDGER_WRITER_FIXTURE_H_
#define MULIN_TESTS_LEDGER_WRITER_FIXTURE_H_

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "ledger/domain/evolve.h"
#include "ledger/domain/state.h"
#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/receipt_index.h"
#include "ledger/store.h"
#include "ledger/writer.h"
#include "tests/support/commands.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ledger.h"

namespace mulin::ledger {

class WriterTest : public ::testing::Test {
 protected:
  void Open(WriterOptions options = WriterOptions()) {
    Close();
    Status opened = ledger_.Open();
    ASSERT_TRUE(opened.ok()) << opened.ToString();
    store_ = &ledger_.store();
    log_ = &ledger_.log();
    auto writer = Writer::Open(store_, log_, options);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    writer_ = std::move(writer).value();
  }

  void Close() {
    writer_.reset();
    log_ = nullptr;
    store_ = nullptr;
    ledger_.Close();
  }

  // Waits (up to 30 s) until the writer has written `n` snapshots: each is written on a thread of
  // its own after the group that took it is done.
  void WaitForSnapshots(uint64_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (writer_->stats().snapshots < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_GE(writer_->stats().snapshots, n);
  }

  CommandResult Ok(std::string command) {
    CommandResult result = writer_->Execute(std::move(command));
    EXPECT_TRUE(result.status.ok()) << result.status.ToString();
    return result;
  }

  // xishan with staff S1 and S2, social worker SW1, resident R1, volunteers V1..V4;
  // yangjiamen with merchant M1 and its terminal T1.
  void SetUpCommunities() {
    Ok(mulin::testing::RegisterCommunity("c1", "xishan"));
    Ok(mulin::testing::RegisterCommunity("c2", "yangjiamen"));
    using schema::Role;
    Ok(mulin::testing::RegisterMember("m1", "xishan", "S1", {Role::STAFF}));
    Ok(mulin::testing::RegisterMember("m2", "xishan", "S2", {Role::STAFF}));
    Ok(mulin::testing::RegisterMember("m3", "xishan", "SW1", {Role::SOCIAL_WORKER}));
    Ok(mulin::testing::RegisterMember("m4", "xishan", "R1", {Role::RESIDENT}));
    for (int v = 1; v <= 4; ++v) {
      Ok(mulin::testing::RegisterMember("v" + std::to_string(v), "xishan", "V" + std::to_string(v),
                                        {Role::VOLUNTEER}));
    }
    Ok(mulin::testing::RegisterMerchant("mc1", "yangjiamen", "M1"));
    Ok(mulin::testing::RegisterTerminal("t1", "yangjiamen", "T1", "M1"));
  }

  void GivePoints(const std::string& volunteer, int64_t points) {
    Ok(mulin::testing::Adjust("adj-" + volunteer, "S1", "xishan", "volunteer:" + volunteer,
                              schema::Unit::POINTS, points));
  }

  int64_t Balance(const std::string& account, schema::Unit unit) {
    int64_t out = 0;
    EXPECT_TRUE(
        writer_->Read([&](const domain::State& s) { out = domain::BalanceOf(s, account, unit); })
            .ok());
    return out;
  }

  std::string EncodedState() {
    std::string out;
    EXPECT_TRUE(writer_->Read([&](const domain::State& s) { out = domain::EncodeState(s); }).ok());
    return out;
  }

  // The state a replay of the log's events 1..to_seq (0: all) builds, without any snapshot.
  domain::State Replay(uint64_t to_seq = 0) {
    domain::State state;
    auto cursor = log_->NewCursor(1, to_seq);
    for (; cursor->Valid(); cursor->Next()) {
      auto event = DecodeEvent(cursor->payload(), cursor->seq());
      EXPECT_TRUE(event.ok()) << event.status().ToString();
      domain::Evolve(&state, event->event());
    }
    EXPECT_TRUE(cursor->status().ok());
    return state;
  }

  // The state a full replay of the log builds, without its redemptions and sales (the writer
  // keeps those in the receipt index, which must then hold exactly them).
  std::string ReplayedState() {
    domain::State state = Replay();
    ExpectIndexHolds(state);
    DropReceipts(&state);
    return domain::EncodeState(state);
  }

  void ExpectIndexHolds(const domain::State& state) {
    size_t entries = 0;
    // Every entry, in total order whatever prefix extractor the family may have.
    rocksdb::ReadOptions all;
    all.total_order_seek = true;
    std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(all, store_->receipts()));
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++entries) {
      const std::string key = it->key().ToString();
      auto receipt = DecodeReceipt(key, it->value().ToString());
      ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
      const std::string id = key.substr(1);
      if (key[0] == kRedemptionReceipt) {
        const domain::Redemption* r = domain::FindIn(state.redemptions, id);
        ASSERT_NE(nullptr, r) << id;
        EXPECT_EQ((domain::Redemption{receipt->seq, receipt->volunteer_id, receipt->merchant_id,
                                      receipt->amount, receipt->recorded_at_us,
                                      receipt->reversed_seq != 0}),
                  *r)
            << id;
      } else {
        const domain::Sale* s = domain::FindIn(state.sales, id);
        ASSERT_NE(nullptr, s) << id;
        EXPECT_EQ((domain::Sale{receipt->seq, receipt->merchant_id, receipt->amount,
                                receipt->contribution_fen, receipt->reversed_seq != 0}),
                  *s)
            << id;
      }
    }
    EXPECT_TRUE(it->status().ok());
    EXPECT_EQ(state.redemptions.size() + state.sales.size(), entries);
  }

  mulin::testing::TempDir dir_;
  mulin::testing::TestLedger ledger_{dir_.Sub("ledger")};
  Store* store_ = nullptr;  // ledger_'s, while open
  EventLog* log_ = nullptr;
  std::unique_ptr<Writer> writer_;
};

// Holds the writer thread in a read until the promise returned is set. It returns once the thread
// is held, so that commands submitted after it queue behind the read, none taken with it.
inline std::promise<void> HoldWriter(Writer* writer) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> holding;
  std::future<void> held = holding.get_future();
  const bool submitted = writer
                             ->SubmitRead([&holding, released](const domain::State&) {
                               holding.set_value();
                               released.wait();
                             })
                             .ok();
  EXPECT_TRUE(submitted);
  if (submitted) held.wait();
  return release;
}

}  // namespace mulin::ledger

#endif  // MULIN_TESTS_LEDGER_WRITER_FIXTURE_H_
