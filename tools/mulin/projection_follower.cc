#include "tools/mulin/projection_follower.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "projections/engine.h"
#include "projections/standard.h"

namespace mulin::cli {

void ProjectionFollower::Start() {
  thread_ = std::thread([this] { Run(); });
}

void ProjectionFollower::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProjectionFollower::Run() {
  pthread_setname_np(pthread_self(), "mulin-follow");
  // Linux keeps a nice value per thread; PRIO_PROCESS with a thread id reads and sets this one's
  // alone. It starts as the server's (the thread that started it); -1 is a value, so errno tells.
  const id_t self = static_cast<id_t>(gettid());
  errno = 0;
  const int server_nice = getpriority(PRIO_PROCESS, self);
  if (errno != 0 || setpriority(PRIO_PROCESS, self, FollowerNice(server_nice)) != 0) {
    spdlog::warn("projection follower: keeps the server's CPU priority: {}", std::strerror(errno));
  }
  // Not synced: a crash may lose the last batches, never tear one, and catching up again redoes
  // exactly what was lost (the log is synced; projections are derived from it).
  rocksdb::WriteOptions write_options;
  write_options.sync = false;
  projections::RocksRowStore rows(*store_, write_options, false);
  projections::StandardProjections set;
  projections::Engine engine(&rows, set.All());
  // Nothing else writes the projections while the server holds the ledger.
  engine.KeepRowsBetweenCatchUps();
  uint64_t folded_to = 0;
  auto folded_at = std::chrono::steady_clock::now();
  // After Stop (the writer has stopped by then) one last pass folds the final events.
  for (bool last = false;;) {
    const uint64_t head = log_->head().seq;
    const auto now = std::chrono::steady_clock::now();
    const int64_t since_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - folded_at).count();
    if (FollowerCatchUpDue(head - folded_to, since_ms, last)) {
      projections::CatchUpOptions options;
      options.to_seq = head;
      options.row_cache_bytes_max = kFollowRowsKeptBytesMax;
      Result<projections::CatchUpStats> stats = engine.CatchUp(*log_, options);
      if (!stats.ok()) {
        // Reported once; `mulin reconcile` says what differs, and serving carries on from the log.
        spdlog::error("projections stopped following the log: {}", stats.status().ToString());
        return;
      }
      events_folded_ += stats->events;
      folded_to = head;
      folded_at = now;
    }
    if (last) return;
    std::unique_lock<std::mutex> lock(mu_);
    last = cv_.wait_for(lock, std::chrono::milliseconds(kFollowIntervalMs),
                        [this] { return stopping_; });
  }
}

}  // namespace mulin::cli
