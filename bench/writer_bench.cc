// writer_bench: the write path against raw RocksDB in the same run (DESIGN §8).
//   1. durable appends through the writer (pipelined redemptions, one event each) vs raw RocksDB
//      WriteBatch(sync=true) in batches of the writer's mean group size, of the log records alone
//      and of every key the writer stored (records, request-index entries, receipts);
//   2. redemptions through the writer from T closed-loop client threads: throughput and
//      p50/p99/p999 latency of Execute(), and its floor: the same threads and commands handed to
//      one thread that only appends them with one fdatasync a group (bench/handoff_floor.h).
// Budgets: ≥ 250k appends/s and ≥ 0.6× raw; ≥ 150k redemptions/s from 64 threads, p99 ≤ 5 ms.
//
// Usage: writer_bench [--events N] [--threads T] [--runs R]
//   --events N   events per run of each workload (default 200000)
//   --threads T  client threads of workload 2 (default 64)
//   --runs R     runs of each workload (default 3); rows show median, min and max
//   --appends-only 1   workload 1's appends and their CPU rows alone (no baselines, no
//                      workload 2): for alternated pairs and profiles of the write path
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <thread>

#include "bench/bench_ledger.h"
#include "bench/bench_util.h"
#include "bench/handoff_floor.h"
#include "bench/workloads.h"
#include "ledger/event_log.h"
#include "ledger/receipt_index.h"
#include "ledger/record_format.h"
#include "ledger/writer.h"
#include "tests/support/commands.h"

namespace mulin::bench {
namespace {

struct Args {
  uint64_t events = 200000;
  int threads = 64;
  int runs = 3;
  bool appends_only = false;  // workload 1's appends alone: no baselines, no workload 2
};

// A row of the table, left out when its workload did not run.
void Row(const std::string& name, const std::vector<double>& runs, const char* unit,
         const std::string& note = "") {
  if (!runs.empty()) PrintRow(name, SpreadOf(runs), unit, note);
}

// The process's CPU per command while `loop` ran (all of it, and the kernel's part), appended to
// `cpu_us` and `sys_us`; returns what `loop` returned.
double PerCommandCpu(uint64_t commands, const std::function<double()>& loop,
                     std::vector<double>* cpu_us, std::vector<double>* sys_us) {
  const double cpu_before = ProcessCpuSeconds();
  const double sys_before = ProcessSystemSeconds();
  const double result = loop();
  cpu_us->push_back((ProcessCpuSeconds() - cpu_before) * 1e6 / commands);
  sys_us->push_back((ProcessSystemSeconds() - sys_before) * 1e6 / commands);
  return result;
}

using Entry = std::pair<std::string, std::string>;

// What the writer stored for one event: its log record, its request-index entry, its receipt.
struct StoredEvent {
  Entry record, request, receipt;
};

// The keys and values the writer stored for events from_seq..from_seq+events-1, read once for both
// baselines below, and the stored head's value.
struct Stored {
  std::vector<StoredEvent> events;
  std::string head;
};

Stored ReadStored(const BenchLedger& source, uint64_t from_seq, uint64_t events) {
  Stored stored;
  stored.events.resize(events);
  rocksdb::DB* db = source.store->db();
  rocksdb::ReadOptions read;
  // Every entry, in total order whatever prefix extractor a family may have: with the one the
  // request and receipt families had until 64c5f02, an iterator without it saw only the sought
  // prefix's keys in their memtables.
  read.total_order_seek = true;
  auto slot = [&](uint64_t seq) -> StoredEvent* {
    return seq >= from_seq && seq < from_seq + events ? &stored.events[seq - from_seq] : nullptr;
  };
  // Request and receipt keys are random, so those families are read whole; the log from from_seq.
  auto each = [&](rocksdb::ColumnFamilyHandle* family, const std::string& from, auto&& take) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read, family));
    for (it->Seek(from); it->Valid(); it->Next()) {
      if (!take(it->key().ToString(), it->value())) break;
    }
    Must(it->status().ok(), "reading what the writer stored");
  };
  each(source.store->events(), ledger::EncodeSeqKey(from_seq),
       [&](std::string key, rocksdb::Slice value) {
         uint64_t seq = 0;
         Must(ledger::DecodeSeqKey(key, &seq), "event key");
         StoredEvent* e = slot(seq);
         if (e != nullptr) e->record = {std::move(key), value.ToString()};
         return e != nullptr;
       });
  uint64_t requested_events = 0;  // every event appended is one of a request's events
  each(source.store->requests(), "", [&](std::string key, rocksdb::Slice value) {
    // first_seq: fixed64, then event_count: fixed32 (ledger/event_log.h)
    Must(value.size() >= 12, "request entry");
    StoredEvent* e = slot(ledger::GetFixed64(value.data()));
    if (e != nullptr) {
      e->request = {std::move(key), value.ToString()};
      requested_events += ledger::GetFixed32(value.data() + 8);
    }
    return true;
  });
  Must(requested_events == events, "the request index accounts for every event read back");
  for (const StoredEvent& e : stored.events) Must(!e.record.first.empty(), "every event's record");
  each(source.store->receipts(), "", [&](std::string key, rocksdb::Slice value) {
    auto receipt = ledger::DecodeReceipt(key, std::string_view(value.data(), value.size()));
    Must(receipt.ok(), "receipt entry");
    StoredEvent* e = slot(receipt->seq);
    if (e != nullptr) e->receipt = {std::move(key), value.ToString()};
    return true;
  });
  Must(db->Get(read, source.store->meta(), "head", &stored.head).ok(), "head");
  return stored;
}

// Workload 1, first baseline: the log records alone (the events family's keys and values), in
// synced WriteBatches of the writer's mean group size, into a default RocksDB.
double RawRocksDb(const Stored& stored, const std::string& dir, size_t batch) {
  std::filesystem::remove_all(dir);
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  Must(rocksdb::DB::Open(options, dir, &raw).ok(), "raw open");
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions write;
  write.sync = true;
  const std::vector<StoredEvent>& events = stored.events;
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < events.size(); i += batch) {
    rocksdb::WriteBatch wb;
    for (size_t k = i; k < std::min(events.size(), i + batch); ++k) {
      wb.Put(events[k].record.first, events[k].record.second);
    }
    Must(db->Write(write, &wb).ok(), "raw write");
  }
  const double rate = static_cast<double>(events.size()) / SecondsSince(start);
  db.reset();
  std::filesystem::remove_all(dir);
  return rate;
}

// Workload 1, second baseline: every key the writer wrote for those events, not the log records
// alone: each event's record, its request-index entry and its receipt, with the head and the
// receipt marker once per batch, in a ledger store of its own (the same column families and
// options), in synced WriteBatches of the writer's mean group size, each family's keys in the
// order the writer puts them (receipts, then records, then requests, each by event).
// What RocksDB alone costs for the ledger's writes, with none of the writer's work; `cpu_us`
// gets the process's CPU per event meanwhile (flushes included).
double RawRocksDbEveryKey(const Stored& stored, const std::string& dir, size_t batch,
                          double* cpu_us) {
  const std::vector<StoredEvent>& per = stored.events;
  const std::string marker(8, '\0');
  std::filesystem::remove_all(dir);
  auto store = ledger::Store::Open(dir, ledger::StoreOptions());
  Must(store.ok(), "raw open");
  ledger::Store& raw = **store;
  rocksdb::WriteOptions write;
  write.sync = true;
  const double cpu_before = ProcessCpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < per.size(); i += batch) {
    const size_t end = std::min(per.size(), i + batch);
    rocksdb::WriteBatch wb;
    for (size_t k = i; k < end; ++k) {
      if (!per[k].receipt.first.empty()) {
        wb.Put(raw.receipts(), per[k].receipt.first, per[k].receipt.second);
      }
    }
    wb.Put(raw.meta(), "receipts", marker);
    for (size_t k = i; k < end; ++k)
      wb.Put(raw.events(), per[k].record.first, per[k].record.second);
    for (size_t k = i; k < end; ++k) {
      if (!per[k].request.first.empty()) {
        wb.Put(raw.requests(), per[k].request.first, per[k].request.second);
      }
    }
    wb.Put(raw.meta(), "head", stored.head);
    const rocksdb::Status written = raw.db()->Write(write, &wb);
    Must(written.ok(), "raw write of every key: " + written.ToString());
  }
  // The rate is the writes'; the CPU includes closing, which flushes what the memtables hold.
  const double rate = static_cast<double>(per.size()) / SecondsSince(start);
  store->reset();
  *cpu_us = (ProcessCpuSeconds() - cpu_before) * 1e6 / static_cast<double>(per.size());
  std::filesystem::remove_all(dir);
  return rate;
}

void Run(const Args& args) {
  std::vector<double> mulin_rates, raw_rates, ratio, every_rates, every_ratio, every_cpu,
      closed_rates, p50, p99, p999;
  std::vector<double> writer_cpu, commit_cpu, submit_cpu, rocks_cpu, all_cpu, closed_cpu,
      closed_sys, closed_writer_cpu, closed_commit_cpu, floor_rates, floor_p99, floor_cpu,
      floor_sys, of_floor, append_groups, closed_groups;
  // The submitting thread is the main one, named after the binary: a renamed copy (as alternated
  // pairs of two builds use) must still find it.
  std::string submitter;
  StatCpuSeconds("/proc/self/stat", &submitter);
  for (int run = 0; run < args.runs; ++run) {
    if (!args.appends_only) {
      // Workload 2's floor, in the same run and first in it, while no ledger's RocksDB is busy
      // flushing what a workload wrote: the same threads and commands, no ledger.
      HandOffFloor floor(
          (std::filesystem::temp_directory_path() / ("mulin-bench-floor-" + std::to_string(run)))
              .string());
      std::vector<double> floor_latencies;
      floor_rates.push_back(PerCommandCpu(
          args.events,
          [&] {
            return ClosedLoopRedemptions(
                [&floor](std::string command) { floor.Execute(std::move(command)); }, args.events,
                args.threads, "f", &floor_latencies);
          },
          &floor_cpu, &floor_sys));
      floor_p99.push_back(Percentile(&floor_latencies, 0.99) * 1000.0);
    }
    auto l = OpenBenchLedger("writer-" + std::to_string(run));
    const uint64_t first = l->log->head().seq + 1;
    double mean_group = 0;
    const auto threads_before = ThreadCpuByName();
    const double cpu_before = ProcessCpuSeconds();
    mulin_rates.push_back(PipelinedAppends(l->writer.get(), args.events, "p", &mean_group));
    const auto threads_after = ThreadCpuByName();
    all_cpu.push_back((ProcessCpuSeconds() - cpu_before) * 1e6 / args.events);
    writer_cpu.push_back(CpuUsPerEvent(threads_before, threads_after, "mulin-writer", args.events));
    commit_cpu.push_back(CpuUsPerEvent(threads_before, threads_after, "mulin-commit", args.events));
    submit_cpu.push_back(CpuUsPerEvent(threads_before, threads_after, submitter, args.events));
    rocks_cpu.push_back(CpuUsPerEvent(threads_before, threads_after, "rocksdb:*", args.events));
    append_groups.push_back(mean_group);
    if (args.appends_only) {
      std::fprintf(stderr, "run %d: mean group %.0f events\n", run + 1, mean_group);
      continue;
    }
    const size_t group = static_cast<size_t>(std::max(1.0, mean_group));
    const Stored stored = ReadStored(*l, first, args.events);
    raw_rates.push_back(RawRocksDb(stored, l->dir + "-raw", group));
    ratio.push_back(mulin_rates.back() / raw_rates.back() * 100.0);
    every_cpu.push_back(0);
    every_rates.push_back(
        RawRocksDbEveryKey(stored, l->dir + "-raw-every-key", group, &every_cpu.back()));
    every_ratio.push_back(mulin_rates.back() / every_rates.back() * 100.0);
    std::vector<double> latencies;
    const auto closed_threads_before = ThreadCpuByName();
    const ledger::WriterStats closed_before = l->writer->stats();
    closed_rates.push_back(PerCommandCpu(
        args.events,
        [&] {
          return ClosedLoopRedemptions(l->writer.get(), args.events, args.threads, "c", &latencies);
        },
        &closed_cpu, &closed_sys));
    const auto closed_threads_after = ThreadCpuByName();
    const ledger::WriterStats closed_after = l->writer->stats();
    closed_groups.push_back(
        static_cast<double>(closed_after.commands - closed_before.commands) /
        static_cast<double>(std::max<uint64_t>(1, closed_after.groups - closed_before.groups)));
    closed_writer_cpu.push_back(
        CpuUsPerEvent(closed_threads_before, closed_threads_after, "mulin-writer", args.events));
    closed_commit_cpu.push_back(
        CpuUsPerEvent(closed_threads_before, closed_threads_after, "mulin-commit", args.events));
    p50.push_back(Percentile(&latencies, 0.50) * 1000.0);
    p99.push_back(Percentile(&latencies, 0.99) * 1000.0);
    p999.push_back(Percentile(&latencies, 0.999) * 1000.0);
    of_floor.push_back(closed_rates.back() / floor_rates.back() * 100.0);
    std::fprintf(stderr, "run %d: mean group %.0f events\n", run + 1, mean_group);
  }
  PrintHeader();
  Row("1. durable appends through the writer", mulin_rates, "events/s", "budget >= 250000");
  Row("1. raw RocksDB WriteBatch(sync), log records", raw_rates, "events/s", "baseline");
  Row("1. writer / raw, log records", ratio, "%");
  Row("1. raw RocksDB WriteBatch(sync), every key", every_rates, "events/s",
      "baseline: records, requests, receipts");
  Row("1. writer / raw, every key", every_ratio, "%", "budget >= 60");
  Row("1. CPU per event: raw RocksDB, every key", every_cpu, "us");
  // Where workload 1's CPU goes, per event (CPU time, not wall time: the figures a second core
  // or a quieter machine would not change).
  Row("1. CPU per event: writer thread", writer_cpu, "us");
  Row("1. CPU per event: commit thread", commit_cpu, "us");
  Row("1. CPU per event: submitting thread", submit_cpu, "us");
  Row("1. CPU per event: RocksDB flush and compaction", rocks_cpu, "us");
  Row("1. CPU per event: whole process", all_cpu, "us");
  // Each group is one synced WriteBatch, whose CPU (section 0 of the table) its commands share.
  Row("1. events per synced group", append_groups, "events");
  Row("2. redemptions, " + std::to_string(args.threads) + " threads", closed_rates, "cmds/s",
      "budget >= 150000");
  Row("2. latency p50", p50, "us");
  Row("2. latency p99", p99, "us", "budget <= 5000");
  Row("2. latency p999", p999, "us");
  Row("2. CPU per command: whole process", closed_cpu, "us");
  Row("2. CPU per command: of which in the kernel", closed_sys, "us");
  Row("2. CPU per command: commit thread", closed_commit_cpu, "us");
  Row("2. CPU per command: writer thread", closed_writer_cpu, "us");
  Row("2. commands per synced group", closed_groups, "cmds");
  Row("2. floor: the same threads, a queue, one fdatasync a group", floor_rates, "cmds/s",
      "baseline: no ledger");
  Row("2. floor latency p99", floor_p99, "us");
  Row("2. floor CPU per command: whole process", floor_cpu, "us");
  Row("2. floor CPU per command: of which in the kernel", floor_sys, "us");
  Row("2. redemptions, " + std::to_string(args.threads) + " threads / floor", of_floor, "%");
}

}  // namespace
}  // namespace mulin::bench

int main(int argc, char** argv) {
  mulin::bench::Args args;
  // Every flag takes a value: a flag alone (--help) gets the usage.
  bool usage = argc % 2 == 0;
  for (int i = 1; !usage && i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const long long value = std::atoll(argv[i + 1]);
    if (flag == "--events" && value > 0)
      args.events = static_cast<uint64_t>(value);
    else if (flag == "--threads" && value > 0 && value <= 1024)
      args.threads = static_cast<int>(value);
    else if (flag == "--runs" && value > 0 && value < 100)
      args.runs = static_cast<int>(value);
    else if (flag == "--appends-only" && (value == 0 || value == 1))
      args.appends_only = value == 1;
    else {
      usage = true;
    }
  }
  if (usage) {
    std::fprintf(stderr,
                 "usage: writer_bench [--events N] [--threads T] [--runs R] [--appends-only 1]\n");
    return 2;
  }
  mulin::bench::Run(args);
  return 0;
}
