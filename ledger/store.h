// Store: the one RocksDB database behind a ledger and its column families.
//
// Column families (each one's key layout is written where it is used):
//   events      — the log (ledger/record_format.h)
//   requests    — request-id index (ledger/event_log.h)
//   meta        — head and format version (ledger/event_log.h)
//   snapshots   — writer state snapshots (ledger/snapshot.h)
//   projections — read-side rows and checkpoints, one key prefix per projection (projections/)
//   receipts    — the writer's index of redemptions and market sales (ledger/receipt_index.h)
//
// Ownership: Store owns the rocksdb::DB and its handles; everything else borrows them and must not
// outlive the Store. Thread-safety: all methods are safe to call from several threads.
#ifndef MULIN_LEDGER_STORE_H_
#define MULIN_LEDGER_STORE_H_

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace mulin::ledger {

// A file in the ledger directory that `mulin serve` writes with its listen address while it runs,
// so that a writer refused the lock can say where the ledger is served.
inline constexpr const char* kServingFile = "SERVING";

struct StoreOptions {
  // Read-only opens do not take RocksDB's lock, so they work while `mulin serve` holds the ledger;
  // they read a pin of its files, so that its flushes and compactions cannot tear their view.
  bool read_only = false;
  // Create an empty ledger when `dir` holds none. Ignored for read-only opens.
  bool create_if_missing = true;
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* events() const { return handles_[kEvents]; }
  rocksdb::ColumnFamilyHandle* requests() const { return handles_[kRequests]; }
  rocksdb::ColumnFamilyHandle* meta() const { return handles_[kMeta]; }
  rocksdb::ColumnFamilyHandle* snapshots() const { return handles_[kSnapshots]; }
  // The stored projections' rows live in a RocksDB database of their own, in <dir>/projections:
  // RocksDB writes one batch at a time per database, and a catch-up's batch of rows (about 1 MB,
  // 15-40 ms of writing under load) held up every append of the ledger queued behind it
  // (bench/RESULTS.md §3). The rows are derived from the log and carry their own checkpoints, so
  // nothing needs the two to commit together. A read-only open of a ledger that has no rows yet
  // gets an empty database in memory.
  rocksdb::DB* projections_db() const { return rows_db_.get(); }
  rocksdb::ColumnFamilyHandle* projections() const { return rows_db_->DefaultColumnFamily(); }
  // Null only in a read-only open of a ledger written before the family existed; writable opens
  // create it.
  rocksdb::ColumnFamilyHandle* receipts() const { return handles_[kReceipts]; }
  bool read_only() const { return read_only_; }
  const std::string& dir() const { return dir_; }

  // Writes `batch` atomically. `sync` = true waits for the WAL to reach the disk (fsync): a crash
  // after return loses nothing. sync = false may lose the batch on a machine crash, never tear it.
  Status Write(rocksdb::WriteBatch* batch, bool sync);
  // Writes `batch` atomically past the WAL, for what the log can rebuild (snapshots): it reaches
  // the disk when its families' memtables are flushed (FlushInBackground, or a clean close, which
  // flushes whatever the WAL does not hold), and a crash before that loses it whole.
  Status WriteUnlogged(rocksdb::WriteBatch* batch);
  // Has RocksDB's flush thread write `family`'s memtable to a table file; returns without waiting.
  Status FlushInBackground(rocksdb::ColumnFamilyHandle* family);

  // Reads `keys` of `family` (bytewise ordered, as every family here is) with one MultiGet, sorting
  // them first; `values` and `statuses` come back in the order of `keys`. Left to sort them itself,
  // RocksDB compares through its comparator's virtual calls: 1.9k instructions a key in groups of
  // 3,000, a tenth of the writer thread (callgrind); this sort compares two words a key.
  void MultiGet(rocksdb::ColumnFamilyHandle* family, const std::vector<rocksdb::Slice>& keys,
                std::vector<rocksdb::PinnableSlice>* values,
                std::vector<rocksdb::Status>* statuses) const;

 private:
  enum Family {
    kDefault,
    kEvents,
    kRequests,
    kMeta,
    kSnapshots,
    kLegacyProjections,  // where rows were kept before they had a database of their own
    kReceipts,
    kFamilyCount
  };
  Store() = default;

  std::string dir_;
  bool read_only_ = false;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned through db_; freed in ~Store
  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<rocksdb::Env> rows_env_;  // the in-memory Env of an empty read-only rows db
  std::unique_ptr<rocksdb::DB> rows_db_;
};

// Translates a RocksDB status into ours, once, at the boundary. `context` says what was attempted.
Status FromRocks(const rocksdb::Status& status, std::string_view context);

}  // namespace mulin::ledger

#endif  // MULIN_LEDGER_STORE_H_
