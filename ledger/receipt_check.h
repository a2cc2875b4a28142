// Receipt check: the nightly proof that the writer's receipt index (ledger/receipt_index.h) says
// what the log says.
// Thread-safety: reads only; run it on a ledger opened read-only, whose view does not move.
#ifndef MULIN_LEDGER_RECEIPT_CHECK_H_
#define MULIN_LEDGER_RECEIPT_CHECK_H_

#include <cstdint>

#include "ledger/event_log.h"
#include "ledger/status.h"
#include "ledger/store.h"

namespace mulin::ledger {

struct ReceiptCheck {
  bool indexed = false;      // the ledger has an index (an older one gets it at a writable open)
  uint64_t through_seq = 0;  // the index's marker: the events it covers
  uint64_t receipts = 0;     // entries that matched the log
  Status problem;            // ok, or the first disagreement (with its event's seq when it has one)
};

// The nightly check (`mulin reconcile`) that the index says what the log says, up to the index's
// marker: every redemption and sale has its entry with the same fields, reversed exactly at the seq
// of its reversal, and the index holds no other entry. The writer decides on these entries (a new
// id's uniqueness, a reversal), so an index that drifted from the log would let a wrong decision be
// chained into it. Meant for a ledger opened read-only, whose view does not move; reads every event
// up to the marker and every entry.
Result<ReceiptCheck> CheckReceiptIndex(Store* store, const EventLog& log);

}  // namespace mulin::ledger

#endif  // MULIN_LEDGER_RECEIPT_CHECK_H_
