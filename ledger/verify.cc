#include "ledger/verify.h"

#include <rocksdb/snapshot.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <vector>

#include "ledger/event_codec.h"

namespace mulin::ledger {
namespace {

constexpr int kVerifyThreadsMax = 16;
constexpr uint64_t kProgressStepRecords = 4096;

// Checks records [from, to] as of `snapshot`; the record before `from` (when from > 1) seeds the
// chain link and the clock check. Returns the first problem, or ok.
Status VerifyRange(const EventLog& log, const rocksdb::Snapshot* snapshot, uint64_t from,
                   uint64_t to, std::atomic<uint64_t>* checked) {
  ChainHash previous_chain = kGenesisChain;
  int64_t previous_time_us = INT64_MIN;
  // One checker per range: it reuses its buffer, so checking an event allocates nothing.
  EventChecker checker;
  std::unique_ptr<LogCursor> cursor = log.NewCursorAt(snapshot, from > 1 ? from - 1 : 1, to);
  if (from > 1 && cursor->Valid()) {
    previous_chain = cursor->chain();
    Result<int64_t> time_us = checker.Check(cursor->payload(), cursor->seq());
    if (time_us.ok()) previous_time_us = *time_us;
    cursor->Next();
  }
  uint64_t pending = 0;
  for (; cursor->Valid(); cursor->Next()) {
    const uint64_t seq = cursor->seq();
    if (ComputeChain(previous_chain, seq, cursor->payload()) != cursor->chain()) {
      return Status::Corruption("record " + std::to_string(seq) +
                                    ": chain break (the record or its predecessor was rewritten)",
                                seq);
    }
    Result<int64_t> checked_time_us = checker.Check(cursor->payload(), seq);
    if (!checked_time_us.ok()) return checked_time_us.status();
    const int64_t time_us = *checked_time_us;
    if (time_us < previous_time_us) {
      return Status::Corruption("record " + std::to_string(seq) + ": ledger clock goes backwards",
                                seq);
    }
    previous_chain = cursor->chain();
    previous_time_us = time_us;
    if (++pending == kProgressStepRecords) {
      checked->fetch_add(pending, std::memory_order_relaxed);
      pending = 0;
    }
  }
  checked->fetch_add(pending, std::memory_order_relaxed);
  return cursor->status();
}

// A record stored past the head was written without the head, or planted. `snapshot` is the one
// the head was read at: records appended since then are not past it.
Status CheckNothingPastHead(const EventLog& log, uint64_t head_seq,
                            const rocksdb::Snapshot* snapshot) {
  Store* store = log.store();
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot;
  std::unique_ptr<rocksdb::Iterator> it(store->db()->NewIterator(read_options, store->events()));
  it->SeekToLast();
  if (!it->status().ok()) return FromRocks(it->status(), "finding the last record");
  if (!it->Valid()) return Status::Ok();
  uint64_t last = 0;
  if (!DecodeSeqKey(std::string_view(it->key().data(), it->key().size()), &last)) {
    return Status::Corruption("malformed key at the end of the log", head_seq + 1);
  }
  if (last > head_seq) {
    return Status::Corruption("record " + std::to_string(last) + " is stored past the head (seq " +
                                  std::to_string(head_seq) + ")",
                              head_seq + 1);
  }
  return Status::Ok();
}

Status CheckExpectation(const EventLog& log, const rocksdb::Snapshot* snapshot, const Head& expect,
                        uint64_t head_seq) {
  const std::string what =
      "checkpoint " + std::to_string(expect.seq) + ":" + HexEncode(expect.chain);
  if (expect.seq == 0) {
    return expect.chain == kGenesisChain
               ? Status::Ok()
               : Status::Corruption(what + " does not match the empty log's chain", 1);
  }
  if (expect.seq > head_seq) {
    return Status::Corruption(
        what + " is past the head (seq " + std::to_string(head_seq) + "): history was truncated",
        head_seq + 1);
  }
  std::unique_ptr<LogCursor> cursor = log.NewCursorAt(snapshot, expect.seq, expect.seq);
  if (!cursor->Valid()) return cursor->status();
  if (cursor->chain() != expect.chain) {
    return Status::Corruption(what + " does not match: history up to it was rewritten", expect.seq);
  }
  return Status::Ok();
}

}  // namespace

Result<VerifyReport> Verify(const EventLog& log, const VerifyOptions& options) {
  VerifyReport report;
  // The head, the records and the search past it are all read at one snapshot: a writer appending
  // meanwhile moves records and head together, and Verify checks the log as it was when it
  // started. (Not the log's head(): it is set after an append lands, so it can lag the stored
  // head, and cursors bounded by it stopped short of records the stored head covers.)
  rocksdb::ManagedSnapshot snapshot(log.store()->db());
  Result<Head> stored = log.ReadStoredHead(snapshot.snapshot());
  if (!stored.ok()) {
    report.problem = stored.status();
    return report;
  }
  report.head = *stored;
  const uint64_t total = report.head.seq;
  const int threads = std::clamp<int>(options.threads, 1, kVerifyThreadsMax);
  const uint64_t per_thread = (total + threads - 1) / std::max<uint64_t>(threads, 1);

  std::atomic<uint64_t> checked{0};
  std::vector<std::future<Status>> workers;
  for (uint64_t from = 1; from <= total; from += per_thread) {
    const uint64_t to = std::min(total, from + per_thread - 1);
    workers.push_back(std::async(std::launch::async, VerifyRange, std::cref(log),
                                 snapshot.snapshot(), from, to, &checked));
  }
  std::vector<Status> problems;
  bool ranges_clean = true;
  for (std::future<Status>& worker : workers) {
    while (worker.wait_for(std::chrono::milliseconds(options.progress_interval_ms)) !=
           std::future_status::ready) {
      if (options.progress) options.progress(checked.load(std::memory_order_relaxed), total);
    }
    problems.push_back(worker.get());
    ranges_clean = ranges_clean && problems.back().ok();
  }
  problems.push_back(CheckNothingPastHead(log, report.head.seq, snapshot.snapshot()));
  if (ranges_clean && total > 0) {
    // The last record's own chain is checked against the stored head separately from the links.
    std::unique_ptr<LogCursor> last = log.NewCursorAt(snapshot.snapshot(), total, total);
    if (last->Valid() && last->chain() != report.head.chain) {
      problems.push_back(Status::Corruption(
          "stored head chain hash does not match record " + std::to_string(total), total));
    }
  }
  if (options.expect) {
    Status expect_status =
        CheckExpectation(log, snapshot.snapshot(), *options.expect, report.head.seq);
    report.expect_checked = expect_status.ok();
    problems.push_back(expect_status);
  }
  report.records_checked = checked.load();
  for (const Status& problem : problems) {
    if (problem.ok()) continue;
    if (problem.code() != Code::kCorruption) return problem;  // the check itself failed
    if (report.problem.ok() || problem.seq() < report.problem.seq()) report.problem = problem;
  }
  if (options.progress) options.progress(report.records_checked, total);
  return report;
}

}  // namespace mulin::ledger
