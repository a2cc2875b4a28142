// LogDir: the ledger of a benchmark that measures one log again and again (verify, projection
// rebuild). The log is built once by appends and compacted, as a ledger at rest. It lives in the
// directory named with --dir, reused when that already holds exactly the events wanted (so that a
// later run, or `mulin --db DIR verify`, measures the same log), or else in a temporary
// directory removed when the LogDir is destroyed.
#ifndef MULIN_BENCH_LOG_DIR_H_
#define MULIN_BENCH_LOG_DIR_H_

#include <rocksdb/db.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "bench/bench_util.h"
#include "ledger/event_log.h"
#include "ledger/status.h"
#include "ledger/store.h"

namespace mulin::bench {

struct LogDir {
  std::string dir;
  bool temporary = false;
  std::unique_ptr<ledger::Store> store;
  std::unique_ptr<ledger::EventLog> log;
  uint64_t existing = 0;  // events the log held when opened: 0, or exactly the events wanted

  LogDir() = default;
  LogDir(const LogDir&) = delete;
  LogDir& operator=(const LogDir&) = delete;
  ~LogDir() {
    log.reset();
    store.reset();
    if (temporary) std::filesystem::remove_all(dir);
  }

  // Runs `append` (which appends until the log holds the events wanted, and so nothing on a
  // reused log), then compacts what it left in memtables and level 0. `*seconds`: the time
  // `append` took.
  Status Build(const std::function<Status(ledger::EventLog*)>& append, double* seconds) {
    const auto start = std::chrono::steady_clock::now();
    MULIN_RETURN_IF_ERROR(append(log.get()));
    *seconds = SecondsSince(start);
    store->db()
        ->CompactRange(rocksdb::CompactRangeOptions(), store->events(), nullptr, nullptr)
        .PermitUncheckedError();
    return Status::Ok();
  }
};

// Opens the ledger in `dir`, or in a new temporary directory "mulin-<name>-XXXXXX" when `dir` is
// empty. Its log must be empty or hold exactly `events` events.
inline Result<std::unique_ptr<LogDir>> OpenLogDir(const std::string& dir, const std::string& name,
                                                  uint64_t events) {
  auto l = std::make_unique<LogDir>();
  l->dir = dir;
  if (l->dir.empty()) {
    l->dir = (std::filesystem::temp_directory_path() / ("mulin-" + name + "-XXXXXX")).string();
    if (mkdtemp(l->dir.data()) == nullptr) {
      return Status::IoError("cannot create a temporary directory like " + l->dir);
    }
    l->temporary = true;
  }
  Result<std::unique_ptr<ledger::Store>> store =
      ledger::Store::Open(l->dir, ledger::StoreOptions());
  if (!store.ok()) return store.status();
  l->store = std::move(store).value();
  Result<std::unique_ptr<ledger::EventLog>> log = ledger::EventLog::Open(l->store.get());
  if (!log.ok()) return log.status();
  l->log = std::move(log).value();
  l->existing = l->log->head().seq;
  if (l->existing != 0 && l->existing != events) {
    return Status::InvalidArgument(l->dir + " holds " + std::to_string(l->existing) +
                                   " events, not " + std::to_string(events));
  }
  return l;
}

}  // namespace mulin::bench

#endif  // MULIN_BENCH_LOG_DIR_H_
