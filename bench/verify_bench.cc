// verify_bench: how fast Verify checks a whole log, against the floor in the same run: a raw
// RocksDB iterator scan of the `events` column family with XXH3 over each value (reading and
// checksumming the same bytes, and nothing else). Budget (DESIGN §8): verify ≥ 1M events/s.
//
// Usage: verify_bench [--events N] [--dir DIR] [--runs R] [--threads T]
//   --events N   events in the log (default 1000000): redemptions and market sales of 150–250
//                bytes, appended in batches of 4096
//   --dir DIR    build the log in DIR, or reuse it when DIR already holds exactly N events (so
//                `mulin --db DIR verify` can be timed on the same log); default: a temporary
//                directory removed at exit
//   --runs R     runs of each measurement (default 3); the table shows median, min and max
//   --threads T  Verify's worker threads (default 2, as `mulin verify` uses)
//
// Besides events/s of wall time the table shows CPU microseconds per event (all threads): on a
// shared machine wall time includes waiting for a core, while CPU time is the cost itself, so
// events/s on N idle cores is about N / (cpu us/ev) million.
#include <capnp/message.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "bench/log_dir.h"
#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/store.h"
#include "ledger/verify.h"

namespace mulin::bench {
namespace {

constexpr uint64_t kDefaultEvents = 1000000;
constexpr size_t kAppendBatchRecords = 4096;
constexpr int kRunsMax = 99;
// The scan reads sequentially, as LogCursor does; the same readahead keeps the comparison fair.
constexpr size_t kScanReadaheadBytes = 2 * 1024 * 1024;

struct Args {
  uint64_t events = kDefaultEvents;
  std::string dir;
  int runs = 3;
  int threads = 2;
};

const char* const kCommunities[] = {"yangjiamen", "xishan", "shuanggang"};

// A redemption at a merchant's terminal (7 in 10 events) or a market sale with its contribution.
std::string RealisticPayload(uint64_t seq) {
  capnp::MallocMessageBuilder message;
  auto event = message.initRoot<schema::Event>();
  const std::string community = kCommunities[seq % 3];
  const uint64_t merchant = seq * 7919 % 240;
  const std::string terminal = "T-" + community + "-" + std::to_string(merchant % 4 + 1);
  event.setSeq(seq);
  event.setRecordedAtUs(1717200000000000 + static_cast<int64_t>(seq) * 1500);
  event.setActorId(terminal);
  event.setCommunityId(community);
  event.setRequestId(terminal + "-" + std::to_string(seq * 31 + 100000));
  if (seq % 10 < 7) {
    auto body = event.getBody().initPointsRedeemed();
    body.setRedemptionId("RD-" + std::to_string(seq + 200000));
    body.setVolunteerId("V" + std::to_string(10000 + seq * 104729 % 90000));
    body.setMerchantId("M" + std::to_string(100 + merchant));
    body.setTerminalId(terminal);
    body.setPoints(static_cast<int64_t>(seq % 120) + 5);
  } else {
    const int64_t gross_fen = static_cast<int64_t>(seq * 2654435761 % 500000) + 100;
    auto body = event.getBody().initSaleRecorded();
    body.setSaleId("SL-" + std::to_string(seq + 500000));
    body.setMerchantId("M" + std::to_string(100 + merchant));
    body.setGrossFen(gross_fen);
    body.setContributionRateBps(1000);
    body.setContributionFen((gross_fen * 1000 + 5000) / 10000);
  }
  return ledger::EncodeMessage(message);
}

bool ParseArgs(int argc, char** argv, Args* args) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return false;
    const char* value = argv[++i];
    if (flag == "--events") {
      args->events = std::strtoull(value, nullptr, 10);
    } else if (flag == "--dir") {
      args->dir = value;
    } else if (flag == "--runs") {
      args->runs = std::atoi(value);
    } else if (flag == "--threads") {
      args->threads = std::atoi(value);
    } else {
      return false;
    }
  }
  return args->events > 0 && args->runs >= 1 && args->runs <= kRunsMax && args->threads >= 1;
}

// Appends events up to `events`, reporting the payload bytes written.
Status BuildLog(ledger::EventLog* log, uint64_t events, uint64_t* payload_bytes) {
  std::vector<std::string> batch;
  while (log->head().seq < events) {
    const uint64_t first = log->head().seq + 1;
    const uint64_t last = std::min(events, first + kAppendBatchRecords - 1);
    batch.clear();
    for (uint64_t seq = first; seq <= last; ++seq) {
      batch.push_back(RealisticPayload(seq));
      *payload_bytes += batch.back().size();
    }
    MULIN_RETURN_IF_ERROR(log->Append(batch, {}));
  }
  return Status::Ok();
}

// XXH3 over every value of [from, to) of the `events` family; returns values seen.
uint64_t ScanRange(const ledger::Store& store, uint64_t from, uint64_t to, uint64_t* digest) {
  rocksdb::ReadOptions options;
  options.verify_checksums = true;
  options.fill_cache = false;
  options.readahead_size = kScanReadaheadBytes;
  const std::string upper = ledger::EncodeSeqKey(to);
  rocksdb::Slice upper_bound(upper);
  options.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(options, store.events()));
  uint64_t seen = 0;
  uint64_t acc = 0;
  for (it->Seek(ledger::EncodeSeqKey(from)); it->Valid(); it->Next()) {
    acc ^= XXH3_64bits(it->value().data(), it->value().size());
    ++seen;
  }
  *digest = acc;
  return it->status().ok() ? seen : 0;
}

uint64_t RawScan(const ledger::Store& store, uint64_t events, int threads) {
  const uint64_t per_thread = (events + threads - 1) / threads;
  std::vector<uint64_t> seen(threads), digests(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    const uint64_t from = 1 + t * per_thread;
    const uint64_t to = std::min(events + 1, from + per_thread);
    workers.emplace_back([&, t, from, to] { seen[t] = ScanRange(store, from, to, &digests[t]); });
  }
  for (std::thread& worker : workers) worker.join();
  uint64_t total = 0;
  for (uint64_t n : seen) total += n;
  return total;
}

struct Row {
  std::string name;
  std::vector<Sample> samples;  // sorted by wall time
};

// Runs `measure` `runs` times; each returns the events it covered, which must be `events`.
Row Measure(const std::string& name, int runs, uint64_t events,
            const std::function<uint64_t()>& measure) {
  Row row{name, {}};
  for (int run = 0; run < runs; ++run) row.samples.push_back(TimeOverEvents(name, events, measure));
  std::sort(row.samples.begin(), row.samples.end());
  return row;
}

void PrintTable(const std::vector<Row>& rows, uint64_t events) {
  std::printf("%-30s %12s %12s %12s %9s %12s\n", "measure", "median ev/s", "min ev/s", "max ev/s",
              "median s", "cpu us/ev");
  for (const Row& row : rows) {
    const Sample& median = row.samples[row.samples.size() / 2];
    std::printf("%-30s %12.0f %12.0f %12.0f %9.3f %12.3f\n", row.name.c_str(),
                events / median.wall_s, events / row.samples.back().wall_s,
                events / row.samples.front().wall_s, median.wall_s, median.cpu_s * 1e6 / events);
  }
  std::printf("(cpu us/ev: CPU time of all threads per event in the median run)\n");
}

int Fail(const Status& status) {
  std::fprintf(stderr, "verify_bench: %s\n", status.ToString().c_str());
  return 1;
}

int Run(const Args& args) {
  Result<std::unique_ptr<LogDir>> opened = OpenLogDir(args.dir, "verify-bench", args.events);
  if (!opened.ok()) return Fail(opened.status());
  LogDir& l = **opened;
  uint64_t payload_bytes = 0;
  double build_s = 0;
  Status built = l.Build(
      [&](ledger::EventLog* log) { return BuildLog(log, args.events, &payload_bytes); }, &build_s);
  if (!built.ok()) return Fail(built);
  std::printf("verify_bench: %llu events in %s, %d runs each\n",
              static_cast<unsigned long long>(args.events), l.dir.c_str(), args.runs);
  if (l.existing == 0) {
    std::printf("built in %.1f s (%.0f events/s), average payload %.0f bytes\n", build_s,
                args.events / build_s, static_cast<double>(payload_bytes) / args.events);
  }
  ledger::VerifyOptions options;
  options.threads = args.threads;
  std::vector<Row> rows;
  rows.push_back(
      Measure("Verify (" + std::to_string(args.threads) + " threads)", args.runs, args.events, [&] {
        Result<ledger::VerifyReport> report = ledger::Verify(*l.log, options);
        return report.ok() && report->problem.ok() ? report->records_checked : 0;
      }));
  std::vector<int> scan_threads = {1};
  if (args.threads > 1) scan_threads.push_back(args.threads);
  for (int threads : scan_threads) {
    rows.push_back(Measure("raw scan + XXH3 (" + std::to_string(threads) + " threads)", args.runs,
                           args.events, [&] { return RawScan(*l.store, args.events, threads); }));
  }
  PrintTable(rows, args.events);
  return 0;
}

}  // namespace
}  // namespace mulin::bench

int main(int argc, char** argv) {
  mulin::bench::Args args;
  if (!mulin::bench::ParseArgs(argc, argv, &args)) {
    std::fprintf(stderr, "usage: verify_bench [--events N] [--dir DIR] [--runs R] [--threads T]\n");
    return 2;
  }
  return mulin::bench::Run(args);
}
