// ProjectionFollower: keeps the stored projections caught up with the log while `mulin serve`
// appends, on a thread of its own, so read commands and auditors find them current instead of
// folding the lag themselves. Catching up also runs once at start (on open).
// Thread-safety: Start/Stop from one thread. Ownership: borrows the store and log, which must
// outlive it (Stop joins the thread).
#ifndef MULIN_TOOLS_MULIN_PROJECTION_FOLLOWER_H_
#define MULIN_TOOLS_MULIN_PROJECTION_FOLLOWER_H_

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

#include "ledger/event_log.h"
#include "ledger/store.h"

namespace mulin::cli {

// How often the follower looks for new events.
inline constexpr int kFollowIntervalMs = 100;
// Under load it lets them gather for up to this long instead. A catch-up rewrites every row it
// touches, and at a busy server most of its rows are the same from one catch-up to the next:
// fewer, larger catch-ups rewrite them less often. Over RPC (rpc_bench, 64 connections, two
// alternated pairs) that took the follower from 7.9-8.0 to 3.9-4.5 us of CPU per redemption, the
// rate from 19.0-19.3k/s to 24.2-25.0k/s and the p99 from 14.1-14.3 ms to 9.2-9.5 ms
// (bench/RESULTS.md, section 3). The read commands fold any lag themselves.
inline constexpr int kFollowLoadedIntervalMs = 1000;
// Under load: more events than this appended since the last catch-up.
inline constexpr uint64_t kFollowLoadedEvents = 1024;

// Whether the follower catches up now: `pending` events behind the head, `since_last_ms` after
// its last catch-up. A few events are folded at once; many wait for kFollowLoadedIntervalMs; once
// stopping, whatever is left is folded.
inline bool FollowerCatchUpDue(uint64_t pending, int64_t since_last_ms, bool stopping) {
  if (pending == 0) return false;
  return stopping || pending <= kFollowLoadedEvents || since_last_ms >= kFollowLoadedIntervalMs;
}

// How far below the server's other threads the follower runs, in steps of nice value (from -20,
// the first served, to 19, the last). It shares two cores with the writer and the RPC loop, which
// answer terminals while it only keeps the stored rows current, in catch-ups of 15-40 ms of CPU.
// Below them, over RPC (rpc_bench, 64 connections, ten alternated pairs), the p99 fell in nine
// pairs, its median from 9.8 to 8.5 ms, and the p999's from 16.3 to 14.2 ms, with the follower
// keeping up (bench/RESULTS.md, section 3). The threads a catch-up starts (its reader, its
// committer) inherit its value.
inline constexpr int kFollowerNiceSteps = 10;

// The follower's nice value when the server runs at `server_nice`: kFollowerNiceSteps further
// down, at most 19. Relative, so that `nice -n 15 mulin serve` does not put its follower above it.
inline int FollowerNice(int server_nice) { return std::min(server_nice + kFollowerNiceSteps, 19); }

// The rows the follower keeps from one catch-up to the next (Engine::KeepRowsBetweenCatchUps):
// the server's memory beyond its writer's state. Past it they are forgotten and read again.
inline constexpr size_t kFollowRowsKeptBytesMax = 32u << 20;

class ProjectionFollower {
 public:
  ProjectionFollower(ledger::Store* store, const ledger::EventLog* log)
      : store_(store), log_(log) {}
  ~ProjectionFollower() { Stop(); }
  ProjectionFollower(const ProjectionFollower&) = delete;
  ProjectionFollower& operator=(const ProjectionFollower&) = delete;

  void Start();
  // Idempotent. Folds what was appended up to now, then returns: call it after the writer stops
  // so that the stored projections end at the head.
  void Stop();
  uint64_t events_folded() const { return events_folded_.load(); }

 private:
  void Run();

  ledger::Store* store_;
  const ledger::EventLog* log_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::atomic<uint64_t> events_folded_{0};
  std::thread thread_;
};

}  // namespace mulin::cli

#endif  // MULIN_TOOLS_MULIN_PROJECTION_FOLLOWER_H_
