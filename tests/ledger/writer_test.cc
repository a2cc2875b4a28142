// Goal: the writer decides queued commands in order against one state, appends each group durably,
// answers retries idempotently (also after a restart) and refuses at once when its queue is full.
// Its snapshots are in writer_snapshot_test.cc.
#include "ledger/writer.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ledger/domain/state.h"
#include "tests/ledger/writer_fixture.h"
#include "tests/support/commands.h"

namespace mulin::ledger {
namespace {

using namespace mulin::testing;  // NOLINT: the command builders read like a script
using schema::Role;

TEST_F(WriterTest, TheClosedLoopCreditsPointsAtRating) {
  Open();
  SetUpCommunities();
  Ok(PlaceOrder("o1", "xishan", "O1", "R1"));
  Ok(DispatchOrder("o2", "S1", "O1", "SW1"));
  Ok(AcceptOrder("o3", "SW1", "O1"));
  Ok(DeliverOrder("o4", "SW1", "O1", {{"V1", 90}, {"V2", 60}}));
  EXPECT_EQ(0, Balance("volunteer:V1", schema::Unit::POINTS));
  EXPECT_EQ(90, Balance("volunteer:V1", schema::Unit::MINUTES));
  CommandResult rated = Ok(RateOrder("o5", "R1", "O1", 5));
  EXPECT_EQ(2u, rated.event_count);  // orderRated + pointsCredited
  EXPECT_EQ(log_->head().seq, rated.first_seq + 1);
  EXPECT_EQ(15, Balance("volunteer:V1", schema::Unit::POINTS));  // 90 min × 10/h
  EXPECT_EQ(10, Balance("volunteer:V2", schema::Unit::POINTS));
}

TEST_F(WriterTest, RejectionAppendsNothingAndSaysWhy) {
  Open();
  SetUpCommunities();
  const Head before = log_->head();
  CommandResult result = writer_->Execute(Redeem("r1", "T1", "RD1", "V1", 30));
  EXPECT_EQ(Code::kRejected, result.status.code());
  EXPECT_EQ("insufficient_points", result.status.reason_code());
  EXPECT_FALSE(result.status.message().empty());
  EXPECT_EQ(before, log_->head());
}

TEST_F(WriterTest, ARejectedCommandInAGroupDoesNotAffectTheOthers) {
  Open();
  SetUpCommunities();
  GivePoints("V1", 100);
  std::vector<std::future<CommandResult>> results;
  for (int i = 0; i < 20; ++i) {
    auto promise = std::make_shared<std::promise<CommandResult>>();
    results.push_back(promise->get_future());
    // 20 redemptions of 10 from 100 points: exactly the first 10 fit.
    writer_->Submit(Redeem("g" + std::to_string(i), "T1", "RD" + std::to_string(i), "V1", 10),
                    [promise](const CommandResult& r) { promise->set_value(r); });
  }
  int accepted = 0;
  for (int i = 0; i < 20; ++i) {
    CommandResult r = results[i].get();
    if (r.status.ok()) {
      ++accepted;
      EXPECT_LT(i, 10);
    } else {
      EXPECT_EQ("insufficient_points", r.status.reason_code());
    }
  }
  EXPECT_EQ(10, accepted);
  EXPECT_EQ(0, Balance("volunteer:V1", schema::Unit::POINTS));
}

TEST_F(WriterTest, SameRequestSameContentReturnsTheOriginalResult) {
  Open();
  SetUpCommunities();
  GivePoints("V1", 100);
  CommandResult first = Ok(Redeem("same", "T1", "RD1", "V1", 30));
  const Head head = log_->head();
  CommandResult again = Ok(Redeem("same", "T1", "RD1", "V1", 30));
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(first.first_seq, again.first_seq);
  EXPECT_EQ(head, log_->head());
  EXPECT_EQ(70, Balance("volunteer:V1", schema::Unit::POINTS));
}

TEST_F(WriterTest, SameRequestDifferentContentIsAConflict) {
  Open();
  SetUpCommunities();
  GivePoints("V1", 100);
  Ok(Redeem("same", "T1", "RD1", "V1", 30));
  const Head head = log_->head();
  CommandResult other = writer_->Execute(Redeem("same", "T1", "RD1", "V1", 31));
  EXPECT_EQ(Code::kConflict, other.status.code());
  EXPECT_EQ(head, log_->head());
}

TEST_F(WriterTest, RepeatsWithinOneGroupAreAnsweredOnce) {
  Open();
  SetUpCommunities();
  GivePoints("V1", 100);
  std::vector<std::future<CommandResult>> results;
  for (int i = 0; i < 5; ++i) {
    auto promise = std::make_shared<std::promise<CommandResult>>();
    results.push_back(promise->get_future());
    writer_->Submit(Redeem("dup", "T1", "RD1", "V1", 10),
                    [promise](const CommandResult& r) { promise->set_value(r); });
  }
  uint64_t seq = 0;
  for (auto& f : results) {
    CommandResult r = f.get();
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    if (seq == 0) seq = r.first_seq;
    EXPECT_EQ(seq, r.first_seq);
  }
  EXPECT_EQ(90, Balance("volunteer:V1", schema::Unit::POINTS));
}

TEST_F(WriterTest, IdempotencyHoldsAcrossARestart) {
  Open();
  SetUpCommunities();
  GivePoints("V1", 100);
  CommandResult first = Ok(Redeem("r-restart", "T1", "RD1", "V1", 30));
  Open();
  const Head head = log_->head();
  CommandResult again = Ok(Redeem("r-restart", "T1", "RD1", "V1", 30));
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(first.first_seq, again.first_seq);
  EXPECT_EQ(Code::kConflict,
            writer_->Execute(Redeem("r-restart", "T1", "RD1", "V1", 1)).status.code());
  EXPECT_EQ(head, log_->head());
  EXPECT_EQ(70, Balance("volunteer:V1", schema::Unit::POINTS));
}

TEST_F(WriterTest, FullQueueAnswersOverloadedAtOnce) {
  WriterOptions options;
  options.queue_commands_max = 4;
  Open(options);
  SetUpCommunities();
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> holding;
  // Hold the writer thread inside a read so that submissions pile up in the queue.
  std::thread holder([&] {
    Status s = writer_->Read([&](const domain::State&) {
      holding.set_value();
      released.wait();
    });
    EXPECT_TRUE(s.ok());
  });
  holding.get_future().wait();
  std::atomic<int> overloaded{0};
  std::atomic<int> done{0};
  for (int i = 0; i < 10; ++i) {
    writer_->Submit(RegisterCommunity("q" + std::to_string(i), "c" + std::to_string(i)),
                    [&](const CommandResult& r) {
                      if (r.status.code() == Code::kOverloaded) ++overloaded;
                      ++done;
                    });
  }
  EXPECT_EQ(6, overloaded.load());  // answered at once, while the writer is still held
  release.set_value();
  holder.join();
  while (done.load() < 10) std::this_thread::yield();
  EXPECT_EQ(6, overloaded.load());
}

TEST_F(WriterTest, MalformedCommandBytesAreRefusedWithoutAppending) {
  Open();
  const Head before = log_->head();
  EXPECT_EQ(Code::kInvalidArgument, writer_->Execute("not a message").status.code());
  EXPECT_EQ(Code::kInvalidArgument, writer_->Execute(std::string(64, '\xff')).status.code());
  EXPECT_EQ(Code::kInvalidArgument, writer_->Execute("").status.code());
  EXPECT_EQ(before, log_->head());
}

TEST_F(WriterTest, LedgerClockNeverGoesBackwards) {
  WriterOptions options;
  std::atomic<int64_t> now{1'800'000'000'000'000};
  options.clock_us = [&] { return now.load(); };
  Open(options);
  Ok(RegisterCommunity("c1", "xishan"));
  now = 1'700'000'000'000'000;  // the machine's clock jumped back
  Ok(RegisterCommunity("c2", "nanhu"));
  auto first = DecodeEvent(*log_->ReadPayload(1), 1);
  auto second = DecodeEvent(*log_->ReadPayload(2), 2);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(1'800'000'000'000'000, first->event().getRecordedAtUs());
  EXPECT_EQ(1'800'000'000'000'000, second->event().getRecordedAtUs());
}

TEST_F(WriterTest, ManyThreadsNeverOverdrawAndAcceptExactlyWhatBalancesAllow) {
  Open();
  SetUpCommunities();
  const int64_t kPoints[] = {500, 300, 200, 100};
  for (int v = 0; v < 4; ++v) GivePoints("V" + std::to_string(v + 1), kPoints[v]);
  constexpr int kThreads = 64;
  constexpr int kPerThread = 50;
  std::atomic<int> accepted{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = std::to_string(t) + "-" + std::to_string(i);
        CommandResult r = writer_->Execute(
            Redeem("c" + id, "T1", "RD" + id, "V" + std::to_string(1 + (t + i) % 4), 1));
        if (r.status.ok()) {
          ++accepted;
        } else {
          EXPECT_EQ("insufficient_points", r.status.reason_code()) << r.status.ToString();
          ++refused;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(1100, accepted.load());  // every point, and not one more
  EXPECT_EQ(kThreads * kPerThread - 1100, refused.load());
  for (int v = 1; v <= 4; ++v)
    EXPECT_EQ(0, Balance("volunteer:V" + std::to_string(v), schema::Unit::POINTS));
  EXPECT_EQ(1100, Balance("merchant:M1", schema::Unit::POINTS));
  EXPECT_EQ(ReplayedState(), EncodedState());
}

// One command per group, submitted without waiting: each group is decided while the one before it
// is being appended, so a retry, a conflicting reuse of a request id, a reversal and a duplicate
// receipt id must all be recognised against a group that may not be in the index yet.
TEST_F(WriterTest, GroupsDecidedWhileTheOneBeforeIsAppendedSeeItsRequestsAndReceipts) {
  WriterOptions one_per_group;
  one_per_group.group_commands_max = 1;
  one_per_group.overlap_commands_min = 0;  // every group with one behind it overlaps the next
  Open(one_per_group);
  SetUpCommunities();
  GivePoints("V1", 1000);
  constexpr int kRounds = 100;
  std::vector<std::future<CommandResult>> results;
  auto submit = [&](std::string command) {
    auto promise = std::make_shared<std::promise<CommandResult>>();
    results.push_back(promise->get_future());
    writer_->Submit(std::move(command),
                    [promise](const CommandResult& r) { promise->set_value(r); });
  };
  constexpr int kPerRound = 6;
  for (int i = 0; i < kRounds; ++i) {
    const std::string n = std::to_string(i);
    submit(Redeem("r" + n, "T1", "RD" + n, "V1", 2));        // appended
    submit(ReverseRedemption("x" + n, "T1", "RD" + n));      // reverses it, maybe still in flight
    submit(ReverseRedemption("y" + n, "T1", "RD" + n));      // reverses it again: refused
    submit(Redeem("r" + n, "T1", "RD" + n, "V1", 2));        // the first request again
    submit(Redeem("r" + n, "T1", "RD-other" + n, "V1", 2));  // its request id, other content
    submit(Redeem("d" + n, "T1", "RD" + n, "V1", 2));        // its redemption id again
  }
  for (int i = 0; i < kRounds; ++i) {
    const CommandResult first = results[kPerRound * i].get();
    const CommandResult reversal = results[kPerRound * i + 1].get();
    const CommandResult second_reversal = results[kPerRound * i + 2].get();
    const CommandResult again = results[kPerRound * i + 3].get();
    const CommandResult conflict = results[kPerRound * i + 4].get();
    const CommandResult duplicate_id = results[kPerRound * i + 5].get();
    ASSERT_TRUE(first.status.ok()) << first.status.ToString();
    EXPECT_TRUE(reversal.status.ok()) << reversal.status.ToString();
    EXPECT_EQ("already_reversed", second_reversal.status.reason_code())
        << second_reversal.status.ToString();
    EXPECT_TRUE(again.status.ok() && again.duplicate) << again.status.ToString();
    EXPECT_EQ(first.first_seq, again.first_seq);
    EXPECT_EQ(Code::kConflict, conflict.status.code()) << conflict.status.ToString();
    EXPECT_EQ("duplicate_id", duplicate_id.status.reason_code()) << duplicate_id.status.ToString();
  }
  EXPECT_EQ(1000, Balance("volunteer:V1", schema::Unit::POINTS));
  EXPECT_EQ(ReplayedState(), EncodedState());
}

// The threads that completed `count` redemptions submitted in one burst, in groups of one, while
// the writer thread was held (so that each group had commands waiting behind it).
std::set<std::string> CompletingThreads(Writer* writer, int count) {
  std::promise<void> release = HoldWriter(writer);
  std::mutex mu;
  std::set<std::string> threads;
  std::vector<std::future<void>> done;
  for (int i = 0; i < count; ++i) {
    auto finished = std::make_shared<std::promise<void>>();
    done.push_back(finished->get_future());
    const std::string n = std::to_string(i);
    writer->Submit(mulin::testing::Redeem("burst" + n, "T1", "RB" + n, "V1", 1),
                   [&mu, &threads, finished](const CommandResult& r) {
                     EXPECT_TRUE(r.status.ok()) << r.status.ToString();
                     char name[16] = {};
                     pthread_getname_np(pthread_self(), name, sizeof(name));
                     {
                       std::lock_guard<std::mutex> lock(mu);
                       threads.insert(name);
                     }
                     finished->set_value();
                   });
  }
  release.set_value();
  for (auto& d : done) d.wait();
  return threads;
}

TEST_F(WriterTest, SmallGroupsAreAppendedOnTheWriterThread) {
  WriterOptions options;
  options.group_commands_max = 1;
  ASSERT_GT(options.overlap_commands_min, 1u);  // the default
  Open(options);
  SetUpCommunities();
  GivePoints("V1", 100);
  EXPECT_EQ(std::set<std::string>{"mulin-writer"}, CompletingThreads(writer_.get(), 40));
}

TEST_F(WriterTest, GroupsFromTheOverlapSizeOnGoToTheCommitThread) {
  WriterOptions options;
  options.group_commands_max = 1;
  options.overlap_commands_min = 1;
  Open(options);
  SetUpCommunities();
  GivePoints("V1", 100);
  EXPECT_EQ(1u, CompletingThreads(writer_.get(), 40).count("mulin-commit"));
}

// Execute's callers whose commands complete in one group are woken as a tree: the completing
// thread wakes the first, each caller woken wakes two more. Fifty callers make a tree five deep;
// a caller that failed to wake its children would leave them blocked, and the test stops.
TEST_F(WriterTest, EveryExecuteCallerOfOneGroupIsWoken) {
  Open(WriterOptions{});
  SetUpCommunities();
  GivePoints("V1", 100);
  constexpr int kCallers = 50;
  std::promise<void> release = HoldWriter(writer_.get());
  const uint64_t groups_before = writer_->stats().groups;
  std::vector<CommandResult> results(kCallers);
  std::atomic<int> returned{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([this, i, &results, &returned] {
      const std::string n = std::to_string(i);
      results[i] = writer_->Execute(Redeem("tree" + n, "T1", "RT" + n, "V1", 1));
      ++returned;
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (writer_->stats().queued < kCallers && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(static_cast<uint64_t>(kCallers), writer_->stats().queued);
  release.set_value();
  while (returned < kCallers && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (returned < kCallers) {
    ADD_FAILURE() << returned << " of " << kCallers << " callers were woken";
    std::abort();  // the others are blocked for good: they cannot be joined
  }
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(groups_before + 1, writer_->stats().groups) << "the burst was not one group";
  std::set<uint64_t> seqs;
  for (const CommandResult& r : results) {
    EXPECT_TRUE(r.status.ok()) << r.status.ToString();
    seqs.insert(r.first_seq);
  }
  EXPECT_EQ(static_cast<size_t>(kCallers), seqs.size()) << "each caller gets its own event";
}

}  // namespace
}  // namespace mulin::ledger
