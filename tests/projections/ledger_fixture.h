// A real ledger (RocksDB in a temp dir) for projection tests, and helpers to compare row sets.
#ifndef MULIN_TESTS_PROJECTIONS_LEDGER_FIXTURE_H_
#define MULIN_TESTS_PROJECTIONS_LEDGER_FIXTURE_H_

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/store.h"
#include "projections/row_store.h"
#include "tests/projections/random_stream.h"
#include "tests/support/temp_dir.h"

namespace mulin::testing {

using RowMap = std::map<std::string, std::string>;

// Every row of `store` whose key starts with `prefix`, in key order.
inline RowMap DumpRows(const projections::RowStore& store, const std::string& prefix = "") {
  RowMap rows;
  Status s = projections::ScanPrefix(store, prefix, [&](std::string_view k, std::string_view v) {
    rows.emplace(std::string(k), std::string(v));
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return rows;
}

// A row key for a message: printable bytes as they are, others as \xNN.
inline std::string PrintableKey(const std::string& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += std::string("\\x") + kDigits[c >> 4] + kDigits[c & 15];
    }
  }
  return out;
}

// Names the first key where two row sets differ ("" when they are equal).
inline std::string FirstDifference(const RowMap& expected, const RowMap& found) {
  auto e = expected.begin();
  auto f = found.begin();
  for (; e != expected.end() && f != found.end(); ++e, ++f) {
    if (e->first != f->first)
      return "key " + PrintableKey(e->first) + " vs key " + PrintableKey(f->first);
    if (e->second != f->second) return "value of key " + PrintableKey(e->first);
  }
  if (e != expected.end()) return "missing key " + PrintableKey(e->first);
  if (f != found.end()) return "extra key " + PrintableKey(f->first);
  return "";
}

class LedgerFixture {
 public:
  explicit LedgerFixture(const std::string& dir) : dir_(dir) {}

  void Open(bool read_only = false) {
    rows_.reset();
    log_.reset();
    store_.reset();
    ledger::StoreOptions options;
    options.read_only = read_only;
    auto store = ledger::Store::Open(dir_, options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    auto log = ledger::EventLog::Open(store_.get());
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    rocksdb::WriteOptions write_options;
    write_options.sync = false;
    rows_ = std::make_unique<projections::RocksRowStore>(*store_, write_options, read_only);
  }

  void Close() {
    rows_.reset();
    log_.reset();
    store_.reset();
  }

  void Append(const std::vector<std::string>& payloads) {
    for (size_t at = 0; at < payloads.size(); at += ledger::kAppendRecordsMax) {
      const size_t end = std::min(payloads.size(), at + ledger::kAppendRecordsMax);
      std::vector<std::string> chunk(payloads.begin() + static_cast<std::ptrdiff_t>(at),
                                     payloads.begin() + static_cast<std::ptrdiff_t>(end));
      Status s = log_->Append(chunk, {});
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
  }

  // Appends `count` or more random rule-abiding events (testing::RandomStream(seed)); returns the
  // head's seq.
  uint64_t AppendRandomEvents(uint64_t seed, size_t count) {
    RandomStream stream(seed);
    Append(stream.Next(count));
    return log_->head().seq;
  }

  ledger::Store* store() { return store_.get(); }
  ledger::EventLog* log() { return log_.get(); }
  projections::RocksRowStore* rows() { return rows_.get(); }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::unique_ptr<ledger::Store> store_;
  std::unique_ptr<ledger::EventLog> log_;
  std::unique_ptr<projections::RocksRowStore> rows_;
};

}  // namespace mulin::testing

#endif  // MULIN_TESTS_PROJECTIONS_LEDGER_FIXTURE_H_
