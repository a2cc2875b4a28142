// Engine: keeps a set of projections caught up with the event log.
//
// Rows of every projection live in one RowStore (the ledger's `projections` column family, or
// scratch space):
//   key        := name 0x00                    → checkpoint
//               | name 0x01 row_key            → a row; row_key's grammar is in each projection
//   name       := the projection's name ("balances", "audit", "fund", "orders"; no 0x00 byte)
//   checkpoint := seq: fixed64 LE  chain: u8[32]
//                 (the last event folded in, and that record's chain hash: a checkpoint that names
//                 a record the log no longer holds means the log was rewritten or the checkpoint
//                 moved)
// A projection without a checkpoint row is at seq 0: empty.
//
// CatchUp folds events checkpoint+1..target in batches; each batch's rows and the checkpoints of
// the projections it advanced are committed in one RowBatch (one RocksDB WriteBatch), so every
// event is applied exactly once, even when the process dies mid-batch: the batch is lost whole and
// redone from the old checkpoint.
// Into a memory store (MemoryRowStore) the fold changes the store's rows as it goes instead of
// copying them at each commit; a catch-up that fails part way there leaves the store refusing
// every later call with that failure (RowStore::FailFold), since its rows then hold part of a
// batch. Thread-safety: one thread at a time per engine; the store must not be committed to by
// anyone else meanwhile, and a memory store not read either. Ownership: borrows the store and the
// projections.
#ifndef MULIN_PROJECTIONS_ENGINE_H_
#define MULIN_PROJECTIONS_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/status.h"
#include "projections/projection.h"
#include "projections/row_store.h"

namespace mulin::projections {
namespace internal {
class BatchCommitter;
}  // namespace internal

// Events folded per committed batch: large enough to amortise a commit, small enough that a
// batch's pending rows stay a few MiB.
inline constexpr size_t kBatchEventsMax = 8192;
// A batch also ends when its pending rows reach this many bytes (keys and values).
inline constexpr size_t kBatchBytesMax = 32u << 20;
inline constexpr uint64_t kProgressIntervalEvents = 65536;

struct Checkpoint {
  uint64_t seq = 0;
  ledger::ChainHash chain = ledger::kGenesisChain;
  bool operator==(const Checkpoint& other) const {
    return seq == other.seq && chain == other.chain;
  }
};

struct CatchUpOptions {
  uint64_t to_seq = 0;  // fold through this seq; 0 = the log's head when CatchUp starts
  size_t batch_events_max = kBatchEventsMax;
  size_t batch_bytes_max = kBatchBytesMax;
  // The rows kept across batches (projection.h); past this they are forgotten after a commit.
  size_t row_cache_bytes_max = kRowCacheBytesMax;
  // Refuse to extend a projection whose checkpoint names a record the log does not hold
  // (kCorruption). Reconcile turns this off to fold anyway and list what then differs.
  bool check_chain = true;
  // Called with (seq folded, target seq) about every progress_interval_events events.
  std::function<void(uint64_t, uint64_t)> progress;
  uint64_t progress_interval_events = kProgressIntervalEvents;
};

struct CatchUpStats {
  uint64_t events = 0;   // events decoded and folded
  uint64_t batches = 0;  // batches committed
};

// Key helpers of the layout above.
std::string CheckpointKey(std::string_view name);
std::string RowPrefix(std::string_view name);
std::string EncodeCheckpoint(const Checkpoint& checkpoint);
bool DecodeCheckpoint(std::string_view value, Checkpoint* checkpoint);

// The chain hash the log holds for `seq` (the genesis chain for seq 0).
Result<ledger::ChainHash> ChainAt(const ledger::EventLog& log, uint64_t seq);

class Engine {
 public:
  Engine(RowStore* store, std::vector<Projection*> projections);

  Result<Checkpoint> ReadCheckpoint(std::string_view name) const;
  // Folds every projection from its checkpoint through options.to_seq.
  Result<CatchUpStats> CatchUp(const ledger::EventLog& log, const CatchUpOptions& options);
  // Deletes a projection's rows and checkpoint, atomically: the next CatchUp rebuilds it from 1.
  Status Drop(std::string_view name);
  // From now on each CatchUp into a RocksDB store hands the rows it read and changed (up to
  // options.row_cache_bytes_max) to the next, which then reads only rows it has not seen from the
  // store: a follower catching up every few milliseconds reads each row once, not once per
  // catch-up. Only for an engine that is the one writer of its store for as long as it lives (the
  // serving process's follower): a row someone else changed would be folded from the value kept
  // here. A failed CatchUp and Drop forget what was kept.
  void KeepRowsBetweenCatchUps() { keep_rows_ = true; }

  const std::vector<Projection*>& projections() const { return projections_; }
  RowStore* store() const { return store_; }

 private:
  Status CheckStart(const ledger::EventLog& log, const CatchUpOptions& options, uint64_t target,
                    const std::vector<Checkpoint>& checkpoints) const;
  // The fold of CatchUp once its checkpoints are read and checked.
  Result<CatchUpStats> Fold(const ledger::EventLog& log, const CatchUpOptions& options,
                            uint64_t from, uint64_t target, std::vector<Checkpoint>* checkpoints,
                            PendingRows* pending);
  // Commits the batch folded so far: through `committer` when there is one, else here.
  Status CommitBatch(PendingRows* pending, const std::vector<Checkpoint>& checkpoints,
                     const std::vector<bool>& advanced, size_t row_cache_bytes_max,
                     internal::BatchCommitter* committer);

  RowStore* store_;
  std::vector<Projection*> projections_;
  bool keep_rows_ = false;
  std::unique_ptr<PendingRows> kept_rows_;  // from the last CatchUp, when keep_rows_
};

}  // namespace mulin::projections

#endif  // MULIN_PROJECTIONS_ENGINE_H_
