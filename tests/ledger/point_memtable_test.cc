// Goal: a column family on PointKeyMemTable reads, scans and flushes as RocksDB promises: every
// version at every snapshot, both directions, in the memtable, after a flush and after a reopen,
// with so few buckets that keys share them, and while one thread writes and others read.
#include "ledger/point_memtable.h"

#include <gtest/gtest.h>
#include <rocksdb/comparator.h>
#include <rocksdb/db.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>

#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ledger/store.h"
#include "tests/ledger/memtable_reads.h"
#include "tests/support/temp_dir.h"

namespace mulin::ledger {
namespace {

using testing_memtable::ExpectEveryVersionAtEverySnapshot;
using testing_memtable::ExpectReadersSeeEveryPublishedKey;
using testing_memtable::Model;
using testing_memtable::Open;
using testing_memtable::RandomKey;

rocksdb::Options PointOptions(bool bloom, size_t buckets) {
  rocksdb::Options options =
      testing_memtable::OptionsWith(std::make_shared<PointKeyMemTableFactory>(buckets));
  if (bloom) {  // the ledger's setting; without it every read reaches the memtable's lists
    options.memtable_whole_key_filtering = true;
    options.memtable_prefix_bloom_size_ratio = 0.05;
  }
  return options;
}

class PointMemTableTest : public ::testing::TestWithParam<bool> {};

TEST_P(PointMemTableTest, ReadsEveryVersionAtEverySnapshotBeforeAndAfterFlushAndReopen) {
  testing::TempDir dir;
  std::mt19937 rng(20261129);
  std::vector<std::string> probes;
  for (int i = 0; i < 600; ++i) probes.push_back(RandomKey(&rng));
  ExpectEveryVersionAtEverySnapshot(
      dir.path(), PointOptions(GetParam(), 8), [&rng] { return RandomKey(&rng); }, probes);
}

INSTANTIATE_TEST_SUITE_P(BloomAndNot, PointMemTableTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "bloom" : "no_bloom"; });

// The flush's sort orders by key prefixes that assume bytewise keys; a family with another
// comparator must still come out in that comparator's order.
TEST(PointMemTableOrderTest, SortsByTheFamilysComparator) {
  testing::TempDir dir;
  rocksdb::Options options = PointOptions(/*bloom=*/true, 8);
  options.comparator = rocksdb::ReverseBytewiseComparator();
  std::unique_ptr<rocksdb::DB> db = Open(dir.path(), options);
  std::mt19937 rng(29);
  std::map<std::string, std::string, std::greater<>> model;
  for (int i = 0; i < 3000; ++i) {
    const std::string key = RandomKey(&rng);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key, "v" + std::to_string(i)).ok());
    model[key] = "v" + std::to_string(i);
  }
  for (const bool flushed : {false, true}) {
    if (flushed) {
      ASSERT_TRUE(db->Flush(rocksdb::FlushOptions()).ok());
    }
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    auto want = model.begin();
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++want) {
      ASSERT_NE(model.end(), want);
      EXPECT_EQ(want->first, it->key().ToString());
      EXPECT_EQ(want->second, it->value().ToString());
    }
    EXPECT_EQ(model.end(), want) << (flushed ? "after the flush" : "in the memtable");
  }
}

// A ledger written while the point-key families kept RocksDB's hash skip list and a prefix
// extractor (before 64c5f02), some keys in tables with prefix filters and some in the WAL, opens
// with the new memtable and finds every key by Get, MultiGet and scan.
TEST(PointMemTableUpgradeTest, ALedgerWrittenWithTheHashSkipListFindsEveryKey) {
  testing::TempDir dir;
  rocksdb::ColumnFamilyOptions old_point;
  old_point.memtable_whole_key_filtering = true;
  old_point.memtable_prefix_bloom_size_ratio = 0.05;
  old_point.prefix_extractor.reset(rocksdb::NewCappedPrefixTransform(24));
  old_point.memtable_factory.reset(rocksdb::NewHashSkipListRepFactory(1024));
  // Only the two families; Store::Open creates the ledger's others.
  const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {"requests", old_point},
      {"receipts", old_point}};
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.allow_concurrent_memtable_write = false;  // the hash skip list takes none
  std::vector<std::string> keys;
  for (int i = 0; i < 2000; ++i)
    keys.push_back("T" + std::to_string(i % 7) + "\x1fold-" + std::to_string(i));
  {
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    ASSERT_TRUE(rocksdb::DB::Open(db_options, dir.path(), families, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    for (size_t i = 0; i < keys.size(); ++i) {
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[1], keys[i], "request").ok());
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[2], keys[i], "receipt").ok());
      if (i == keys.size() / 2) {
        ASSERT_TRUE(db->Flush(rocksdb::FlushOptions(), {handles[1], handles[2]}).ok());
      }
    }
    for (auto* handle : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(handle).ok());
  }
  auto store = Store::Open(dir.path(), StoreOptions());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  rocksdb::DB* db = (*store)->db();
  for (rocksdb::ColumnFamilyHandle* family : {(*store)->requests(), (*store)->receipts()}) {
    std::vector<rocksdb::ColumnFamilyHandle*> per(keys.size(), family);
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<std::string> values;
    const std::vector<rocksdb::Status> got =
        db->MultiGet(rocksdb::ReadOptions(), per, slices, &values);
    for (size_t i = 0; i < keys.size(); ++i) {
      std::string value;
      ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), family, keys[i], &value).ok()) << keys[i];
      ASSERT_TRUE(got[i].ok()) << keys[i];
    }
    std::string missing;
    EXPECT_TRUE(db->Get(rocksdb::ReadOptions(), family, "T1\x1fnever", &missing).IsNotFound());
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), family));
    size_t seen = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++seen;
    EXPECT_EQ(keys.size(), seen);
  }
}

// One thread writes keys in random order while small memtables fill and flush.
TEST(PointMemTableConcurrencyTest, ReadersSeeEveryPublishedKeyWhileMemtablesFlush) {
  testing::TempDir dir;
  constexpr size_t kKeys = 20000;
  std::vector<std::string> keys;
  for (size_t i = 0; i < kKeys; ++i) keys.push_back("request-" + std::to_string(i * 7919 % kKeys));
  ExpectReadersSeeEveryPublishedKey(dir.path(), PointOptions(/*bloom=*/false, 64), keys);
}

}  // namespace
}  // namespace mulin::ledger
