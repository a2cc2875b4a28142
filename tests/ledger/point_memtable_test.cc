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

#include <atomic>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ledger/store.h"
#include "tests/support/temp_dir.h"

namespace mulin::ledger {
namespace {

using Model = std::map<std::string, std::string>;

rocksdb::Options PointOptions(bool bloom, size_t buckets) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.allow_concurrent_memtable_write = false;
  options.memtable_factory = std::make_shared<PointKeyMemTableFactory>(buckets);
  if (bloom) {  // the ledger's setting; without it every read reaches the memtable's lists
    options.memtable_whole_key_filtering = true;
    options.memtable_prefix_bloom_size_ratio = 0.05;
  }
  return options;
}

std::unique_ptr<rocksdb::DB> Open(const std::string& dir, const rocksdb::Options& options) {
  rocksdb::DB* db = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return std::unique_ptr<rocksdb::DB>(db);
}

// Keys from a small alphabet with a zero byte in it: many share prefixes, many are written again.
// Half are 1 to 12 bytes; half start with the same 14 bytes, as request keys of one actor do, and
// run to 22, so that the flush's sort sees keys equal in both of its key words (16 bytes) and
// keys that differ from a shorter one by trailing zero bytes.
std::string RandomKey(std::mt19937* rng) {
  constexpr char kAlphabet[] = {'a', 'b', '\0'};
  const bool shared = (*rng)() % 2 == 0;
  std::string key(shared ? "actor-000001\x1fr" : "");
  key.append(1 + (*rng)() % (shared ? 8 : 12), 'a');
  for (size_t i = shared ? 14 : 0; i < key.size(); ++i) key[i] = kAlphabet[(*rng)() % 3];
  return key;
}

// Every read and scan of `db` at `snapshot` (nullptr: the latest) agrees with `model`.
void ExpectReads(rocksdb::DB* db, const rocksdb::Snapshot* snapshot, const Model& model,
                 const std::vector<std::string>& probes) {
  rocksdb::ReadOptions read;
  read.snapshot = snapshot;
  std::vector<rocksdb::Slice> keys(probes.begin(), probes.end());
  std::vector<std::string> values;
  const std::vector<rocksdb::Status> got = db->MultiGet(read, keys, &values);
  for (size_t i = 0; i < probes.size(); ++i) {
    const auto want = model.find(probes[i]);
    std::string value;
    const rocksdb::Status s = db->Get(read, probes[i], &value);
    if (want == model.end()) {
      EXPECT_TRUE(s.IsNotFound()) << probes[i] << ": " << s.ToString();
      EXPECT_TRUE(got[i].IsNotFound()) << probes[i];
    } else {
      EXPECT_TRUE(s.ok() && value == want->second) << probes[i] << ": " << s.ToString();
      EXPECT_TRUE(got[i].ok() && values[i] == want->second) << probes[i];
    }
  }
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read));
  Model scanned;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    EXPECT_TRUE(scanned.empty() || scanned.rbegin()->first < it->key().ToString());
    scanned.emplace(it->key().ToString(), it->value().ToString());
  }
  EXPECT_EQ(model, scanned);
  size_t backwards = 0;
  for (it->SeekToLast(); it->Valid(); it->Prev()) ++backwards;
  EXPECT_EQ(model.size(), backwards);
  for (const std::string& target : probes) {
    it->Seek(target);
    const auto at_or_after = model.lower_bound(target);
    ASSERT_EQ(at_or_after != model.end(), it->Valid()) << target;
    if (it->Valid()) {
      EXPECT_EQ(at_or_after->first, it->key().ToString());
    }
    it->SeekForPrev(target);
    const auto after = model.upper_bound(target);
    ASSERT_EQ(after != model.begin(), it->Valid()) << target;
    if (it->Valid()) {
      EXPECT_EQ(std::prev(after)->first, it->key().ToString());
    }
  }
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
}

class PointMemTableTest : public ::testing::TestWithParam<bool> {};

TEST_P(PointMemTableTest, ReadsEveryVersionAtEverySnapshotBeforeAndAfterFlushAndReopen) {
  testing::TempDir dir;
  const rocksdb::Options options = PointOptions(GetParam(), 8);
  std::unique_ptr<rocksdb::DB> db = Open(dir.path(), options);
  std::mt19937 rng(20261129);
  Model model;
  std::vector<std::pair<const rocksdb::Snapshot*, Model>> snapshots;
  std::vector<std::string> probes;
  for (int i = 0; i < 600; ++i) probes.push_back(RandomKey(&rng));
  for (int op = 0; op < 6000; ++op) {
    const std::string key = RandomKey(&rng);
    if (rng() % 4 == 0) {
      ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), key).ok());
      model.erase(key);
    } else {
      const std::string value = key + "@" + std::to_string(op);
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key, value).ok());
      model[key] = value;
    }
    if (op % 1000 == 999) snapshots.emplace_back(db->GetSnapshot(), model);
    if (op == 3000) {  // half of them in a table
      ASSERT_TRUE(db->Flush(rocksdb::FlushOptions()).ok());
    }
  }
  for (const auto& [snapshot, seen] : snapshots) {
    ExpectReads(db.get(), snapshot, seen, probes);
  }
  ExpectReads(db.get(), nullptr, model, probes);

  ASSERT_TRUE(db->Flush(rocksdb::FlushOptions()).ok());  // every version, through the sort
  for (const auto& [snapshot, seen] : snapshots) {
    ExpectReads(db.get(), snapshot, seen, probes);
    db->ReleaseSnapshot(snapshot);
  }

  for (int op = 0; op < 2000; ++op) {  // left in the WAL, replayed into a memtable by the reopen
    const std::string key = RandomKey(&rng);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key, "late" + std::to_string(op)).ok());
    model[key] = "late" + std::to_string(op);
  }
  db.reset();
  db = Open(dir.path(), options);
  ExpectReads(db.get(), nullptr, model, probes);
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

// One thread writes keys in random order while small memtables fill and flush; readers must find
// every key published before their read, and every scan is sorted and holds them all.
TEST(PointMemTableConcurrencyTest, ReadersSeeEveryPublishedKeyWhileMemtablesFlush) {
  testing::TempDir dir;
  rocksdb::Options options = PointOptions(/*bloom=*/false, 64);
  options.write_buffer_size = 256 * 1024;
  std::unique_ptr<rocksdb::DB> db = Open(dir.path(), options);
  constexpr size_t kKeys = 20000;
  std::vector<std::string> keys;
  for (size_t i = 0; i < kKeys; ++i) keys.push_back("request-" + std::to_string(i * 7919 % kKeys));
  std::atomic<size_t> published{0};
  std::atomic<size_t> failures{0};
  std::thread writer([&] {
    for (size_t i = 0; i < kKeys; ++i) {
      if (!db->Put(rocksdb::WriteOptions(), keys[i], "v" + keys[i]).ok()) ++failures;
      published.store(i + 1, std::memory_order_release);
    }
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&, r] {
      std::mt19937 rng(r);
      while (published.load(std::memory_order_acquire) < kKeys) {
        const size_t known = published.load(std::memory_order_acquire);
        if (known == 0) continue;
        const std::string& key = keys[rng() % known];
        std::string value;
        if (!db->Get(rocksdb::ReadOptions(), key, &value).ok() || value != "v" + key) ++failures;
      }
    });
  }
  std::thread scanner([&] {
    while (published.load(std::memory_order_acquire) < kKeys) {
      const size_t known = published.load(std::memory_order_acquire);
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
      std::string last;
      size_t seen = 0;
      for (it->SeekToFirst(); it->Valid(); it->Next(), ++seen) {
        if (seen > 0 && !(last < it->key().ToString())) ++failures;
        last = it->key().ToString();
      }
      if (seen < known) ++failures;
    }
  });
  writer.join();
  for (std::thread& reader : readers) reader.join();
  scanner.join();
  EXPECT_EQ(0u, failures.load());
  for (const std::string& key : keys) {
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), key, &value).ok()) << key;
  }
}

}  // namespace
}  // namespace mulin::ledger
