// Goal: Store::MultiGet answers every key as a Get would, in the caller's order, whatever the keys:
// shared prefixes longer than the 16 bytes its sort compares as words, keys that differ only by
// trailing zero bytes, repeats and misses, with entries in tables and in the memtable. A write past
// the WAL is lost by a crash until it is flushed, and only it.
#include "ledger/store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/temp_dir.h"

namespace mulin::ledger {
namespace {

// 1 to 40 bytes over {'\0', 'a', 'b'}, after one of three prefixes: none, 8 bytes, 20 bytes.
std::string RandomKey(std::mt19937* rng) {
  static const std::string kPrefixes[] = {"", "T17\x1fp-00",
                                          std::string("terminal-0001\x1fp-0000", 20)};
  std::string key = kPrefixes[(*rng)() % 3];
  const size_t length = 1 + (*rng)() % 40;
  for (size_t i = 0; i < length; ++i) key.push_back("\0ab"[(*rng)() % 3]);
  return key;
}

TEST(StoreMultiGet, AnswersAsGetInTheCallersOrder) {
  testing::TempDir dir;
  auto opened = Store::Open(dir.path(), StoreOptions());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Store& store = **opened;
  rocksdb::DB* db = store.db();
  std::mt19937 rng(20261129);
  std::vector<std::string> written;
  // Three rounds: two end in a flush (tables), the last stays in the memtable; later rounds
  // write some earlier keys again with new values.
  for (int round = 0; round < 3; ++round) {
    rocksdb::WriteBatch batch;
    for (int i = 0; i < 3000; ++i) {
      std::string key =
          !written.empty() && rng() % 4 == 0 ? written[rng() % written.size()] : RandomKey(&rng);
      ASSERT_TRUE(batch.Put(store.requests(), key, key + "/" + std::to_string(round)).ok());
      written.push_back(std::move(key));
    }
    ASSERT_TRUE(store.Write(&batch, /*sync=*/false).ok());
    if (round < 2) {
      ASSERT_TRUE(db->Flush(rocksdb::FlushOptions(), store.requests()).ok());
    }
  }
  // Written keys, their one-byte extensions and truncations (mostly misses), and repeats.
  std::vector<std::string> asked;
  for (const std::string& key : written) {
    asked.push_back(key);
    if (rng() % 3 == 0) asked.push_back(key + std::string(1, '\0'));
    if (rng() % 3 == 0) asked.push_back(key.substr(0, key.size() - 1));
  }
  std::shuffle(asked.begin(), asked.end(), rng);
  std::vector<rocksdb::Slice> keys(asked.begin(), asked.end());
  std::vector<rocksdb::PinnableSlice> values;
  std::vector<rocksdb::Status> statuses;
  store.MultiGet(store.requests(), keys, &values, &statuses);
  ASSERT_EQ(values.size(), asked.size());
  ASSERT_EQ(statuses.size(), asked.size());
  size_t found = 0, missing = 0;
  for (size_t i = 0; i < asked.size(); ++i) {
    std::string expected;
    const rocksdb::Status get =
        db->Get(rocksdb::ReadOptions(), store.requests(), asked[i], &expected);
    ASSERT_EQ(statuses[i].code(), get.code()) << "key " << i;
    if (get.ok()) {
      ASSERT_EQ(values[i].ToString(), expected) << "key " << i;
      ++found;
    } else {
      ASSERT_TRUE(get.IsNotFound());
      ++missing;
    }
  }
  EXPECT_GT(found, 8000u);
  EXPECT_GT(missing, 1000u);
}

TEST(StoreMultiGet, NoKeysNoAnswers) {
  testing::TempDir dir;
  auto opened = Store::Open(dir.path(), StoreOptions());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::vector<rocksdb::PinnableSlice> values(2);
  std::vector<rocksdb::Status> statuses(2);
  (*opened)->MultiGet((*opened)->receipts(), {}, &values, &statuses);
  EXPECT_TRUE(values.empty());
  EXPECT_TRUE(statuses.empty());
}

// What a process killed now leaves: the files of `dir` as they are, copied while it is open.
void CopyAsCrashed(const std::string& dir, const std::string& to) {
  testing::CopyLiveDirectory(dir, to);
}

std::optional<std::string> Stored(const std::string& dir, const std::string& key) {
  auto opened = Store::Open(dir, StoreOptions());
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  if (!opened.ok()) return std::nullopt;
  std::string value;
  rocksdb::Status s =
      (*opened)->db()->Get(rocksdb::ReadOptions(), (*opened)->snapshots(), key, &value);
  EXPECT_TRUE(s.ok() || s.IsNotFound()) << s.ToString();
  return s.ok() ? std::optional<std::string>(value) : std::nullopt;
}

// An unlogged write (a snapshot's) is lost by a crash until its family is flushed, and only it: a
// synced write beside it stays. Once FlushInBackground's flush is done, a crash keeps it.
TEST(StoreUnlogged, LostInACrashUntilFlushedThenKept) {
  testing::TempDir dir;
  auto opened = Store::Open(dir.Sub("ledger"), StoreOptions());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Store& store = **opened;
  rocksdb::WriteBatch logged;
  ASSERT_TRUE(logged.Put(store.snapshots(), "logged", "kept").ok());
  ASSERT_TRUE(store.Write(&logged, /*sync=*/true).ok());
  rocksdb::WriteBatch unlogged;
  ASSERT_TRUE(unlogged.Put(store.snapshots(), "unlogged", std::string(1 << 20, 's')).ok());
  ASSERT_TRUE(store.WriteUnlogged(&unlogged).ok());
  CopyAsCrashed(dir.Sub("ledger"), dir.Sub("before-flush"));
  EXPECT_EQ(Stored(dir.Sub("before-flush"), "logged"), "kept");
  EXPECT_EQ(Stored(dir.Sub("before-flush"), "unlogged"), std::nullopt);

  ASSERT_TRUE(store.FlushInBackground(store.snapshots()).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::string tables = "0";
  while (store.db()->GetProperty(store.snapshots(), "rocksdb.num-files-at-level0", &tables) &&
         tables == "0" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_NE(tables, "0") << "the flush did not happen";
  CopyAsCrashed(dir.Sub("ledger"), dir.Sub("after-flush"));
  EXPECT_EQ(Stored(dir.Sub("after-flush"), "logged"), "kept");
  EXPECT_EQ(Stored(dir.Sub("after-flush"), "unlogged"), std::string(1 << 20, 's'));
}

}  // namespace
}  // namespace mulin::ledger
