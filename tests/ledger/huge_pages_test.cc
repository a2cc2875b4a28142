// Goal: a HugePageScope moves its thread's allocations to the huge-page arena and back, nests,
// and the memory allocated inside it lies on transparent huge pages where the kernel gives them.
// Skipped where there is no jemalloc (the sanitizer builds): there a scope does nothing.
#include "ledger/huge_pages.h"

#include <gtest/gtest.h>
#include <jemalloc/jemalloc.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#pragma weak mallctl

namespace mulin::ledger {
namespace {

unsigned ThreadArena() {
  unsigned arena = 0;
  size_t size = sizeof(arena);
  EXPECT_EQ(0, mallctl("thread.arena", &arena, &size, nullptr, 0));
  return arena;
}

// The process's anonymous memory on transparent huge pages, in kB.
long AnonHugePagesKb() {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name;
    long kb = 0;
    if (fields >> name >> kb && name == "AnonHugePages:") return kb;
  }
  return -1;
}

TEST(HugePageScopeTest, MovesTheThreadToItsArenaAndBackAndNests) {
  if (mallctl == nullptr) GTEST_SKIP() << "not linked with jemalloc: scopes do nothing";
  const unsigned before = ThreadArena();
  {
    HugePageScope scope;
    ASSERT_TRUE(scope.active());
    const unsigned huge = ThreadArena();
    EXPECT_NE(before, huge);
    {
      HugePageScope inner;
      EXPECT_TRUE(inner.active());
      EXPECT_EQ(huge, ThreadArena());
    }
    EXPECT_EQ(huge, ThreadArena());
  }
  EXPECT_EQ(before, ThreadArena());
}

TEST(HugePageScopeTest, WhatIsAllocatedInsideLiesOnHugePages) {
  if (mallctl == nullptr) GTEST_SKIP() << "not linked with jemalloc: scopes do nothing";
  std::ifstream mode_file("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string mode;
  std::getline(mode_file, mode);
  if (mode.empty() || mode.find("[never]") != std::string::npos) {
    GTEST_SKIP() << "transparent huge pages are off here: " << mode;
  }
  const long before = AnonHugePagesKb();
  ASSERT_GE(before, 0);
  std::vector<std::unique_ptr<char[]>> rows;
  constexpr size_t kRowBytes = 256;
  constexpr size_t kRows = 256 * 1024;  // 64 MiB in rows of the size a fold makes
  {
    HugePageScope scope;
    ASSERT_TRUE(scope.active());
    for (size_t i = 0; i < kRows; ++i) {
      rows.emplace_back(new char[kRowBytes]);
      rows.back()[0] = static_cast<char>(i);  // touched, as a fold writes its rows
    }
  }
  const long after = AnonHugePagesKb();
  // Most of the 64 MiB; some of the arena's first run may precede a 2 MiB boundary.
  EXPECT_GE(after - before, 32 * 1024) << "AnonHugePages " << before << " kB -> " << after << " kB";
}

}  // namespace
}  // namespace mulin::ledger
