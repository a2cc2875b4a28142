// As-of views: which seq an instant corresponds to, and projections built as of a past seq into
// scratch memory (the stored projections are never touched, so this works on a read-only ledger).
// Thread-safety: pure functions over a log, safe beside the writer.
#ifndef MULIN_PROJECTIONS_AS_OF_H_
#define MULIN_PROJECTIONS_AS_OF_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/status.h"
#include "projections/projection.h"
#include "projections/row_store.h"

namespace mulin::projections {

// The last seq recorded strictly before `time_us` (0 when there is none), so that "as of T" means
// the same as a period ending at T. The ledger clock never goes backwards, so a binary search over
// seq finds it reading about log2(head) records.
Result<uint64_t> SeqBefore(const ledger::EventLog& log, int64_t time_us);

// Folds events 1..seq into `projections`, whose rows go to `scratch` (which must hold none of
// theirs yet). `progress` is as in CatchUpOptions.
Status BuildAsOf(const ledger::EventLog& log, uint64_t seq,
                 const std::vector<Projection*>& projections, RowStore* scratch,
                 const std::function<void(uint64_t, uint64_t)>& progress = nullptr);

}  // namespace mulin::projections

#endif  // MULIN_PROJECTIONS_AS_OF_H_
