// The host's speed at one moment, in two figures that no code change of ours moves: how long one
// dependent 64-bit multiply-add takes (the core's clock, and time the host takes the vCPU away),
// and how long one dependent load from memory takes (the shared caches and memory the host's other
// tenants use too). The machine is a guest on a shared host, whose phases move the figures of the
// same binary by 15-30% (bench/HISTORY.md §4); bench/run.sh probes before each program, so that a
// table says which phase each of its rows was measured in.
#ifndef MULIN_BENCH_HOST_PROBE_H_
#define MULIN_BENCH_HOST_PROBE_H_

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "bench/bench_util.h"

namespace mulin::bench {

// Nanoseconds, over five rounds each (a round the host interrupts is an outlier).
struct HostProbe {
  Spread multiply_add_ns;  // one dependent multiply-add
  Spread load_ns;          // one dependent load from a region far larger than the caches
};

namespace internal {

inline double NsSince(std::chrono::steady_clock::time_point start, uint64_t operations) {
  const std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
  return elapsed.count() / static_cast<double>(operations);
}

}  // namespace internal

// Takes about a second, most of it building the load chain.
inline HostProbe ProbeHost(size_t region_bytes = size_t{256} << 20) {
  constexpr int kRounds = 5;
  constexpr uint64_t kMultiplyAdds = 20'000'000;
  constexpr uint64_t kLoads = 400'000;
  HostProbe probe;

  std::vector<double> rounds;
  uint64_t x = 1;
  for (int r = 0; r < kRounds; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < kMultiplyAdds; ++i) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      asm volatile("" : "+r"(x));  // kept in a register, and kept dependent
    }
    rounds.push_back(internal::NsSince(start, kMultiplyAdds));
  }
  probe.multiply_add_ns = SpreadOf(rounds);

  // One pointer per 64-byte line, linked in a single random cycle (Sattolo's shuffle), so that
  // each load waits for the one before and no prefetcher can guess the next.
  constexpr size_t kStride = 64 / sizeof(uint64_t);
  const size_t lines = std::max<size_t>(region_bytes / 64, 2);
  std::vector<uint32_t> order(lines);
  for (size_t i = 0; i < lines; ++i) order[i] = static_cast<uint32_t>(i);
  std::mt19937_64 rng(x);
  for (size_t i = lines - 1; i > 0; --i) std::swap(order[i], order[rng() % i]);
  std::vector<uint64_t> next(lines * kStride);
  for (size_t i = 0; i < lines; ++i) next[order[i] * kStride] = order[(i + 1) % lines] * kStride;
  uint64_t at = 0;
  for (uint64_t i = 0; i < kLoads; ++i) at = next[at];  // the chain's first pages, touched once
  rounds.clear();
  for (int r = 0; r < kRounds; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < kLoads; ++i) at = next[at];
    rounds.push_back(internal::NsSince(start, kLoads));
  }
  asm volatile("" : : "r"(at));
  probe.load_ns = SpreadOf(rounds);
  return probe;
}

}  // namespace mulin::bench

#endif  // MULIN_BENCH_HOST_PROBE_H_
