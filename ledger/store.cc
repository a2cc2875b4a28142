#include "ledger/store.h"

#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <sodium.h>

#include <algorithm>
#include <cassert>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "ledger/key_order.h"
#include "ledger/point_memtable.h"
#include "ledger/store_families.h"
#include "ledger/store_open.h"

namespace mulin::ledger {
namespace {

using internal::EventFamilyOptions;
using internal::OpenConsistently;
using internal::OpenInfoLog;
using internal::PinnableReadOnly;
using internal::PointLookupFamilyOptions;
using internal::SnapshotFamilyOptions;
using internal::WithoutPins;

const char* const kFamilyNames[] = {rocksdb::kDefaultColumnFamilyName.c_str(),
                                    "events",
                                    "requests",
                                    "meta",
                                    "snapshots",
                                    "projections",
                                    "receipts"};

bool IsLockError(const rocksdb::Status& status) {
  return status.IsIOError() && status.ToString().find("lock") != std::string::npos;
}

Status NoLedgerAt(const std::string& dir) {
  return Status::NotFound("no ledger at " + dir +
                          " (create one with a write command, or set --db / MULIN_DB)");
}

// The rows database's directory inside the ledger's.
constexpr const char* kRowsDir = "projections";
// Buckets of a rows memtable (ledger/point_memtable.h): a 64 MiB memtable of rows of a few hundred
// bytes holds a few hundred thousand, a few to a bucket.
constexpr size_t kRowsMemtableBuckets = 128 * 1024;

// Opens the database of the stored projections' rows in <dir>/projections, creating it on a
// writable open. A read-only open retries while the files change under it, as the ledger's does
// (MarkFiles). A read-only open of a ledger that has no rows database yet (one written before it
// existed, and not opened for writing since) gets an empty one in memory, kept alive by `*env`:
// its readers then fold the whole log, as they would with no stored rows.
Status OpenRowsDb(const std::string& dir, bool read_only, std::unique_ptr<rocksdb::Env>* env,
                  std::unique_ptr<rocksdb::DB>* db) {
  const std::string path = dir + "/" + kRowsDir;
  rocksdb::Options options;
  options.create_if_missing = !read_only;
  options.paranoid_checks = true;
  options.max_background_jobs = 2;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  // A catch-up commits its rows sorted, but between them in a skip list lie the rows of earlier
  // catch-ups: two thirds of the follower's instructions were the skip list's inserts (callgrind of
  // `mulin serve` under rpc_bench). Hashed, an insert touches one bucket; row reads are by exact
  // key, and the scans that statements and reconcile make sort the memtable once. Two alternated
  // pairs over RPC (rpc_bench --commands 300000 --runs 1): the follower 7.53 and 8.90 -> 5.80 and
  // 5.17 us of CPU a redemption, the server 54.9 and 59.1 -> 51.8 and 48.4 (bench/RESULTS.md §3).
  UsePointKeyMemTables(&options, kRowsMemtableBuckets);
  std::error_code ignored;
  if (read_only && !std::filesystem::exists(path + "/CURRENT", ignored)) {
    env->reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
    options.env = env->get();
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, "/" + std::string(kRowsDir), &raw);
    db->reset(raw);
    return FromRocks(s, "opening an empty projections database in memory");
  }
  if (!read_only) options.info_log = OpenInfoLog(path, options.info_log_level);
  if (read_only) PinnableReadOnly(&options);
  rocksdb::Status s = OpenConsistently(path, read_only, [&](const std::string& at) {
    rocksdb::DB* raw = nullptr;
    rocksdb::Status opened = read_only ? rocksdb::DB::OpenForReadOnly(options, at, &raw)
                                       : rocksdb::DB::Open(options, at, &raw);
    db->reset(raw);
    return opened;
  });
  return FromRocks(s, "opening the projections database " + path);
}

// Says who holds the ledger: `mulin serve` leaves its address in kServingFile while it runs.
std::string BusyMessage(const std::string& dir) {
  std::ifstream serving(dir + "/" + kServingFile);
  std::string address;
  if (serving && std::getline(serving, address) && !address.empty()) {
    return "ledger " + dir + " is being served by `mulin serve` at " + address +
           ": send commands through the service (`mulin terminal --server " + address +
           "`); read commands (verify, checkpoint, export, ...) work on it directly";
  }
  return "ledger " + dir +
         " is held by another process (is `mulin serve` running?); read commands (verify, "
         "checkpoint, export, ...) still work on it";
}

}  // namespace

Status FromRocks(const rocksdb::Status& status, std::string_view context) {
  if (status.ok()) return Status::Ok();
  const std::string msg = WithoutPins(std::string(context) + ": " + status.ToString());
  if (status.IsCorruption()) return Status::Corruption(msg);
  if (status.IsNotFound()) return Status::NotFound(msg);
  if (status.IsInvalidArgument()) return Status::InvalidArgument(msg);
  if (status.IsBusy()) return Status::Busy(msg);
  return Status::IoError(msg);
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, const StoreOptions& options) {
  if (sodium_init() < 0) return Status::IoError("libsodium failed to initialise");
  // RocksDB creates the directory (for its info log) even when it is not to create a database,
  // and then fails with a raw I/O error: a read command with a mistyped --db would leave an empty
  // directory behind. Every RocksDB database has a CURRENT file; without one there is no ledger.
  const bool may_create = options.create_if_missing && !options.read_only;
  std::error_code ignored;
  if (!may_create && !std::filesystem::exists(dir + "/CURRENT", ignored)) return NoLedgerAt(dir);
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  // A ledger written before a family existed gets it at its next writable open.
  db_options.create_missing_column_families = !options.read_only;
  db_options.paranoid_checks = true;
  // One process writes; its WAL is fsynced per batch by WriteOptions::sync at each call site.
  db_options.max_background_jobs = 2;
  // One writer thread appends; the hash memtable of `requests` does not take concurrent inserts.
  db_options.allow_concurrent_memtable_write = false;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  if (!options.read_only) {
    db_options.info_log = OpenInfoLog(dir, db_options.info_log_level);
  }

  // A read-only open cannot create a family, and opening one that is missing fails: it opens the
  // families the ledger has (an older ledger lacks `receipts`, which only the writer reads). The
  // family that held the projections' rows before they had a database of their own is opened only
  // where it exists, and a writable open drops it (below).
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  std::vector<std::string> existing;
  rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(db_options, dir, &existing);
  if (!listed.ok()) existing.clear();  // a new ledger; or the open below reports what is wrong
  std::vector<int> opened;             // the Family of each descriptor
  for (int f = 0; f < kFamilyCount; ++f) {
    const bool exists =
        std::find(existing.begin(), existing.end(), kFamilyNames[f]) != existing.end();
    if (!exists && (f == kLegacyProjections || (f == kReceipts && options.read_only))) continue;
    rocksdb::ColumnFamilyOptions cf = f == kEvents      ? EventFamilyOptions()
                                      : f == kRequests  ? PointLookupFamilyOptions()
                                      : f == kSnapshots ? SnapshotFamilyOptions()
                                      : f == kReceipts  ? PointLookupFamilyOptions()
                                                        : rocksdb::ColumnFamilyOptions();
    families.emplace_back(kFamilyNames[f], cf);
    opened.push_back(f);
  }

  // A read-only open takes the rows first: they are folded from the log only as far as it was
  // when they were written, so their checkpoints are never past the head read after them.
  std::unique_ptr<rocksdb::Env> rows_env;
  std::unique_ptr<rocksdb::DB> rows_db;
  if (options.read_only) {
    MULIN_RETURN_IF_ERROR(OpenRowsDb(dir, true, &rows_env, &rows_db));
  }
  std::unique_ptr<Store> store;
  if (options.read_only) PinnableReadOnly(&db_options);
  const rocksdb::Status s = OpenConsistently(dir, options.read_only, [&](const std::string& at) {
    store.reset(new Store());
    store->dir_ = dir;
    store->read_only_ = options.read_only;
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::Status status =
        options.read_only ? rocksdb::DB::OpenForReadOnly(db_options, at, families, &handles, &raw)
                          : rocksdb::DB::Open(db_options, at, families, &handles, &raw);
    store->db_.reset(raw);
    store->handles_.assign(kFamilyCount, nullptr);
    for (size_t i = 0; i < handles.size(); ++i) store->handles_[opened[i]] = handles[i];
    return status;
  });
  if (!s.ok()) {
    if (IsLockError(s)) return Status::Busy(BusyMessage(dir));
    if (s.IsInvalidArgument() && s.ToString().find("does not exist") != std::string::npos) {
      return NoLedgerAt(dir);
    }
    return FromRocks(s, "opening ledger " + dir);
  }
  if (!options.read_only) {
    // The rows of an older ledger's `projections` family are rebuilt in the rows database by the
    // next catch-up (the follower of `mulin serve`, `mulin projections`); the family goes.
    rocksdb::ColumnFamilyHandle*& legacy = store->handles_[kLegacyProjections];
    if (legacy != nullptr) {
      MULIN_RETURN_IF_ERROR(FromRocks(store->db_->DropColumnFamily(legacy),
                                      "dropping the old projections family of " + dir));
      store->db_->DestroyColumnFamilyHandle(legacy).PermitUncheckedError();
      legacy = nullptr;
    }
    MULIN_RETURN_IF_ERROR(OpenRowsDb(dir, false, &rows_env, &rows_db));
  }
  store->rows_env_ = std::move(rows_env);
  store->rows_db_ = std::move(rows_db);
  return store;
}

// A clean close flushes memtables holding at least this much. Otherwise the next open (the
// writer's, and every read-only open) replays the WAL into memtables, and the writer's open also
// writes them to level 0, before it can serve: after 100k redemptions at 1.4M events that was
// 4.7G of start-up's 9.1G instructions (callgrind of Writer::Open), where the whole snapshot
// decode was 2.4G. A CLI command's few entries stay in the WAL: flushing them would leave a tiny
// table file per command.
constexpr uint64_t kFlushAtCloseBytesMin = 4 << 20;

namespace {

// A clean close flushes `families` of `db` when their memtables hold kFlushAtCloseBytesMin or more.
// A failed flush costs the next open time, never data: the WAL still holds everything.
void FlushAtClose(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& families) {
  uint64_t memtable_bytes = 0;
  if (db->GetAggregatedIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables,
                                   &memtable_bytes) &&
      memtable_bytes >= kFlushAtCloseBytesMin) {
    rocksdb::FlushOptions flush;
    flush.wait = true;
    db->Flush(flush, families).PermitUncheckedError();
  }
}

}  // namespace

Store::~Store() {
  if (rows_db_) {
    if (!read_only_) {
      FlushAtClose(rows_db_.get(), {rows_db_->DefaultColumnFamily()});
      rows_db_->Close().PermitUncheckedError();
    }
    rows_db_.reset();
  }
  if (!db_) return;
  if (!read_only_) {
    std::vector<rocksdb::ColumnFamilyHandle*> open;
    for (rocksdb::ColumnFamilyHandle* handle : handles_) {
      if (handle != nullptr) open.push_back(handle);
    }
    FlushAtClose(db_.get(), open);
  }
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    if (handle != nullptr) db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  if (!read_only_) db_->Close().PermitUncheckedError();
}

Status Store::Write(rocksdb::WriteBatch* batch, bool sync) {
  if (read_only_) return Status::InvalidArgument("ledger opened read-only");
  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  return FromRocks(db_->Write(write_options, batch), "writing to ledger " + dir_);
}

Status Store::WriteUnlogged(rocksdb::WriteBatch* batch) {
  if (read_only_) return Status::InvalidArgument("ledger opened read-only");
  rocksdb::WriteOptions write_options;
  write_options.disableWAL = true;
  return FromRocks(db_->Write(write_options, batch), "writing to ledger " + dir_);
}

Status Store::FlushInBackground(rocksdb::ColumnFamilyHandle* family) {
  if (read_only_) return Status::InvalidArgument("ledger opened read-only");
  rocksdb::FlushOptions flush;
  flush.wait = false;
  // Not held back until the flush could not stall writes: the caller would wait for that.
  flush.allow_write_stall = true;
  return FromRocks(db_->Flush(flush, family), "flushing ledger " + dir_);
}

void Store::MultiGet(rocksdb::ColumnFamilyHandle* family, const std::vector<rocksdb::Slice>& keys,
                     std::vector<rocksdb::PinnableSlice>* values,
                     std::vector<rocksdb::Status>* statuses) const {
  assert(family->GetComparator() == rocksdb::BytewiseComparator());
  const size_t n = keys.size();
  values->clear();
  statuses->clear();
  if (n == 0) return;
  // In key order (SortByKey: the keys here, request keys and receipt ids, are short).
  std::vector<uint32_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
  SortByKey(&order,
            [&keys](uint32_t i) { return std::string_view(keys[i].data(), keys[i].size()); });
  std::vector<rocksdb::Slice> sorted(n);
  for (size_t i = 0; i < n; ++i) sorted[i] = keys[order[i]];
  std::vector<rocksdb::PinnableSlice> sorted_values(n);
  std::vector<rocksdb::Status> sorted_statuses(n);
  db_->MultiGet(rocksdb::ReadOptions(), family, n, sorted.data(), sorted_values.data(),
                sorted_statuses.data(), /*sorted_input=*/true);
  values->resize(n);
  statuses->resize(n);
  for (size_t i = 0; i < n; ++i) {
    (*values)[order[i]] = std::move(sorted_values[i]);
    (*statuses)[order[i]] = std::move(sorted_statuses[i]);
  }
}

}  // namespace mulin::ledger
