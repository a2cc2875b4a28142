// Goal: the /proc stat reader that tests and benchmarks rely on finds the right fields: a thread's
// name even when it holds spaces and parentheses, its nice value, its CPU time; and says nothing,
// rather than something wrong, for a file it cannot read.
#include "tests/support/proc_stat.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <thread>

#include "tests/support/temp_dir.h"

namespace mulin::testing {
namespace {

std::string OwnStatPath() { return "/proc/self/task/" + std::to_string(gettid()) + "/stat"; }

double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

TEST(ProcStatTest, ReadsANameWithSpacesAndParenthesesAndTheNiceValue) {
  std::thread([] {
    ASSERT_EQ(0, pthread_setname_np(pthread_self(), "a (b) c)"));
    ASSERT_EQ(0, setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 7));
    const auto stat = ReadProcStat(OwnStatPath());
    ASSERT_TRUE(stat.has_value());
    EXPECT_EQ("a (b) c)", stat->comm);
    EXPECT_EQ(7, stat->nice);
  }).join();
}

TEST(ProcStatTest, ReadsUserAndSystemTime) {
  std::thread([] {
    // Spin in user space until the thread's own clock says 0.3 s (reading that clock is a system
    // call, so it is read rarely); the kernel's count in clock ticks must follow.
    volatile uint64_t sink = 0;
    while (ThreadCpuSeconds() < 0.3) {
      for (int i = 0; i < 1000000; ++i) sink = sink + 1;
    }
    const auto stat = ReadProcStat(OwnStatPath());
    ASSERT_TRUE(stat.has_value());
    EXPECT_GE(stat->cpu_seconds, 0.2);
    EXPECT_LE(stat->cpu_seconds, ThreadCpuSeconds() + 0.05);
  }).join();
}

TEST(ProcStatTest, FindsEveryThreadOfTheProcessByName) {
  std::thread([] {
    ASSERT_EQ(0, pthread_setname_np(pthread_self(), "stat-probe"));
    const auto threads = ReadThreadStats();
    EXPECT_GE(threads.size(), 2u);
    EXPECT_TRUE(std::any_of(threads.begin(), threads.end(),
                            [](const ProcStat& t) { return t.comm == "stat-probe"; }));
  }).join();
}

TEST(ProcStatTest, AFileItCannotReadGivesNothing) {
  TempDir dir;
  EXPECT_FALSE(ReadProcStat(dir.Sub("missing")).has_value());
  // A thread that ended between listing and reading leaves an empty file or a cut one.
  const std::string cut = dir.Sub("cut");
  std::ofstream(cut) << "1234 (name) S 1 2 3";
  EXPECT_FALSE(ReadProcStat(cut).has_value());
  const std::string nameless = dir.Sub("nameless");
  std::ofstream(nameless) << "1234 name S";
  EXPECT_FALSE(ReadProcStat(nameless).has_value());
  EXPECT_TRUE(ReadThreadStats(dir.Sub("no-such-process")).empty());
}

}  // namespace
}  // namespace mulin::testing
