// growth_bench: what a ledger costs as its log grows (DESIGN §8: start with 10M events ≤ 2 s;
// appends with 10M events within 20% of an empty log; memory at 1M volunteers ≤ 300 MB).
//
// The empty log is the bench cast of bench_ledger.h (about 2k events), a fresh one for each run.
// Then one such ledger grows through each size of --sizes in turn. The log is grown with
// EventLog::Append in batches of kFillBatchRecords, not through commands: the events are what
// terminals write (7 in 10 a redemption of one point, 3 in 10 a market sale at merchant M1), each
// with its request-index entry, so the log and the index grow as they would. After the fill
// RocksDB is compacted (a ledger at rest, not one digesting a bulk load), then at each size:
//   appends      pipelined redemptions through the writer (as writer_bench workload 1), two
//                snapshot intervals (50k each) per run by default, so each run pays two snapshots;
//                each run in a fresh process (AppendsInChild), starting with compacted families
//                and empty memtables as a fresh empty log does (the cost of flushing memtables is
//                writer_bench's to measure). Each run is paired with a run on a fresh empty log
//                just before it, and the ratio row divides each run by its pair: the sizes are
//                built minutes apart, and the host's phase moves in minutes;
//   look-ups     balance look-ups through Writer::Read from 64 threads (how a terminal's balance
//                request is answered: from the writer's in-memory state);
//   start-up     Store + EventLog + Writer::Open in a fresh process (the newest snapshot, then the
//                log's tail after it, none after a writer's clean stop of many appends: it
//                snapshots the head), with the process's VmRSS and VmHWM once open; labelled with
//                the head at that moment (the size plus the runs' appends).
// A second ledger holds --volunteers registered, funded volunteers (two events each, appended the
// same way) for start-up time and resident memory at that many volunteers, then for appends on
// that state (300k a run, six snapshot intervals, each a redemption by another of those
// volunteers; each run paired with as many on a fresh empty log), with the longest time the
// writer thread spent encoding a snapshot, and the cost of one whole snapshot of it
// (--snapshot-parts, in a fresh process).
//
// Usage: growth_bench [--sizes 0,1000000,10000000] [--appends N] [--lookups N] [--runs R]
//                     [--volunteers V] [--dir DIR]
//   --sizes      events in the log at each measurement, ascending (default 0,1000000,10000000)
//   --appends    redemptions per append run (default 100000: two snapshot intervals)
//   --lookups    balance look-ups per run (default 200000)
//   --runs       runs of each figure (default 3)
//   --volunteers volunteers of the memory ledger (default 1000000; 0 skips it)
//   --dir        parent directory of the ledgers (default the temp directory); removed at exit
//   --keep 1     leave the ledgers there (mulin-bench-growth, mulin-bench-volunteers), e.g. to
//                profile a start-up: valgrind --tool=callgrind growth_bench --startup DIR
// (internal) growth_bench --startup DIR: opens DIR once and prints what it took.
// (profiling) growth_bench --appends-on DIR N [V]: opens DIR and appends N pipelined redemptions
//   (by the cast's volunteers, or with V by the V volunteers of a --volunteers ledger).
// (internal) growth_bench --crash-after-appends DIR N [V]: the same, then ends with no stop, as a
//   crash would.
// (profiling) growth_bench --snapshot-parts DIR: times the parts of one snapshot of DIR's state:
//   encoding, the unsynced write, and the next synced append (which syncs the WAL behind it).
#include <rocksdb/db.h>

#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <sstream>

#include "bench/bench_ledger.h"
#include "bench/bench_util.h"
#include "bench/fresh_process.h"
#include "bench/log_fill.h"
#include "bench/workloads.h"
#include "ledger/domain/state.h"

namespace mulin::bench {
namespace {

constexpr int kLookupThreads = 64;

struct Args {
  std::vector<uint64_t> sizes = {0, 1000000, 10000000};
  uint64_t appends = 100000;
  uint64_t lookups = 200000;
  int runs = 3;
  uint64_t volunteers = 1000000;
  std::string dir = std::filesystem::temp_directory_path().string();
  bool keep = false;
};

// --- the growing ledger ------------------------------------------------------------------------

double BalanceLookups(ledger::Writer* writer, uint64_t lookups, std::vector<double>* latencies) {
  return ClosedLoop(
      lookups, kLookupThreads,
      [&](int t, uint64_t i) {
        const std::string account =
            "volunteer:V" + std::to_string((t * 131 + i * 7919) % kBenchVolunteers);
        int64_t points = -1;
        Status read = writer->Read([&](const domain::State& s) {
          points = domain::BalanceOf(s, account, schema::Unit::POINTS);
        });
        Must(read.ok() && points > 0, "balance look-up failed");
      },
      latencies);
}

// "10M", "1.3M", "200k", "2k": events or volunteers, to two significant digits or so.
std::string SizeName(uint64_t n) {
  char text[32];
  if (n >= 1000000) {
    std::snprintf(text, sizeof(text), n % 1000000 == 0 ? "%.0fM" : "%.1fM", n / 1e6);
  } else if (n >= 1000) {
    std::snprintf(text, sizeof(text), "%.0fk", n / 1e3);
  } else {
    std::snprintf(text, sizeof(text), "%" PRIu64, n);
  }
  return text;
}

void PrintStartup(const StartupFigures& startup, const std::string& what) {
  const std::string at = " at " + SizeName(startup.head) + " events" + what;
  PrintRow("6. start-up (snapshot + tail)" + at, SpreadOf(startup.ms), "ms",
           startup.head >= 10000000 ? "budget <= 2000" : "");
  PrintRow("6. VmRSS after start-up" + at, SpreadOf(startup.rss_mb), "MB");
  PrintRow("6. VmHWM during start-up" + at, SpreadOf(startup.hwm_mb), "MB");
}

// `empty_appends`: the paired empty-log run of each run in `appends` (none for the empty log).
void PrintRates(const std::string& at, const std::vector<double>& appends,
                const std::vector<double>& lookups, const std::vector<double>& p99,
                const std::vector<double>& empty_appends) {
  PrintRow("6. appends through the writer" + at, SpreadOf(appends), "events/s");
  if (!empty_appends.empty()) {
    std::vector<double> ratio;
    for (size_t i = 0; i < appends.size(); ++i) {
      ratio.push_back(appends[i] / empty_appends[i] * 100.0);
    }
    PrintRow("6.   an empty log, a run paired with each run" + at, SpreadOf(empty_appends),
             "events/s");
    PrintRow("6. appends" + at + " / empty log", SpreadOf(ratio), "%", "budget >= 80");
  }
  PrintRow("6. balance look-ups (64 threads)" + at, SpreadOf(lookups), "reads/s");
  PrintRow("6. balance look-up p99" + at, SpreadOf(p99), "us");
}

// The cast's fresh ledger, closed, after one run of `count` appends on it (its rate added to
// `appends`): every empty-log run starts from the same log.
std::unique_ptr<BenchLedger> EmptyLogAfterAppends(uint64_t count, std::vector<double>* appends) {
  auto l = OpenBenchLedger("growth-empty");
  l->Close();
  appends->push_back(AppendsInChild(l->dir, count));
  return l;
}

// Appends and look-ups on the empty log, then start-ups of it.
void EmptyLog(const Args& args) {
  std::vector<double> appends, lookups, p99;
  for (int run = 0; run < args.runs; ++run) {
    auto l = EmptyLogAfterAppends(args.appends, &appends);
    OpenLog(l.get());
    OpenWriter(l.get());
    std::vector<double> latencies;
    lookups.push_back(BalanceLookups(l->writer.get(), args.lookups, &latencies));
    p99.push_back(Percentile(&latencies, 0.99) * 1000.0);
  }
  PrintRates(" on an empty log", appends, lookups, p99, {});
  auto l = OpenBenchLedger("growth-empty");
  l->Close();
  PrintStartup(MeasureStartups(l->dir, args.runs), " (the cast only)");
}

// The figures at one size of the growing ledger, printed as they are measured (10M takes a
// while). Each run appends args.appends events, so the head moves on a little between runs.
void MeasureAtSize(BenchLedger* l, uint64_t size, const Args& args) {
  std::vector<double> appends, empty_appends, lookups, p99;
  for (int run = 0; run < args.runs; ++run) {
    EmptyLogAfterAppends(args.appends, &empty_appends);
    // Each empty-log run starts on a fresh ledger, with empty memtables; so does each run here.
    // Otherwise the later runs here flush what the earlier ones wrote (a sort of the request and
    // receipt memtables, HISTORY.md §1) and the empty log's runs never do: the ratio would
    // measure that, not the size of the log.
    Settle(*l->store);
    l->Close();
    appends.push_back(AppendsInChild(l->dir, args.appends));
    OpenLog(l);
    OpenWriter(l);
    std::vector<double> latencies;
    lookups.push_back(BalanceLookups(l->writer.get(), args.lookups, &latencies));
    p99.push_back(Percentile(&latencies, 0.99) * 1000.0);
  }
  PrintRates(" at " + SizeName(size) + " events", appends, lookups, p99, empty_appends);
  // The start-up after these appends, each run's writer stopped cleanly: it snapshotted the head
  // (WriterOptions::stop_snapshot_events_min), so no tail is replayed. After a crash up to an
  // interval (50k events) would be (RESULTS.md §6).
  l->Close();
  PrintStartup(MeasureStartups(l->dir, args.runs), "");
  OpenLog(l);
}

void GrowingLedger(const Args& args) {
  EmptyLog(args);
  auto l = OpenBenchLedger("growth");
  l->keep = args.keep;
  l->writer.reset();
  for (uint64_t size : args.sizes) {
    if (size == 0) continue;  // the empty log, measured above
    const auto fill_start = std::chrono::steady_clock::now();
    const uint64_t before = l->log->head().seq;
    Fill(l->log.get(), size, [](uint64_t seq, int64_t at, std::string* actor) {
      return TerminalEvent(seq, at, actor);
    });
    const double fill_s = SecondsSince(fill_start);
    const auto settle_start = std::chrono::steady_clock::now();
    Settle(*l->store);
    std::fprintf(stderr, "size %s: appended %" PRIu64 " events in %.1f s, compacted in %.1f s\n",
                 SizeName(size).c_str(), l->log->head().seq - before, fill_s,
                 SecondsSince(settle_start));
    const auto open_start = std::chrono::steady_clock::now();
    OpenWriter(l.get());
    std::fprintf(stderr, "size %s: writer open after the fill (replaying it) took %.1f s\n",
                 SizeName(size).c_str(), SecondsSince(open_start));
    // That open indexed the fill's receipts in one go (a running ledger indexes them group by
    // group); their compaction is settled before measuring, as the fill's own was.
    const auto index_settle_start = std::chrono::steady_clock::now();
    Settle(*l->store);
    std::fprintf(stderr, "size %s: compacted the receipt index in %.1f s\n", SizeName(size).c_str(),
                 SecondsSince(index_settle_start));
    MeasureAtSize(l.get(), size, args);
    l->writer.reset();
  }
}

// --- memory at many volunteers -----------------------------------------------------------------

void ManyVolunteers(const Args& args) {
  auto l = OpenBenchLedger("volunteers");
  l->keep = args.keep;
  l->writer.reset();
  const uint64_t first = l->log->head().seq + 1;
  const auto fill_start = std::chrono::steady_clock::now();
  Fill(l->log.get(), first - 1 + 2 * args.volunteers,
       [first](uint64_t seq, int64_t at, std::string* actor) {
         return VolunteerEvent(seq, first, at, actor);
       });
  Settle(*l->store);
  std::fprintf(stderr, "volunteers: %" PRIu64 " events in %.1f s\n", l->log->head().seq,
               SecondsSince(fill_start));
  // One command after the replay leaves a snapshot of the whole state, as a running ledger has.
  ledger::WriterOptions snapshot_now;
  snapshot_now.snapshot_interval_events = 1;
  OpenWriter(l.get(), snapshot_now);
  auto r = l->writer->Execute(RedeemCommand(0, "vol-"));
  Must(r.status.ok(), r.status.ToString());
  // The snapshot follows the command's answer: taken on the writer thread and written on a thread
  // of its own, both of which Stop waits for.
  l->writer->Stop();
  Must(l->writer->stats().snapshots == 1, "no snapshot written");
  l->Close();
  const StartupFigures startup = MeasureStartups(l->dir, args.runs);
  const std::string at = " at " + SizeName(args.volunteers) + " volunteers";
  PrintRow("6. start-up (snapshot)" + at, SpreadOf(startup.ms), "ms");
  PrintRow("6. VmRSS after start-up" + at, SpreadOf(startup.rss_mb), "MB", "budget <= 300");
  PrintRow("6. VmHWM during start-up" + at, SpreadOf(startup.hwm_mb), "MB");
  // Appends on this state, each by one of its volunteers, each run paired with a run on a fresh
  // empty log. A run of 300k spans six snapshot intervals, so it pays five or six snapshots, each
  // laid over the one before (the one it opened from, first): the writer thread encodes the entries
  // an interval changed, and the snapshot's own thread stores them beside the whole snapshot, or
  // merges them into it once they are large (no budget: RESULTS.md §6). Then a start-up from what
  // the run left: the whole snapshot and the changes beside it, which the run's stop brought to the
  // head, and one after a crash an interval on (below). One whole snapshot, as the first after a
  // start-up without one, is timed apart (and stored: the next run starts from it).
  const uint64_t appends = 300000;  // as many as before the interval went from 100k to 50k
  std::vector<double> rates, empty_rates, ratio, held_ms, storing_ms, encode_ms, write_ms;
  StartupFigures after, crashed;
  for (int run = 0; run < args.runs; ++run) {
    EmptyLogAfterAppends(appends, &empty_rates);
    SnapshotTimes times;
    rates.push_back(AppendsInChild(l->dir, appends, &times, args.volunteers));
    held_ms.push_back(times.longest_encoding_ms);
    storing_ms.push_back(times.storing_ms);
    ratio.push_back(rates.back() / empty_rates.back() * 100.0);
    const Startup startup_after = StartupInChild(l->dir);
    after.ms.push_back(startup_after.seconds * 1000.0);
    after.rss_mb.push_back(startup_after.rss_mb);
    // A crash at the worst time: that start-up's stop left a snapshot at the head, and an interval
    // of events less one follows it, so the next start-up replays them all (after RocksDB replays
    // its WAL), as one that finds a snapshot lost, or never taken, replays more.
    CrashAfterAppendsInChild(l->dir, ledger::WriterOptions().snapshot_interval_events - 1,
                             args.volunteers);
    const Startup startup_crashed = StartupInChild(l->dir);
    crashed.ms.push_back(startup_crashed.seconds * 1000.0);
    crashed.rss_mb.push_back(startup_crashed.rss_mb);
    const SnapshotCost cost = SnapshotInChild(l->dir);
    encode_ms.push_back(cost.encode_s * 1000.0);
    write_ms.push_back(cost.write_s * 1000.0);
  }
  PrintRow("6. appends through the writer" + at, SpreadOf(rates), "events/s");
  PrintRow("6.   an empty log, a run paired with each run" + at, SpreadOf(empty_rates), "events/s");
  PrintRow("6. appends" + at + " / empty log", SpreadOf(ratio), "%");
  PrintRow("6.   the longest snapshot encoding of a run (writer thread)", SpreadOf(held_ms), "ms");
  PrintRow("6.   storing a run's snapshots (their own thread)", SpreadOf(storing_ms), "ms");
  PrintRow("6. start-up after a run" + at, SpreadOf(after.ms), "ms", "budget <= 2000");
  PrintRow("6. VmRSS after that start-up" + at, SpreadOf(after.rss_mb), "MB", "budget <= 300");
  PrintRow("6. start-up after a crash an interval on" + at, SpreadOf(crashed.ms), "ms",
           "budget <= 2000");
  PrintRow("6. VmRSS after that start-up" + at, SpreadOf(crashed.rss_mb), "MB", "budget <= 300");
  PrintRow("6. one whole snapshot" + at + ": encoding", SpreadOf(encode_ms), "ms");
  PrintRow("6. one whole snapshot" + at + ": its write", SpreadOf(write_ms), "ms");
}

bool ParseSizes(const std::string& text, std::vector<uint64_t>* sizes) {
  sizes->clear();
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) return false;
    sizes->push_back(std::strtoull(item.c_str(), nullptr, 10));
    if (sizes->size() > 1 && sizes->back() < (*sizes)[sizes->size() - 2]) return false;
  }
  return !sizes->empty();
}

bool ParseArgs(int argc, char** argv, Args* args) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    const uint64_t n = std::strtoull(value.c_str(), nullptr, 10);
    if (flag == "--sizes") {
      if (!ParseSizes(value, &args->sizes)) return false;
    } else if (flag == "--appends" && n > 0) {
      args->appends = n;
    } else if (flag == "--lookups" && n > 0) {
      args->lookups = n;
    } else if (flag == "--runs" && n > 0 && n < 100) {
      args->runs = static_cast<int>(n);
    } else if (flag == "--volunteers") {
      args->volunteers = n;
    } else if (flag == "--dir") {
      args->dir = value;
    } else if (flag == "--keep") {
      args->keep = n != 0;
    } else {
      return false;
    }
  }
  return argc % 2 == 1;
}

}  // namespace
}  // namespace mulin::bench

int main(int argc, char** argv) {
  using namespace mulin::bench;  // NOLINT
  if (argc == 3 && std::string(argv[1]) == "--startup") return StartupChild(argv[2]);
  if (argc == 3 && std::string(argv[1]) == "--snapshot-parts") return SnapshotParts(argv[2]);
  const bool crash = argc > 1 && std::string(argv[1]) == "--crash-after-appends";
  if ((argc == 4 || argc == 5) && (crash || std::string(argv[1]) == "--appends-on")) {
    return AppendsOn(argv[2], std::strtoull(argv[3], nullptr, 10),
                     argc == 5 ? std::strtoull(argv[4], nullptr, 10) : 0, crash);
  }
  Args args;
  if (!ParseArgs(argc, argv, &args)) {
    std::fprintf(stderr,
                 "usage: growth_bench [--sizes 0,1000000,10000000] [--appends N] [--lookups N] "
                 "[--runs R] [--volunteers V] [--dir DIR] [--keep 1]\n");
    return 2;
  }
  std::error_code made;
  std::filesystem::create_directories(args.dir, made);
  if (made) {
    std::fprintf(stderr, "growth_bench: cannot create --dir %s: %s\n", args.dir.c_str(),
                 made.message().c_str());
    return 1;
  }
  setenv("TMPDIR", args.dir.c_str(), 1);  // where OpenBenchLedger puts its ledgers
  PrintHeader();
  GrowingLedger(args);
  if (args.volunteers > 0) ManyVolunteers(args);
  return 0;
}
