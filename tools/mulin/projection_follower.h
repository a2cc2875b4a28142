// ProjectionFollower: keeps the stored projections caught up with the log while `mulin serve`
// appends, on a thread of its own, so read commands and auditors find them current instead of
// folding the lag themselves. Catching up also runs once at start (on open).
// Thread-safety: Start/Stop from one thread. Ownership: borrows the store and log, which must
// outlive it (Stop joins the thread).
#ifndef MULIN_TOOLS_MULIN_PROJECTION_FOLLOWER_H_
#define MULIN_TOOLS_MULIN_PROJECTION_FOLLOWER_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

#include "ledger/event_log.h"
#include "ledger/store.h"

namespace mulin::cli {

// How often the follower looks for new events when it has caught up.
inline constexpr int kFollowIntervalMs = 100;
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
