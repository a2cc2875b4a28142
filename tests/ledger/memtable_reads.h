// Reads that every memtable of the ledger must answer as RocksDB's own do, for the memtable
// tests: Get, MultiGet and scans in both directions, against a model of what was written.
#pragma once

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>

#include <atomic>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace mulin::ledger::testing_memtable {

using Model = std::map<std::string, std::string>;

// Options for a database whose families keep their memtables with `factory`, written from one
// thread at a time as the ledger's are (its memtables refuse concurrent writes).
inline rocksdb::Options OptionsWith(std::shared_ptr<rocksdb::MemTableRepFactory> factory) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.allow_concurrent_memtable_write = false;
  options.memtable_factory = std::move(factory);
  return options;
}

inline std::unique_ptr<rocksdb::DB> Open(const std::string& dir, const rocksdb::Options& options) {
  rocksdb::DB* db = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return std::unique_ptr<rocksdb::DB>(db);
}

// Keys from a small alphabet with a zero byte in it: many share prefixes, many are written again.
// Half are 1 to 12 bytes; half start with the same 14 bytes, as request keys of one actor do, and
// run to 22, so that the flush's sort sees keys equal in both of its key words (16 bytes) and
// keys that differ from a shorter one by trailing zero bytes.
inline std::string RandomKey(std::mt19937* rng) {
  constexpr char kAlphabet[] = {'a', 'b', '\0'};
  const bool shared = (*rng)() % 2 == 0;
  std::string key(shared ? "actor-000001\x1fr" : "");
  key.append(1 + (*rng)() % (shared ? 8 : 12), 'a');
  for (size_t i = shared ? 14 : 0; i < key.size(); ++i) key[i] = kAlphabet[(*rng)() % 3];
  return key;
}

// Every read and scan of `db` at `snapshot` (nullptr: the latest) agrees with `model`.
inline void ExpectReads(rocksdb::DB* db, const rocksdb::Snapshot* snapshot, const Model& model,
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

// Writes 6000 keys from `next_key`, a quarter of them as deletes, with a snapshot every 1000 and
// a flush half-way; every snapshot then reads as it was, in the memtable and after a flush of all
// of it, and the latest reads as it is after a reopen that replays 2000 more writes from the WAL.
inline void ExpectEveryVersionAtEverySnapshot(const std::string& dir,
                                              const rocksdb::Options& options,
                                              const std::function<std::string()>& next_key,
                                              const std::vector<std::string>& probes) {
  std::unique_ptr<rocksdb::DB> db = Open(dir, options);
  std::mt19937 rng(6000);
  Model model;
  std::vector<std::pair<const rocksdb::Snapshot*, Model>> snapshots;
  for (int op = 0; op < 6000; ++op) {
    const std::string key = next_key();
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

  ASSERT_TRUE(db->Flush(rocksdb::FlushOptions()).ok());  // every version, through the flush
  for (const auto& [snapshot, seen] : snapshots) {
    ExpectReads(db.get(), snapshot, seen, probes);
    db->ReleaseSnapshot(snapshot);
  }

  for (int op = 0; op < 2000; ++op) {  // left in the WAL, replayed into a memtable by the reopen
    const std::string key = next_key();
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key, "late" + std::to_string(op)).ok());
    model[key] = "late" + std::to_string(op);
  }
  db.reset();
  db = Open(dir, options);
  ExpectReads(db.get(), nullptr, model, probes);
}

// One thread writes `keys`, each once and in the order given, while memtables of 256 KiB fill
// and flush; readers must find every key published before their read, and every scan is sorted
// and holds them all.
inline void ExpectReadersSeeEveryPublishedKey(const std::string& dir, rocksdb::Options options,
                                              const std::vector<std::string>& keys) {
  options.write_buffer_size = 256 * 1024;
  std::unique_ptr<rocksdb::DB> db = Open(dir, options);
  const size_t count = keys.size();
  std::atomic<size_t> published{0};
  std::atomic<size_t> failures{0};
  std::thread writer([&] {
    for (size_t i = 0; i < count; ++i) {
      if (!db->Put(rocksdb::WriteOptions(), keys[i], "v" + keys[i]).ok()) ++failures;
      published.store(i + 1, std::memory_order_release);
    }
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&, r] {
      std::mt19937 rng(r);
      while (published.load(std::memory_order_acquire) < count) {
        const size_t known = published.load(std::memory_order_acquire);
        if (known == 0) continue;
        const std::string& key = keys[rng() % known];
        std::string value;
        if (!db->Get(rocksdb::ReadOptions(), key, &value).ok() || value != "v" + key) ++failures;
      }
    });
  }
  std::thread scanner([&] {
    while (published.load(std::memory_order_acquire) < count) {
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

}  // namespace mulin::ledger::testing_memtable
