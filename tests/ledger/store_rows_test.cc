// Goal: the stored projections' rows live in a RocksDB database of their own, <dir>/projections,
// so that their batches never wait in, or hold up, the ledger's write queue. A writable open
// creates it and drops the `projections` family that held the rows before; a read-only open of a
// ledger without it gets an empty database and writes nothing to the ledger's directory; rows a
// writer committed are what a later read-only open reads.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ledger/store.h"
#include "tests/support/temp_dir.h"

namespace mulin::ledger {
namespace {

std::vector<std::string> Families(const std::string& dir) {
  std::vector<std::string> names;
  EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok());
  std::sort(names.begin(), names.end());
  return names;
}

bool Has(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string Read(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family, const std::string& key) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), family, key, &value);
  return s.ok() ? value : "(" + s.ToString() + ")";
}

TEST(StoreRows, ANewLedgerKeepsItsRowsInADatabaseOfTheirOwn) {
  testing::TempDir dir;
  {
    auto store = Store::Open(dir.path(), StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    rocksdb::DB* rows = (*store)->projections_db();
    ASSERT_NE(nullptr, rows);
    EXPECT_NE((*store)->db(), rows);
    ASSERT_TRUE(rows->Put(rocksdb::WriteOptions(), (*store)->projections(), "k", "v").ok());
  }
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/projections/CURRENT"));
  EXPECT_FALSE(Has(Families(dir.path()), "projections"));
  // The row is in <dir>/projections, read there by RocksDB alone.
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(
      rocksdb::DB::OpenForReadOnly(rocksdb::Options(), dir.path() + "/projections", &raw).ok());
  std::unique_ptr<rocksdb::DB> rows(raw);
  EXPECT_EQ("v", Read(rows.get(), rows->DefaultColumnFamily(), "k"));
}

TEST(StoreRows, AReadOnlyOpenReadsTheRowsAWriterCommitted) {
  testing::TempDir dir;
  {
    auto store = Store::Open(dir.path(), StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)
                    ->projections_db()
                    ->Put(rocksdb::WriteOptions(), (*store)->projections(), "balance", "12")
                    .ok());
    // Opened read-only while the writer still holds the ledger, as `mulin` read commands are.
    StoreOptions read_only;
    read_only.read_only = true;
    auto reader = Store::Open(dir.path(), read_only);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    EXPECT_EQ("12", Read((*reader)->projections_db(), (*reader)->projections(), "balance"));
  }
  StoreOptions read_only;
  read_only.read_only = true;
  auto reader = Store::Open(dir.path(), read_only);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ("12", Read((*reader)->projections_db(), (*reader)->projections(), "balance"));
}

// The rows' memtables are hashed (ledger/point_memtable.h): reads by exact key, and scans by
// prefix in key order over what is still in the memtable, after later writes of the same rows and
// range drops, on the writer's open and on a read-only one beside it.
TEST(StoreRows, RowsInHashedMemtablesReadAndScanInKeyOrder) {
  testing::TempDir dir;
  auto store = Store::Open(dir.path(), StoreOptions());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  rocksdb::DB* rows = (*store)->projections_db();
  rocksdb::ColumnFamilyHandle* family = (*store)->projections();
  EXPECT_STREQ("MulinPointKeyMemTable", rows->GetOptions(family).memtable_factory->Name());
  std::map<std::string, std::string> model;
  for (int round = 0; round < 3; ++round) {  // each round rewrites every row, as catch-ups do
    rocksdb::WriteBatch batch;
    for (int i = 0; i < 500; ++i) {
      const int k = (i * 7919) % 500;  // not in key order
      const std::string key = (k % 2 == 0 ? "audit/" : "balance/") + std::to_string(1000 + k);
      const std::string value = std::to_string(round) + ":" + key;
      ASSERT_TRUE(batch.Put(family, key, value).ok());
      model[key] = value;
    }
    ASSERT_TRUE(rows->Write(rocksdb::WriteOptions(), &batch).ok());
  }
  ASSERT_TRUE(rows->DeleteRange(rocksdb::WriteOptions(), family, "audit/1100", "audit/1200").ok());
  model.erase(model.lower_bound("audit/1100"), model.lower_bound("audit/1200"));
  StoreOptions read_only;
  read_only.read_only = true;
  auto reader = Store::Open(dir.path(), read_only);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  for (Store* at : {store->get(), reader->get()}) {
    std::unique_ptr<rocksdb::Iterator> it(
        at->projections_db()->NewIterator(rocksdb::ReadOptions(), at->projections()));
    std::vector<std::pair<std::string, std::string>> scanned;
    for (it->Seek("audit/"); it->Valid() && it->key().starts_with("audit/"); it->Next()) {
      scanned.emplace_back(it->key().ToString(), it->value().ToString());
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    std::vector<std::pair<std::string, std::string>> expected(model.begin(),
                                                              model.lower_bound("b"));
    EXPECT_EQ(expected, scanned);
    EXPECT_EQ("2:balance/1001", Read(at->projections_db(), at->projections(), "balance/1001"));
    std::string dropped;
    EXPECT_TRUE(at->projections_db()
                    ->Get(rocksdb::ReadOptions(), at->projections(), "audit/1150", &dropped)
                    .IsNotFound());
  }
}

// A ledger as written before the rows had a database of their own: the `projections` family of
// the ledger's database holds them, and there is no <dir>/projections.
void WriteOldLayout(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const char* name : {"default", "events", "requests", "meta", "snapshots", "projections"}) {
    families.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir, families, &handles, &raw).ok());
  ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), handles[5], "old-row", "1").ok());
  for (rocksdb::ColumnFamilyHandle* handle : handles) {
    ASSERT_TRUE(raw->DestroyColumnFamilyHandle(handle).ok());
  }
  ASSERT_TRUE(raw->Close().ok());
  delete raw;
}

TEST(StoreRows, AReadOnlyOpenOfAnOldLedgerGetsNoRowsAndWritesNothing) {
  testing::TempDir dir;
  ASSERT_NO_FATAL_FAILURE(WriteOldLayout(dir.path()));
  StoreOptions read_only;
  read_only.read_only = true;
  auto reader = Store::Open(dir.path(), read_only);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  ASSERT_NE(nullptr, (*reader)->projections_db());
  std::unique_ptr<rocksdb::Iterator> it(
      (*reader)->projections_db()->NewIterator(rocksdb::ReadOptions(), (*reader)->projections()));
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());  // empty: readers fold the log themselves
  EXPECT_TRUE(it->status().ok());
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/projections"));
  EXPECT_TRUE(Has(Families(dir.path()), "projections"));  // untouched
}

TEST(StoreRows, AWritableOpenOfAnOldLedgerDropsItsRowsFamily) {
  testing::TempDir dir;
  ASSERT_NO_FATAL_FAILURE(WriteOldLayout(dir.path()));
  {
    auto store = Store::Open(dir.path(), StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    // The old rows are not carried over: the next catch-up folds them again from the log.
    std::string value;
    EXPECT_TRUE((*store)
                    ->projections_db()
                    ->Get(rocksdb::ReadOptions(), (*store)->projections(), "old-row", &value)
                    .IsNotFound());
  }
  const std::vector<std::string> families = Families(dir.path());
  EXPECT_FALSE(Has(families, "projections"));
  EXPECT_TRUE(Has(families, "receipts"));  // created as for any older ledger
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/projections/CURRENT"));
  // And it opens again, read-only and writable.
  StoreOptions read_only;
  read_only.read_only = true;
  EXPECT_TRUE(Store::Open(dir.path(), read_only).ok());
  EXPECT_TRUE(Store::Open(dir.path(), StoreOptions()).ok());
}

}  // namespace
}  // namespace mulin::ledger
