// Reconcile: the nightly check that the stored projections say what the log says.
//
// It rebuilds every standard projection from seq 1 into scratch space (a temporary RocksDB, so a
// ledger of any size fits), brings a read-only view of the stored projections up to the head (in
// memory, over the stored rows), compares the two row by row, checks DESIGN §2's invariants
// (invariants.h) and runs the chain check (ledger/verify.h). It works on a ledger opened
// read-only, also while `mulin serve` holds it.
// Thread-safety: Reconcile may run beside the writer; it reconciles the head it saw at start.
#ifndef MULIN_PROJECTIONS_RECONCILE_H_
#define MULIN_PROJECTIONS_RECONCILE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "ledger/event_log.h"
#include "ledger/status.h"
#include "projections/differences.h"
#include "projections/row_store.h"

namespace mulin::projections {

struct ReconcileOptions {
  std::string scratch_parent_dir;  // where the scratch database goes; "" = $TMPDIR or /tmp
  size_t differences_max = kDifferencesListedMax;
  // Called during the long phases with (phase, done, total): "verify", "rebuild", and "catch-up"
  // (the stored rows, when they lag the head).
  std::function<void(const char*, uint64_t, uint64_t)> progress;
};

struct ReconcileReport {
  ledger::Head head;                    // the head reconciled
  uint64_t events_replayed = 0;         // events folded into scratch
  uint64_t rows_compared = 0;           // stored and rebuilt rows compared
  Status chain;                         // the chain check's first problem, or ok
  std::vector<Difference> differences;  // the first differences_max of them
  uint64_t differences_total = 0;
  bool ok() const { return chain.ok() && differences_total == 0; }
};

// `stored` holds the stored projections (ledger::Store::projections_db); it is only read.
// An error means reconciliation could not run (I/O); everything it found is in the report.
Result<ReconcileReport> Reconcile(const ledger::EventLog& log, const RowStore& stored,
                                  const ReconcileOptions& options);

}  // namespace mulin::projections

#endif  // MULIN_PROJECTIONS_RECONCILE_H_
