// BatchCommitter (internal to the engine): commits a catch-up's batches on a thread of its own,
// one at a time, while the fold goes on with the next batch. On two cores the row writes of a
// rebuild into RocksDB (sorting, the memtable, the write-ahead log) then overlap the fold instead
// of following it.
//
// Batches land in the order they are handed over, each whole or not at all (RowStore::Commit).
// Once one fails, no later one is committed: Hand and Wait return that failure, so the catch-up
// stops with its checkpoints at the last batch that landed, as a synchronous commit would.
// Thread-safety: Hand and Wait are called by one thread, the fold's; the store must allow Commit
// beside Get (RowStore::CommitsBesideReads). Ownership: borrows the store; the destructor lets the
// batch in flight land, then joins the thread.
#ifndef MULIN_PROJECTIONS_BATCH_COMMITTER_H_
#define MULIN_PROJECTIONS_BATCH_COMMITTER_H_

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "ledger/status.h"
#include "projections/row_store.h"

namespace mulin::projections::internal {

class BatchCommitter {
 public:
  explicit BatchCommitter(RowStore* store);
  ~BatchCommitter();
  BatchCommitter(const BatchCommitter&) = delete;
  BatchCommitter& operator=(const BatchCommitter&) = delete;

  // Waits for the batch in flight to land, then hands `batch` over. Not ok (and `batch` dropped)
  // when an earlier batch failed.
  Status Hand(RowBatch batch);
  // Waits until every batch handed over has landed: ok, or the first failure.
  Status Wait();

 private:
  void Run();

  RowStore* store_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::optional<RowBatch> next_;  // guarded by mu_: handed over, not yet taken
  bool busy_ = false;             // guarded by mu_: a batch is being committed
  bool stop_ = false;             // guarded by mu_
  Status failed_;                 // guarded by mu_: the first failure
  std::thread thread_;
};

}  // namespace mulin::projections::internal

#endif  // MULIN_PROJECTIONS_BATCH_COMMITTER_H_
