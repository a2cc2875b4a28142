// projection_rebuild_bench: how fast every projection (balances, audit, fund, orders) is rebuilt
// from seq 1, into each kind of space the read side builds into, against the floor in the same
// run: reading, decoding and computing domain::Postings for every event and writing no row, on
// one thread and on the engine's reading thread (handed to a fold that does nothing); and, for
// the rebuilds into RocksDB, the row writes they commit, replayed into RocksDB without a fold.
// Budget (DESIGN §8): projection rebuild ≥ 1M events/s.
//
// Usage: projection_rebuild_bench [--events N] [--dir DIR] [--runs R] [--only TEXT]
//   --events N   events in the log (default 1000000): a seeded, rule-abiding mix of the whole
//                order loop, redemptions, sales, reversals, payouts and adjustments across three
//                communities (tests/projections/random_stream.h)
//   --dir DIR    build the log in DIR, or reuse it when it holds exactly N events; default: a
//                temporary directory removed at exit
//   --runs R     runs of each measurement (default 3); the table shows median, min and max
//   --only TEXT  only the measurements whose name contains TEXT (for profiling one of them)
// Beside wall-clock events/s the table shows CPU µs per event (all threads of the process, the
// reader and RocksDB's included): on a shared machine wall time says more about the neighbours.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/log_dir.h"
#include "ledger/domain/postings.h"
#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/store.h"
#include "projections/engine.h"
#include "projections/event_reader.h"
#include "projections/standard.h"
#include "tests/projections/random_stream.h"

namespace mulin::bench {
namespace {

namespace proj = mulin::projections;

constexpr uint64_t kDefaultEvents = 1000000;
constexpr size_t kAppendBatchRecords = 4096;
constexpr int kRunsMax = 99;
constexpr uint64_t kStreamSeed = 2026;

struct Args {
  uint64_t events = kDefaultEvents;
  std::string dir;
  int runs = 3;
  std::string only;
};

bool ParseArgs(int argc, char** argv, Args* args) {
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--events") == 0 && has_value) {
      args->events = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--dir") == 0 && has_value) {
      args->dir = argv[++i];
    } else if (std::strcmp(argv[i], "--runs") == 0 && has_value) {
      args->runs = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--only") == 0 && has_value) {
      args->only = argv[++i];
    } else {
      return false;
    }
  }
  return args->events > 0 && args->runs > 0 && args->runs <= kRunsMax;
}

// Appends the stream's first `events` events (the stream may overshoot by one; the extra is cut).
Status BuildLog(ledger::EventLog* log, uint64_t events) {
  testing::RandomStream stream(kStreamSeed);
  while (log->head().seq < events) {
    std::vector<std::string> batch = stream.Next(kAppendBatchRecords);
    const uint64_t room = events - log->head().seq;
    if (batch.size() > room) batch.resize(room);
    MULIN_RETURN_IF_ERROR(log->Append(batch, {}));
  }
  return Status::Ok();
}

struct Row {
  std::string name;
  std::vector<double> seconds;
  std::vector<double> cpu_seconds;
};

// Runs `measure` `runs` times; each returns the events it covered, which must be `events`.
// Skipped (no seconds) when `only` is set and not part of the name.
Row Measure(const std::string& name, const Args& args, uint64_t events,
            const std::function<uint64_t()>& measure) {
  Row row{name, {}, {}};
  if (name.find(args.only) == std::string::npos) return row;
  for (int run = 0; run < args.runs; ++run) {
    const Sample sample = TimeOverEvents(name, events, measure);
    row.seconds.push_back(sample.wall_s);
    row.cpu_seconds.push_back(sample.cpu_s);
  }
  std::sort(row.seconds.begin(), row.seconds.end());
  std::sort(row.cpu_seconds.begin(), row.cpu_seconds.end());
  return row;
}

void PrintTable(const std::vector<Row>& rows, uint64_t events) {
  std::printf("%-42s %12s %12s %12s %9s %12s\n", "measure", "median ev/s", "min ev/s", "max ev/s",
              "median s", "cpu µs/ev");
  for (const Row& row : rows) {
    if (row.seconds.empty()) continue;
    const double median = row.seconds[row.seconds.size() / 2];
    const double cpu_median = row.cpu_seconds[row.cpu_seconds.size() / 2];
    std::printf("%-42s %12.0f %12.0f %12.0f %9.3f %12.2f\n", row.name.c_str(), events / median,
                events / row.seconds.back(), events / row.seconds.front(), median,
                cpu_median * 1e6 / static_cast<double>(events));
  }
}

// The floor: what every fold must do per event before it writes a row.
uint64_t DecodeAndPost(const ledger::EventLog& log) {
  uint64_t events = 0;
  uint64_t postings = 0;
  for (auto cursor = log.NewCursor(1); cursor->Valid(); cursor->Next()) {
    Result<ledger::DecodedEvent> event = ledger::DecodeEvent(cursor->payload(), cursor->seq());
    if (!event.ok()) return 0;
    postings += domain::Postings(event->event()).size();
    ++events;
  }
  return postings > 0 ? events : 0;
}

// The same work on the engine's reading thread, handed over in chunks to a fold that only counts
// them: what the hand-off between the two threads costs over the floor.
uint64_t ReadOnItsThread(const ledger::EventLog& log) {
  uint64_t events = 0;
  uint64_t postings = 0;
  proj::internal::EventReader reader(log, 1, log.head().seq);
  for (auto chunk = reader.Next(); !chunk.empty(); chunk = reader.Next()) {
    for (const proj::internal::DecodedRecord& record : chunk) postings += record.postings.size();
    events += chunk.size();
    reader.Recycle(std::move(chunk));
  }
  if (!reader.status().ok()) return 0;
  const proj::internal::EventReader::Waits waits = reader.waits();
  std::printf("  the reading thread slept %llu times for room, the fold %llu times for chunks\n",
              static_cast<unsigned long long>(waits.reader),
              static_cast<unsigned long long>(waits.fold));
  return postings > 0 ? events : 0;
}

uint64_t Fold(const ledger::EventLog& log, proj::RowStore* rows,
              const std::vector<proj::Projection*>& projections) {
  Result<proj::CatchUpStats> stats =
      proj::Engine(rows, projections).CatchUp(log, proj::CatchUpOptions());
  if (!stats.ok()) std::fprintf(stderr, "%s\n", stats.status().ToString().c_str());
  return stats.ok() ? stats->events : 0;
}

// Passes commits on to `target` and keeps a copy of each batch, to be written again without the
// fold (RowWritesAlone).
class RecordingRowStore final : public proj::RowStore {
 public:
  explicit RecordingRowStore(proj::RowStore* target) : target_(target) {}
  Result<bool> Get(const std::string& key, std::string* value) const override {
    return target_->Get(key, value);
  }
  std::unique_ptr<proj::RowIterator> NewIterator() const override { return target_->NewIterator(); }
  Status Commit(proj::RowBatch batch) override {
    for (const auto& [key, value] : batch.puts) bytes_ += key.size() + value.size();
    rows_ += batch.puts.size();
    batches_.push_back(batch);
    return target_->Commit(std::move(batch));
  }
  const std::vector<proj::RowBatch>& batches() const { return batches_; }
  uint64_t rows() const { return rows_; }
  uint64_t bytes() const { return bytes_; }

 private:
  proj::RowStore* target_;
  std::vector<proj::RowBatch> batches_;
  uint64_t rows_ = 0;
  uint64_t bytes_ = 0;
};

// The baseline of a rebuild into RocksDB: the batches that rebuild commits, written into fresh
// scratch space by RocksDB alone (no log read, no fold). Nothing when the recording fold fails.
std::vector<proj::RowBatch> RecordRowWrites(const ledger::EventLog& log) {
  Result<std::unique_ptr<proj::ScratchDb>> scratch = proj::ScratchDb::Create("");
  if (!scratch.ok()) return {};
  RecordingRowStore recording((*scratch)->rows());
  proj::StandardProjections set;
  if (Fold(log, &recording, set.All()) == 0) return {};
  std::printf("the rebuild into RocksDB commits %zu batches: %llu row writes, %.1f MB\n",
              recording.batches().size(), static_cast<unsigned long long>(recording.rows()),
              static_cast<double>(recording.bytes()) / 1e6);
  return recording.batches();
}

int Fail(const Status& status) {
  std::fprintf(stderr, "projection_rebuild_bench: %s\n", status.ToString().c_str());
  return 1;
}

// The measurements, on an open ledger of `events` events.
std::vector<Row> MeasureAll(ledger::Store* store, const ledger::EventLog& log, const Args& args) {
  std::vector<Row> rows;
  rows.push_back(Measure("floor: read + decode + Postings", args, args.events,
                         [&] { return DecodeAndPost(log); }));
  rows.push_back(Measure("floor, on the fold's reading thread", args, args.events,
                         [&] { return ReadOnItsThread(log); }));
  const std::string writes_alone = "floor: its row writes alone into scratch RocksDB";
  if (writes_alone.find(args.only) != std::string::npos) {
    const std::vector<proj::RowBatch> batches = RecordRowWrites(log);
    rows.push_back(Measure(writes_alone, args, args.events, [&] {
      Result<std::unique_ptr<proj::ScratchDb>> scratch = proj::ScratchDb::Create("");
      if (!scratch.ok() || batches.empty()) return uint64_t{0};
      for (const proj::RowBatch& batch : batches) {
        if (!(*scratch)->rows()->Commit(batch).ok()) return uint64_t{0};
      }
      return args.events;
    }));
  }
  rows.push_back(Measure("all four into memory (as-of views)", args, args.events, [&] {
    proj::MemoryRowStore scratch;
    proj::StandardProjections set;
    return Fold(log, &scratch, set.All());
  }));
  rows.push_back(Measure("all four into scratch RocksDB (reconcile)", args, args.events, [&] {
    Result<std::unique_ptr<proj::ScratchDb>> scratch = proj::ScratchDb::Create("");
    if (!scratch.ok()) return uint64_t{0};
    proj::StandardProjections set;
    return Fold(log, (*scratch)->rows(), set.All());
  }));
  rocksdb::WriteOptions write_options;
  write_options.sync = false;  // as `mulin projections rebuild` writes
  proj::RocksRowStore stored(*store, write_options, false);
  rows.push_back(Measure("all four dropped and rebuilt in place", args, args.events, [&] {
    proj::StandardProjections set;
    proj::Engine engine(&stored, set.All());
    for (proj::Projection* p : set.All()) {
      if (!engine.Drop(p->name()).ok()) return uint64_t{0};
    }
    return Fold(log, &stored, set.All());
  }));
  proj::StandardProjections each;
  for (proj::Projection* p : each.All()) {
    rows.push_back(Measure(std::string(p->name()) + " alone into memory", args, args.events, [&] {
      proj::MemoryRowStore scratch;
      return Fold(log, &scratch, {p});
    }));
  }
  return rows;
}

int Run(const Args& args) {
  Result<std::unique_ptr<LogDir>> opened = OpenLogDir(args.dir, "projection-bench", args.events);
  if (!opened.ok()) return Fail(opened.status());
  LogDir& l = **opened;
  double build_s = 0;
  Status built =
      l.Build([&](ledger::EventLog* log) { return BuildLog(log, args.events); }, &build_s);
  if (!built.ok()) return Fail(built);
  std::printf("projection_rebuild_bench: %llu events in %s, %d runs each\n",
              static_cast<unsigned long long>(args.events), l.dir.c_str(), args.runs);
  if (l.existing == 0) {
    std::printf("log built in %.1f s (%.0f events/s)\n", build_s, args.events / build_s);
  }
  PrintTable(MeasureAll(l.store.get(), *l.log, args), args.events);
  return 0;
}

}  // namespace
}  // namespace mulin::bench

int main(int argc, char** argv) {
  mulin::bench::Args args;
  if (!mulin::bench::ParseArgs(argc, argv, &args)) {
    std::fprintf(
        stderr,
        "usage: projection_rebuild_bench [--events N] [--dir DIR] [--runs R] [--only TEXT]\n");
    return 2;
  }
  return mulin::bench::Run(args);
}
