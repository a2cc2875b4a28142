// A memtable for a column family whose keys arrive in ascending order: `events`, keyed by
// sequence number and only ever appended to.
//
// Entries are kept in the order they were inserted, in an array of chunks that never move. While
// every entry comes after the one before it in the family's order, that array is the sorted
// order: an insert is one comparison and one store, an iterator reads the array as it stands, and
// a read is a binary search. RocksDB's skip list walked a search path of about 14 comparisons an
// insert instead, a fifth of the commit thread's instructions (callgrind of writer_bench). Should
// an entry ever come before the one inserted ahead of it (a key written twice, say), iterators
// from then on sort a copy, and point reads scan: slower, never wrong.
//
// Thread safety: RocksDB calls Insert from one thread at a time (the factory refuses concurrent
// memtable writes) while reads and iterators run on any thread; each sees the entries inserted
// before it was made, whole.
#pragma once

#include <rocksdb/memtablerep.h>

namespace mulin::ledger {

class AppendMemTableFactory final : public rocksdb::MemTableRepFactory {
 public:
  using rocksdb::MemTableRepFactory::CreateMemTableRep;
  rocksdb::MemTableRep* CreateMemTableRep(const rocksdb::MemTableRep::KeyComparator& compare,
                                          rocksdb::Allocator* allocator,
                                          const rocksdb::SliceTransform* transform,
                                          rocksdb::Logger* logger) override;
  const char* Name() const override { return "MulinAppendMemTable"; }
  bool IsInsertConcurrentlySupported() const override { return false; }
  bool CanHandleDuplicatedKey() const override { return false; }
};

}  // namespace mulin::ledger
