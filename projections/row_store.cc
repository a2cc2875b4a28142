#include "projections/row_store.h"

#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>

#include "ledger/point_memtable.h"
#include "ledger/store.h"
#include "projections/codec.h"

namespace mulin::projections {
namespace {

using ledger::FromRocks;

// Buckets of a scratch memtable (ledger/point_memtable.h): 128 MiB of rows of a few hundred bytes
// are a few hundred thousand, a few to a bucket.
constexpr size_t kScratchMemtableBuckets = 256 * 1024;

class RocksRowIterator final : public RowIterator {
 public:
  explicit RocksRowIterator(std::unique_ptr<rocksdb::Iterator> it) : it_(std::move(it)) {}
  void Seek(std::string_view target) override { it_->Seek(rocksdb::Slice(target)); }
  bool Valid() const override { return it_->Valid(); }
  void Next() override { it_->Next(); }
  std::string_view key() const override { return it_->key().ToStringView(); }
  std::string_view value() const override { return it_->value().ToStringView(); }
  Status status() const override { return FromRocks(it_->status(), "reading projection rows"); }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
};

// Iterates a sorted snapshot of pointers to a memory store's rows. The rows themselves must not
// change while it is in use (see row_store.h: no iterator across a Commit).
class MemoryRowIterator final : public RowIterator {
 public:
  explicit MemoryRowIterator(std::shared_ptr<const MemoryRowStore::Sorted> sorted)
      : sorted_(std::move(sorted)), at_(sorted_->size()) {}
  void Seek(std::string_view target) override {
    at_ = static_cast<size_t>(
        std::lower_bound(sorted_->begin(), sorted_->end(), target,
                         [](const auto* row, std::string_view t) { return row->first < t; }) -
        sorted_->begin());
  }
  bool Valid() const override { return at_ < sorted_->size(); }
  void Next() override { ++at_; }
  std::string_view key() const override { return (*sorted_)[at_]->first; }
  std::string_view value() const override { return (*sorted_)[at_]->second.value; }
  Status status() const override { return Status::Ok(); }

 private:
  std::shared_ptr<const MemoryRowStore::Sorted> sorted_;
  size_t at_;
};

// The iterator of a store that cannot be read: empty, and its status says why.
class FailedRowIterator final : public RowIterator {
 public:
  explicit FailedRowIterator(Status why) : why_(std::move(why)) {}
  void Seek(std::string_view) override {}
  bool Valid() const override { return false; }
  void Next() override {}
  std::string_view key() const override { return {}; }
  std::string_view value() const override { return {}; }
  Status status() const override { return why_; }

 private:
  Status why_;
};

// Merges the overlay's rows over the base's: on equal keys the overlay's value wins.
class OverlayRowIterator final : public RowIterator {
 public:
  OverlayRowIterator(std::unique_ptr<RowIterator> top, std::unique_ptr<RowIterator> base)
      : top_(std::move(top)), base_(std::move(base)) {}
  void Seek(std::string_view target) override {
    top_->Seek(target);
    base_->Seek(target);
    Pick();
  }
  bool Valid() const override { return current_ != nullptr; }
  void Next() override {
    if (current_ == top_.get() && base_->Valid() && base_->key() == top_->key()) base_->Next();
    current_->Next();
    Pick();
  }
  std::string_view key() const override { return current_->key(); }
  std::string_view value() const override { return current_->value(); }
  Status status() const override { return base_->status(); }

 private:
  void Pick() {
    if (!top_->Valid()) {
      current_ = base_->Valid() ? base_.get() : nullptr;
    } else if (!base_->Valid() || top_->key() <= base_->key()) {
      current_ = top_.get();
    } else {
      current_ = base_.get();
    }
  }

  std::unique_ptr<RowIterator> top_;
  std::unique_ptr<RowIterator> base_;
  RowIterator* current_ = nullptr;
};

}  // namespace

Status ScanPrefix(const RowStore& store, std::string_view prefix,
                  const std::function<bool(std::string_view, std::string_view)>& visit) {
  std::unique_ptr<RowIterator> it = store.NewIterator();
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    if (it->key().substr(0, prefix.size()) != prefix) break;
    if (!visit(it->key(), it->value())) break;
  }
  return it->status();
}

RocksRowStore::RocksRowStore(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
                             const rocksdb::WriteOptions& write_options, bool read_only)
    : db_(db), family_(family), write_options_(write_options), read_only_(read_only) {}

Result<bool> RocksRowStore::Get(const std::string& key, std::string* value) const {
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), family_, key, value);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return FromRocks(s, "reading a projection row");
  return true;
}

std::unique_ptr<RowIterator> RocksRowStore::NewIterator() const {
  rocksdb::ReadOptions read_options;
  // Scans (reconcile, statements) read each row once: keep them out of the block cache.
  read_options.fill_cache = false;
  return std::make_unique<RocksRowIterator>(
      std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(read_options, family_)));
}

Status RocksRowStore::Commit(RowBatch batch) {
  if (read_only_) return Status::InvalidArgument("projection rows opened read-only");
  rocksdb::WriteBatch write;
  for (const std::string& prefix : batch.drop_prefixes) {
    rocksdb::Status s = write.DeleteRange(family_, prefix, PrefixSuccessor(prefix));
    if (!s.ok()) return FromRocks(s, "dropping projection rows");
  }
  // Puts go in the fold's order: the rows' memtables are hashed (ledger/point_memtable.h), so an
  // insert costs the same in any order, and sorting a batch first cost a third of this function
  // (callgrind, bench/RESULTS.md section 4).
  for (const auto& [key, value] : batch.puts) {
    rocksdb::Status s = write.Put(family_, key, value);
    if (!s.ok()) return FromRocks(s, "writing projection rows");
  }
  return FromRocks(db_->Write(write_options_, &write), "writing projection rows");
}

Result<bool> MemoryRowStore::Get(const std::string& key, std::string* value) const {
  if (!failed_.ok()) return failed_;
  const FoldRows::value_type* row = rows_.Find(key);
  if (row == nullptr) return false;
  *value = row->second.value;
  return true;
}

std::unique_ptr<RowIterator> MemoryRowStore::NewIterator() const {
  if (!failed_.ok()) return std::make_unique<FailedRowIterator>(failed_);
  std::lock_guard<std::mutex> lock(sorted_mu_);
  if (!sorted_) {
    auto sorted = std::make_shared<Sorted>();
    sorted->reserve(rows_.size());
    rows_.ForEach([&](const FoldRows::value_type& row) { sorted->push_back(&row); });
    std::sort(sorted->begin(), sorted->end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    sorted_ = std::move(sorted);
  }
  return std::make_unique<MemoryRowIterator>(sorted_);
}

Status MemoryRowStore::Commit(RowBatch batch) {
  if (!failed_.ok()) return failed_;
  {
    std::lock_guard<std::mutex> lock(sorted_mu_);
    sorted_.reset();
  }
  for (const std::string& prefix : batch.drop_prefixes) rows_.ErasePrefix(prefix);
  for (auto& [key, value] : batch.puts) {
    rows_.FindOrInsert(key)->second.value = std::move(value);
  }
  return Status::Ok();
}

FoldRows* MemoryRowStore::RowsToFoldInto() {
  if (!failed_.ok()) return nullptr;
  std::lock_guard<std::mutex> lock(sorted_mu_);
  sorted_.reset();
  return &rows_;
}

void MemoryRowStore::FailFold(const Status& why) {
  failed_ = why;
  std::lock_guard<std::mutex> lock(sorted_mu_);
  sorted_.reset();
}

Result<bool> OverlayRowStore::Get(const std::string& key, std::string* value) const {
  Result<bool> top = top_.Get(key, value);
  if (!top.ok() || *top) return top;
  return base_->Get(key, value);
}

std::unique_ptr<RowIterator> OverlayRowStore::NewIterator() const {
  return std::make_unique<OverlayRowIterator>(top_.NewIterator(), base_->NewIterator());
}

Status OverlayRowStore::Commit(RowBatch batch) {
  if (!batch.drop_prefixes.empty()) {
    return Status::InvalidArgument("cannot drop rows of a read-only ledger; rebuild into scratch");
  }
  return top_.Commit(std::move(batch));
}

Result<std::unique_ptr<ScratchDb>> ScratchDb::Create(const std::string& parent_dir) {
  std::string parent = parent_dir;
  if (parent.empty()) {
    const char* tmp = getenv("TMPDIR");
    parent = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  std::string pattern = parent + "/mulin-scratch-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    return Status::IoError("cannot create a scratch directory under " + parent);
  }
  std::unique_ptr<ScratchDb> scratch(new ScratchDb());
  scratch->dir_ = pattern;
  rocksdb::Options options;
  options.create_if_missing = true;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  // Scratch rows are written once, read back by one merge scan, then deleted with the directory:
  // large memtables, no compression and no compaction spend nothing on a future that never comes,
  // and nothing is flushed at close. Without compaction level 0 only grows, so the write stalls
  // meant to let compaction catch up are moved out of reach.
  options.write_buffer_size = 128 << 20;
  options.max_write_buffer_number = 4;
  options.compression = rocksdb::kNoCompression;
  options.disable_auto_compactions = true;
  options.level0_slowdown_writes_trigger = 1 << 20;
  options.level0_stop_writes_trigger = 1 << 20;
  options.avoid_flush_during_shutdown = true;
  options.max_background_jobs = 2;
  // Hashed memtables, as the ledger's rows database has (ledger/store.cc): the replay of a
  // rebuild's 624,411 row writes alone went from 0.53 and 0.48M/s to 0.80 and 0.90M/s in two
  // alternated pairs (projection_rebuild_bench, 1M events). The one scan sorts each memtable once.
  ledger::UsePointKeyMemTables(&options, kScratchMemtableBuckets);
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, scratch->dir_, &raw);
  if (!s.ok()) return FromRocks(s, "opening scratch space " + scratch->dir_);
  scratch->db_.reset(raw);
  rocksdb::WriteOptions write_options;
  write_options.disableWAL = true;  // scratch dies with the process; durability buys nothing
  write_options.sync = false;
  scratch->rows_ = std::make_unique<RocksRowStore>(raw, raw->DefaultColumnFamily(), write_options,
                                                   /*read_only=*/false);
  return scratch;
}

ScratchDb::~ScratchDb() {
  rows_.reset();
  if (db_) db_->Close().PermitUncheckedError();
  db_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace mulin::projections
