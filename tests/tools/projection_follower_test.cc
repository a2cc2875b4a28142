// Goal: `mulin serve`'s follower folds a few new events at once and lets many gather for a while,
// so that a busy server rewrites its projection rows less often; stopping folds whatever is left.
#include "tools/mulin/projection_follower.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace mulin::cli
