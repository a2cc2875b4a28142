// Verify: checks a whole log end to end — every checksum, every chain link, every envelope, no gap,
// nothing past the head, the stored head equal to the last record — and optionally that the record
// at an auditor's checkpoint still carries the chain hash the auditor holds.
// Thread-safety: Verify may run while the log is appended to; it checks the head it saw at start.
#ifndef MULIN_LEDGER_VERIFY_H_
#define MULIN_LEDGER_VERIFY_H_

#include <cstdint>
#include <functional>
#include <optional>

#include "ledger/event_log.h"
#include "ledger/status.h"

namespace mulin::ledger {

struct VerifyOptions {
  std::optional<Head> expect;  // an auditor's checkpoint: seq and the chain hash at that seq
  // Worker threads; records are independent given each record's stored chain of its predecessor.
  int threads = 2;
  // Called from the calling thread about every progress_interval_ms with (checked, total).
  std::function<void(uint64_t, uint64_t)> progress;
  int progress_interval_ms = 200;
};

struct VerifyReport {
  Head head;                     // the stored head
  uint64_t records_checked = 0;  // records whose checks all passed
  Status problem;                // ok when clean; else names the first bad seq (problem.seq())
  bool expect_checked = false;   // an expectation was given and it held
};

// Returns an error only when the check itself could not run (I/O); integrity problems are in the
// report.
Result<VerifyReport> Verify(const EventLog& log, const VerifyOptions& options);

}  // namespace mulin::ledger

#endif  // MULIN_LEDGER_VERIFY_H_
