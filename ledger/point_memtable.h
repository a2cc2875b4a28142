// A memtable for column families that are only ever read by exact key: `requests` and
// `receipts`. Keys arrive in random order and nearly every read misses. Also for the databases of
// projection rows (UsePointKeyMemTables below), which a fold reads by exact key as it goes and
// which only statements, exports and reconcile scan.
//
// Entries sit in a fixed hash table of short lists, hashed on the whole user key, each list newest
// first: an insert touches its bucket's head and no other entry, and a point read walks a few
// entries. An iterator (the flush's, or a scan's) collects the entries present when it is made and
// sorts them once. RocksDB's hash skip list builds a full skip list for the same iterator instead,
// one random search path per entry; on two cores that sort was a quarter of the appends' CPU
// (bench/HISTORY.md §1). The family's comparator must hold equal user keys to be equal bytes, as
// RocksDB's bytewise comparators do.
//
// Thread safety: RocksDB calls Insert from one thread at a time (the factory refuses concurrent
// memtable writes) while reads and iterators run on any thread; reads see each entry whole.
#pragma once

#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace mulin::ledger {

class PointKeyMemTableFactory final : public rocksdb::MemTableRepFactory {
 public:
  // bucket_count is rounded up to a power of two.
  explicit PointKeyMemTableFactory(size_t bucket_count);

  using rocksdb::MemTableRepFactory::CreateMemTableRep;
  rocksdb::MemTableRep* CreateMemTableRep(const rocksdb::MemTableRep::KeyComparator& compare,
                                          rocksdb::Allocator* allocator,
                                          const rocksdb::SliceTransform* transform,
                                          rocksdb::Logger* logger) override;
  const char* Name() const override { return "MulinPointKeyMemTable"; }
  bool IsInsertConcurrentlySupported() const override { return false; }
  bool CanHandleDuplicatedKey() const override { return false; }

 private:
  size_t bucket_count_;
};

// Puts every family of a database opened with `options` on PointKeyMemTable, which takes its
// inserts from one thread at a time.
inline void UsePointKeyMemTables(rocksdb::Options* options, size_t bucket_count) {
  options->memtable_factory = std::make_shared<PointKeyMemTableFactory>(bucket_count);
  options->allow_concurrent_memtable_write = false;
}

}  // namespace mulin::ledger
