// RowStore: the sorted key-value space projection rows live in, and its three kinds.
//
//   RocksRowStore    — a RocksDB column family: the ledger's stored projections (the database
//                      in <ledger>/projections, ledger::Store::projections_db), or a scratch
//                      database (ScratchDb) that reconcile builds into and deletes afterwards.
//   MemoryRowStore   — a sorted map: scratch space for "as of seq N" builds.
//   OverlayRowStore  — writes land in memory on top of a read-only base, so a read-only ledger's
//                      stored projections can be caught up to the head without writing to it.
//
// Commit applies a RowBatch atomically: a reader sees all of it or none of it, and a crash leaves
// either all of it or none of it (RocksDB: one WriteBatch).
// Thread-safety: Get and iterators may run concurrently with each other; Commit needs exclusive
// access (one engine owns a store while it catches up). An iterator must not outlive its store,
// and a memory or overlay iterator must not be used across a Commit.
#ifndef MULIN_PROJECTIONS_ROW_STORE_H_
#define MULIN_PROJECTIONS_ROW_STORE_H_

#include <rocksdb/db.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/status.h"
#include "ledger/store.h"
#include "projections/fold_rows.h"

namespace mulin::projections {

class RowIterator {
 public:
  virtual ~RowIterator() = default;
  // Positions at the first key ≥ `target`.
  virtual void Seek(std::string_view target) = 0;
  virtual bool Valid() const = 0;
  virtual void Next() = 0;
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  // Not ok when iteration stopped on an error rather than at the end.
  virtual Status status() const = 0;
};

struct RowBatch {
  // Every row whose key starts with one of these is deleted before `puts` are applied.
  std::vector<std::string> drop_prefixes;
  std::vector<std::pair<std::string, std::string>> puts;
};

class RowStore {
 public:
  virtual ~RowStore() = default;
  // True and `*value` set when `key` exists.
  virtual Result<bool> Get(const std::string& key, std::string* value) const = 0;
  virtual std::unique_ptr<RowIterator> NewIterator() const = 0;
  // Takes the batch by value so that rows can be moved into memory stores without a copy.
  virtual Status Commit(RowBatch batch) = 0;
  // True when Commit may run on one thread while Get runs on another: a catch-up then commits each
  // batch on a thread of its own while it folds the next.
  virtual bool CommitsBesideReads() const { return false; }
  // A store in memory hands a catch-up its rows to fold into directly (engine.h): nothing is
  // copied per batch, and each row is held once instead of twice. Null for the other stores.
  virtual FoldRows* RowsToFoldInto() { return nullptr; }
  // Called when a fold into RowsToFoldInto() failed part way, leaving part of a batch in the rows
  // beside a checkpoint that does not cover it: from then on every call fails with `why`.
  virtual void FailFold(const Status& why) { (void)why; }
};

// Calls `visit(key, value)` for each row whose key starts with `prefix`, in key order, until it
// returns false.
Status ScanPrefix(const RowStore& store, std::string_view prefix,
                  const std::function<bool(std::string_view, std::string_view)>& visit);

class RocksRowStore final : public RowStore {
 public:
  // Borrows `db` and `family`. `write_options` are used for every Commit; a read-only store
  // refuses Commit.
  RocksRowStore(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
                const rocksdb::WriteOptions& write_options, bool read_only);
  // The stored projections of `store` (ledger::Store::projections_db), which it borrows.
  RocksRowStore(const ledger::Store& store, const rocksdb::WriteOptions& write_options,
                bool read_only)
      : RocksRowStore(store.projections_db(), store.projections(), write_options, read_only) {}
  Result<bool> Get(const std::string& key, std::string* value) const override;
  std::unique_ptr<RowIterator> NewIterator() const override;
  Status Commit(RowBatch batch) override;
  bool CommitsBesideReads() const override { return true; }

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* family_;
  rocksdb::WriteOptions write_options_;
  bool read_only_;
};

// Rows live in a hash map, which a fold (all point reads and writes) needs; the sorted order that
// scans need is built on the first NewIterator after a Commit. A catch-up folds straight into the
// map, so, like Commit, it needs the store to itself, and no iterator may be used across it.
class MemoryRowStore final : public RowStore {
 public:
  using Sorted = std::vector<const FoldRows::value_type*>;

  Result<bool> Get(const std::string& key, std::string* value) const override;
  std::unique_ptr<RowIterator> NewIterator() const override;
  Status Commit(RowBatch batch) override;
  FoldRows* RowsToFoldInto() override;
  void FailFold(const Status& why) override;
  size_t size() const { return rows_.size(); }

 private:
  FoldRows rows_;
  Status failed_;  // what a failed fold left; every call then fails with it
  mutable std::mutex sorted_mu_;
  mutable std::shared_ptr<const Sorted> sorted_;  // guarded by sorted_mu_; null after a Commit
};

class OverlayRowStore final : public RowStore {
 public:
  // Borrows `base`, which is only read.
  explicit OverlayRowStore(const RowStore* base) : base_(base) {}
  Result<bool> Get(const std::string& key, std::string* value) const override;
  std::unique_ptr<RowIterator> NewIterator() const override;
  // Puts land in memory. Dropping rows of the base is refused: the overlay has no tombstones,
  // and nothing needs them (a rebuild goes to scratch space instead).
  Status Commit(RowBatch batch) override;

 private:
  const RowStore* base_;
  MemoryRowStore top_;
};

// A temporary RocksDB database for scratch rows, deleted with everything in it on destruction.
// Writes skip the WAL: scratch rows never need to survive the process.
class ScratchDb {
 public:
  // Creates the database in a fresh directory under `parent_dir` ("" = $TMPDIR or /tmp).
  static Result<std::unique_ptr<ScratchDb>> Create(const std::string& parent_dir);
  ~ScratchDb();
  ScratchDb(const ScratchDb&) = delete;
  ScratchDb& operator=(const ScratchDb&) = delete;

  RowStore* rows() { return rows_.get(); }
  const std::string& dir() const { return dir_; }

 private:
  ScratchDb() = default;
  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<RocksRowStore> rows_;
};

}  // namespace mulin::projections

#endif  // MULIN_PROJECTIONS_ROW_STORE_H_
