// The growth benchmark's measurements in a fresh process: the program runs itself again in an
// internal mode (--startup, --appends-on, --crash-after-appends; --snapshot-parts for profiling),
// so that what a figure measures is a ledger opened as a server opens it, not the state of the
// process that filled it.
#ifndef MULIN_BENCH_FRESH_PROCESS_H_
#define MULIN_BENCH_FRESH_PROCESS_H_

#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/bench_ledger.h"
#include "bench/bench_util.h"
#include "bench/workloads.h"
#include "ledger/domain/state.h"
#include "ledger/huge_pages.h"
#include "ledger/snapshot.h"

namespace mulin::bench {

inline int StartupChild(const std::string& dir) {
  const auto start = std::chrono::steady_clock::now();
  auto l = OpenLedgerAt(dir);
  const double seconds = SecondsSince(start);
  std::printf("startup_s %.6f rss_kb %" PRIu64 " hwm_kb %" PRIu64 " head %" PRIu64 "\n", seconds,
              ProcStatusKb("VmRSS"), ProcStatusKb("VmHWM"), l->log->head().seq);
  return 0;
}

// What one writer snapshot of the state in `dir` costs, part by part, as MaybeSnapshot does it.
inline int SnapshotParts(const std::string& dir) {
  auto l = OpenLedgerAt(dir);
  ledger::Snapshot snapshot;
  double encode_s = 0;
  Must(l->writer
           ->Read([&](const domain::State& state) {
             ledger::HugePageScope huge_pages;  // as MaybeSnapshot
             const auto start = std::chrono::steady_clock::now();
             snapshot.state = domain::EncodeState(state);
             encode_s = SecondsSince(start);
           })
           .ok(),
       "read");
  snapshot.at = l->log->head();
  auto start = std::chrono::steady_clock::now();
  {
    ledger::HugePageScope huge_pages;
    Must(ledger::WriteSnapshot(l->store.get(), snapshot).ok(), "write snapshot");
  }
  const double write_s = SecondsSince(start);
  start = std::chrono::steady_clock::now();
  auto r = l->writer->Execute(RedeemCommand(0, "parts" + std::to_string(snapshot.at.seq) + "-"));
  Must(r.status.ok(), r.status.ToString());
  const double next_s = SecondsSince(start);
  std::printf("head %" PRIu64
              ": snapshot %.0f MB; encode %.3f s, write (unsynced) %.3f s, "
              "next synced command %.3f s\n",
              snapshot.at.seq, snapshot.state.size() / 1e6, encode_s, write_s, next_s);
  return 0;
}

// The --appends-on mode: appends `appends` pipelined redemptions to the ledger in `dir` and prints
// the rate (AppendsInChild reads it; run by hand, it profiles the write path at a size). With
// `crash` (--crash-after-appends), the process then ends as a crash would: every append was
// acknowledged, so it is durable, but the writer does not stop, so no snapshot is taken at the head
// and RocksDB's memtables are left to its WAL.
inline int AppendsOn(const std::string& dir, uint64_t appends, uint64_t volunteers,
                     bool crash = false) {
  auto l = OpenLedgerAt(dir);
  double mean_group = 0;
  const std::string prefix = "prof" + std::to_string(l->log->head().seq) + "-";
  const double rate = PipelinedAppends(l->writer.get(), appends, prefix, &mean_group, volunteers);
  if (crash) {
    std::printf("%.0f events/s, then a crash\n", rate);
    std::fflush(stdout);
    std::_Exit(0);
  }
  l->writer->Stop();  // the last snapshot's write is done, and counted
  const ledger::WriterStats stats = l->writer->stats();
  std::printf("%.0f events/s, mean group %.0f, %" PRIu64 " snapshots (%" PRIu64
              " laid over the one before, %" PRIu64
              " of them merged into the whole), longest encoding %.1f ms, storing %.1f ms"
              " in all (longest %.1f ms)\n",
              rate, mean_group, stats.snapshots, stats.incremental_snapshots,
              stats.merged_snapshots, stats.snapshot_encoding_us_max / 1000.0,
              stats.snapshot_storing_us / 1000.0, stats.snapshot_storing_us_max / 1000.0);
  return 0;
}

// Runs this program again with `mode` (one of the internal modes, e.g. "--startup 'DIR'") and
// returns the first line it prints; the measurement it makes then happens in a fresh process.
inline std::string LineFromChild(const std::string& mode) {
  const std::string command = "/proc/" + std::to_string(getpid()) + "/exe " + mode;
  std::FILE* child = popen(command.c_str(), "r");
  Must(child != nullptr, "cannot start " + command);
  char line[512] = {0};
  const bool read = std::fgets(line, sizeof(line), child) != nullptr;
  Must(pclose(child) == 0 && read, "child failed: " + command);
  return line;
}

// Appends `appends` pipelined redemptions to the ledger in `dir` from a fresh process (the
// --appends-on mode), which must not have the ledger open. Returns events/s.
//
// Both the empty log's appends and those at each size are measured this way. Measured in this
// process, after it filled the log with millions of events and replayed them, the appends at 1M
// events ran at 80% of the empty log's, and at 95-97% from a fresh process opening the same
// ledger: what differed was the state of the filling process, which no server that grew its log
// over months of commands (or restarted since) has.
//
// What a run of appends said besides its rate: the longest the writer thread spent encoding a
// snapshot, and the time the snapshot's own thread spent storing them all.
struct SnapshotTimes {
  double longest_encoding_ms = 0;
  double storing_ms = 0;
};

inline double AppendsInChild(const std::string& dir, uint64_t appends,
                             SnapshotTimes* snapshots = nullptr, uint64_t volunteers = 0) {
  const std::string line = LineFromChild("--appends-on '" + dir + "' " + std::to_string(appends) +
                                         " " + std::to_string(volunteers));
  double rate = 0;
  Must(std::sscanf(line.c_str(), "%lf events/s", &rate) == 1 && rate > 0,
       "append child said: " + line);
  const char* longest = std::strstr(line.c_str(), "longest encoding ");
  SnapshotTimes times;
  Must(longest != nullptr && std::sscanf(longest, "longest encoding %lf ms, storing %lf ms",
                                         &times.longest_encoding_ms, &times.storing_ms) == 2,
       "append child said: " + line);
  if (snapshots != nullptr) *snapshots = times;
  return rate;
}

// Appends `appends` pipelined redemptions to the ledger in `dir` from a fresh process that then
// ends as a crash would (--crash-after-appends).
inline void CrashAfterAppendsInChild(const std::string& dir, uint64_t appends,
                                     uint64_t volunteers) {
  const std::string line =
      LineFromChild("--crash-after-appends '" + dir + "' " + std::to_string(appends) + " " +
                    std::to_string(volunteers));
  Must(std::strstr(line.c_str(), "then a crash") != nullptr, "crashing child said: " + line);
}

struct SnapshotCost {
  double encode_s = 0;
  double write_s = 0;
};

// One snapshot of the ledger in `dir`, timed part by part in a fresh process (--snapshot-parts).
inline SnapshotCost SnapshotInChild(const std::string& dir) {
  const std::string line = LineFromChild("--snapshot-parts '" + dir + "'");
  SnapshotCost cost;
  const char* parts = std::strstr(line.c_str(), "encode ");
  Must(parts != nullptr && std::sscanf(parts, "encode %lf s, write (unsynced) %lf s",
                                       &cost.encode_s, &cost.write_s) == 2,
       "snapshot child said: " + line);
  return cost;
}

struct Startup {
  double seconds = 0;
  double rss_mb = 0;
  double hwm_mb = 0;
  uint64_t head = 0;
};

inline Startup StartupInChild(const std::string& dir) {
  const std::string line = LineFromChild("--startup '" + dir + "'");
  Startup s;
  uint64_t rss_kb = 0, hwm_kb = 0;
  Must(
      std::sscanf(line.c_str(), "startup_s %lf rss_kb %" SCNu64 " hwm_kb %" SCNu64 " head %" SCNu64,
                  &s.seconds, &rss_kb, &hwm_kb, &s.head) == 4,
      "start-up child said: " + line);
  s.rss_mb = static_cast<double>(rss_kb) / 1024.0;
  s.hwm_mb = static_cast<double>(hwm_kb) / 1024.0;
  return s;
}

struct StartupFigures {
  std::vector<double> ms, rss_mb, hwm_mb;
  uint64_t head = 0;
};

inline StartupFigures MeasureStartups(const std::string& dir, int runs) {
  StartupFigures f;
  for (int run = 0; run < runs; ++run) {
    const Startup s = StartupInChild(dir);
    f.ms.push_back(s.seconds * 1000.0);
    f.rss_mb.push_back(s.rss_mb);
    f.hwm_mb.push_back(s.hwm_mb);
    f.head = s.head;
  }
  return f;
}

}  // namespace mulin::bench

#endif  // MULIN_BENCH_FRESH_PROCESS_H_
