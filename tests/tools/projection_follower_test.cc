// Goal: `mulin serve`'s follower folds a few new events at once and lets many gather for a while,
// so that a busy server rewrites its projection rows less often; stopping folds whatever is left.
// Inside `mulin serve` it runs below the threads that answer terminals.
#include "tools/mulin/projection_follower.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "tests/support/proc_stat.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace mulin::cli {
namespace {

TEST(ProjectionFollowerTest, NothingNewMeansNoCatchUp) {
  EXPECT_FALSE(FollowerCatchUpDue(0, 0, false));
  EXPECT_FALSE(FollowerCatchUpDue(0, 10 * kFollowLoadedIntervalMs, false));
  EXPECT_FALSE(FollowerCatchUpDue(0, 0, true));
}

TEST(ProjectionFollowerTest, AFewEventsAreFoldedAtOnce) {
  EXPECT_TRUE(FollowerCatchUpDue(1, 0, false));
  EXPECT_TRUE(FollowerCatchUpDue(kFollowLoadedEvents, kFollowIntervalMs, false));
}

TEST(ProjectionFollowerTest, ManyEventsGatherUntilTheLoadedInterval) {
  EXPECT_FALSE(FollowerCatchUpDue(kFollowLoadedEvents + 1, kFollowIntervalMs, false));
  EXPECT_FALSE(FollowerCatchUpDue(100000, kFollowLoadedIntervalMs - 1, false));
  EXPECT_TRUE(FollowerCatchUpDue(100000, kFollowLoadedIntervalMs, false));
}

TEST(ProjectionFollowerTest, StoppingFoldsWhateverIsLeft) {
  EXPECT_TRUE(FollowerCatchUpDue(100000, 0, true));
}

// The nice value of each thread of process `pid`, by the thread's name (the last thread of a name
// wins).
std::map<std::string, int> NiceByThreadName(pid_t pid) {
  std::map<std::string, int> nice;
  for (const auto& thread :
       mulin::testing::ReadThreadStats("/proc/" + std::to_string(pid) + "/task")) {
    nice[thread.comm] = thread.nice;
  }
  return nice;
}

TEST(ProjectionFollowerTest, RunsTenNiceStepsBelowTheServerAtMostNineteen) {
  EXPECT_EQ(10, FollowerNice(0));
  EXPECT_EQ(15, FollowerNice(5));
  EXPECT_EQ(19, FollowerNice(9));
  EXPECT_EQ(19, FollowerNice(15));
  EXPECT_EQ(19, FollowerNice(19));
  EXPECT_EQ(-10, FollowerNice(-20));
}

// Starts `mulin serve` from a thread at nice `server_nice` (the server inherits it), waits until
// its follower has lowered its priority, and checks every thread the test knows by name.
void ExpectFollowerBelowServer(int server_nice) {
  mulin::testing::TempDir dir;
  mulin::testing::ServerProcess server(MULIN_BINARY, dir.Sub("ledger"));
  bool started = false;
  std::thread starter([&] {
    ASSERT_EQ(0, setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), server_nice));
    started = server.Start();
  });
  starter.join();
  ASSERT_TRUE(started) << "mulin serve did not start; see " << server.log_path();
  // The follower and the writer name themselves as they start, in either order, and the follower
  // then lowers its priority: wait for all of it (bounded).
  const int follower_nice = FollowerNice(server_nice);
  std::map<std::string, int> nice;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    nice = NiceByThreadName(server.pid());
    auto follower = nice.find("mulin-follow");
    if (follower != nice.end() && follower->second == follower_nice &&
        nice.count("mulin-writer") == 1) {
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(1u, nice.count("mulin-follow")) << "no thread named mulin-follow";
  EXPECT_EQ(follower_nice, nice["mulin-follow"]);
  // The event loop and the writer keep the priority the server was started with.
  ASSERT_EQ(1u, nice.count("mulin"));
  ASSERT_EQ(1u, nice.count("mulin-writer"));
  EXPECT_EQ(server_nice, nice["mulin"]);
  EXPECT_EQ(server_nice, nice["mulin-writer"]);
  EXPECT_EQ(0, server.Stop());
}

TEST(ProjectionFollowerTest, RunsBelowTheThreadsThatAnswerTerminals) {
  ExpectFollowerBelowServer(0);
}

TEST(ProjectionFollowerTest, StaysBelowAServerStartedWithNice) { ExpectFollowerBelowServer(5); }

}  // namespace
}  // namespace mulin::cli
