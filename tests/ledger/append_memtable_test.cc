// Goal: a column family on AppendMemTable reads, scans and flushes as RocksDB promises, both
// while every key comes after the one before (the `events` family: the entries' own order is
// read) and once one does not (a copy is sorted, point reads scan): every version at every
// snapshot, both directions, in the memtable, after a flush and after a reopen, while one thread
// writes and others read; and the iterators' space is reused, not grown, by a thread that
// iterates again and again.
#include "ledger/append_memtable.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>

#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ledger/memtable_support.h"
#include "ledger/record_format.h"
#include "tests/ledger/memtable_reads.h"
#include "tests/support/temp_dir.h"

namespace mulin::ledger {
namespace {

using testing_memtable::ExpectEveryVersionAtEverySnapshot;
using testing_memtable::ExpectReadersSeeEveryPublishedKey;
using testing_memtable::Model;
using testing_memtable::Open;
using testing_memtable::RandomKey;

rocksdb::Options AppendOptions() {
  return testing_memtable::OptionsWith(std::make_shared<AppendMemTableFactory>());
}

// Sequence keys 1, 4, 7, ... and probes at, between, before and after them.
TEST(AppendMemTableTest, AscendingKeysReadAtEverySnapshotBeforeAndAfterFlushAndReopen) {
  testing::TempDir dir;
  uint64_t next = 1;
  std::vector<std::string> probes;
  for (uint64_t seq = 0; seq <= 3 * 8000 + 3; seq += 11) probes.push_back(EncodeSeqKey(seq));
  ExpectEveryVersionAtEverySnapshot(
      dir.path(), AppendOptions(),
      [&next] {
        const std::string key = EncodeSeqKey(next);
        next += 3;
        return key;
      },
      probes);
}

// Keys in random order, written again and deleted: out of order from the second write on.
TEST(AppendMemTableTest, KeysOutOfOrderReadAtEverySnapshotBeforeAndAfterFlushAndReopen) {
  testing::TempDir dir;
  std::mt19937 rng(20261130);
  std::vector<std::string> probes;
  for (int i = 0; i < 600; ++i) probes.push_back(RandomKey(&rng));
  ExpectEveryVersionAtEverySnapshot(
      dir.path(), AppendOptions(), [&rng] { return RandomKey(&rng); }, probes);
}

// A memtable in order, read at a snapshot, then put out of order by a key written again and a
// key before the last: the snapshot still reads as it was, and the latest reads as it is.
TEST(AppendMemTableTest, ASnapshotTakenInOrderReadsTheSameOnceOrderIsBroken) {
  testing::TempDir dir;
  std::unique_ptr<rocksdb::DB> db = Open(dir.path(), AppendOptions());
  Model model;
  std::vector<std::string> probes;
  for (uint64_t seq = 0; seq <= 2002; ++seq) probes.push_back(EncodeSeqKey(seq));
  for (uint64_t seq = 2; seq <= 2000; seq += 2) {
    ASSERT_TRUE(
        db->Put(rocksdb::WriteOptions(), EncodeSeqKey(seq), "v" + std::to_string(seq)).ok());
    model[EncodeSeqKey(seq)] = "v" + std::to_string(seq);
  }
  const rocksdb::Snapshot* in_order = db->GetSnapshot();
  const Model before = model;
  testing_memtable::ExpectReads(db.get(), in_order, before, probes);

  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), EncodeSeqKey(1000), "again").ok());
  model[EncodeSeqKey(1000)] = "again";
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), EncodeSeqKey(7), "early").ok());
  model[EncodeSeqKey(7)] = "early";
  ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), EncodeSeqKey(1500)).ok());
  model.erase(EncodeSeqKey(1500));
  testing_memtable::ExpectReads(db.get(), in_order, before, probes);
  testing_memtable::ExpectReads(db.get(), nullptr, model, probes);

  ASSERT_TRUE(db->Flush(rocksdb::FlushOptions()).ok());
  testing_memtable::ExpectReads(db.get(), in_order, before, probes);
  testing_memtable::ExpectReads(db.get(), nullptr, model, probes);
  db->ReleaseSnapshot(in_order);
}

TEST(AppendMemTableConcurrencyTest, ReadersSeeEveryAppendedKeyWhileMemtablesFlush) {
  testing::TempDir dir;
  std::vector<std::string> keys;
  for (uint64_t seq = 1; seq <= 20000; ++seq) keys.push_back(EncodeSeqKey(seq));
  ExpectReadersSeeEveryPublishedKey(dir.path(), AppendOptions(), keys);
}

// The first memtable falls out of order at its second key; later ones start in order again.
TEST(AppendMemTableConcurrencyTest, ReadersSeeEveryKeyOfAMemtableOutOfOrder) {
  testing::TempDir dir;
  std::vector<std::string> keys;
  keys.push_back(EncodeSeqKey(1u << 20));
  for (uint64_t seq = 1; seq <= 20000; ++seq) keys.push_back(EncodeSeqKey(seq));
  ExpectReadersSeeEveryPublishedKey(dir.path(), AppendOptions(), keys);
}

// Entries as RocksDB lays them out: a one-byte varint length here, then the internal key.
class EntryComparator final : public rocksdb::MemTableRep::KeyComparator {
 public:
  int operator()(const char* a, const char* b) const override { return Key(a).compare(Key(b)); }
  int operator()(const char* a, const rocksdb::Slice& key) const override {
    return Key(a).compare(key);
  }

 private:
  static rocksdb::Slice Key(const char* entry) {
    return rocksdb::Slice(entry + 1, static_cast<unsigned char>(entry[0]));
  }
};

std::string Entry(uint64_t seq) {
  const std::string internal_key = EncodeSeqKey(seq) + std::string(8, '\0');
  return std::string(1, static_cast<char>(internal_key.size())) + internal_key;
}

// The memtable itself, with entries made here: Contains answers by binary search while they are
// in order, and by a scan once one is not.
class AppendMemTableRepTest : public ::testing::Test {
 protected:
  AppendMemTableRepTest()
      : rep_(AppendMemTableFactory().CreateMemTableRep(compare_, nullptr, nullptr, nullptr)) {
    inserted_.reserve(256);  // the memtable keeps pointers to the entries' bytes
  }

  void Insert(uint64_t seq) {
    inserted_.push_back(Entry(seq));
    seqs_.insert(seq);
    rep_->Insert(inserted_.back().data());
  }

  void ExpectContainsExactlyTheInserted() {
    for (uint64_t seq = 0; seq <= 202; ++seq) {
      EXPECT_EQ(seqs_.count(seq) == 1, rep_->Contains(Entry(seq).data())) << seq;
    }
  }

  EntryComparator compare_;
  std::unique_ptr<rocksdb::MemTableRep> rep_;
  std::vector<std::string> inserted_;
  std::set<uint64_t> seqs_;
};

TEST_F(AppendMemTableRepTest, ContainsFindsEveryEntryInOrderAndOutOfOrder) {
  for (uint64_t seq = 2; seq <= 200; seq += 2) Insert(seq);
  ExpectContainsExactlyTheInserted();
  Insert(101);  // out of order from here on
  ExpectContainsExactlyTheInserted();
}

// RocksDB destroys the iterators it places in its arena and never frees them: their slots come
// back to the thread that destroyed them, and that thread takes them again.
TEST(IteratorSlotsTest, ASlotGivenBackIsTakenAgainOnlyByItsThread) {
  internal::IteratorSlots slots(64);
  void* first = slots.Take();
  void* second = slots.Take();
  EXPECT_NE(first, second);
  slots.Give(first);
  void* other_thread_took = nullptr;
  std::thread([&] { other_thread_took = slots.Take(); }).join();
  EXPECT_NE(first, other_thread_took);
  EXPECT_NE(second, other_thread_took);
  EXPECT_EQ(first, slots.Take());
}

// Scanned thousands of times while its memtable holds the keys, and point-read as often: the same
// few slots serve every scan (each scan's iterator kept its bytes until the flush, before).
TEST(AppendMemTableTest, ScansOfALiveMemtableReuseTheirIteratorSpace) {
  testing::TempDir dir;
  std::unique_ptr<rocksdb::DB> db = Open(dir.path(), AppendOptions());
  for (uint64_t seq = 1; seq <= 100; ++seq) {
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), EncodeSeqKey(seq), "v").ok());
  }
  const size_t before = internal::IteratorSlots::AllBytes();
  for (int scan = 0; scan < 20000; ++scan) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    it->Seek(EncodeSeqKey(50));
    ASSERT_TRUE(it->Valid());
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), EncodeSeqKey(scan % 100 + 1), &value).ok());
  }
  EXPECT_LE(internal::IteratorSlots::AllBytes(), before + 1024);
  EXPECT_GT(internal::IteratorSlots::AllBytes(), 0u);
}

}  // namespace
}  // namespace mulin::ledger
