// How the ledger's column families are configured (memtables, tables, compression), and the
// info log of a writable open. Internal to Store.
#include "ledger/store_families.h"

#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "ledger/append_memtable.h"
#include "ledger/point_memtable.h"

namespace mulin::ledger::internal {
namespace {

// RocksDB's own info log aborts the process (an assertion left on in Debian's librocksdb) on the
// first line it writes after a write to it failed, as on a full disk, and RocksDB logs from its
// background threads while it recovers from that very error. Diagnostics must never take the
// ledger down, so the info log is written with stdio, whose failures are dropped with the line.
class InfoLog final : public rocksdb::Logger {
 public:
  InfoLog(std::FILE* file, rocksdb::InfoLogLevel level) : rocksdb::Logger(level), file_(file) {}
  ~InfoLog() override { std::fclose(file_); }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    std::lock_guard<std::mutex> lock(mu_);
    std::fprintf(
        file_, "%lld ",
        static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(now).count()));
    std::vfprintf(file_, format, ap);
    std::fputc('\n', file_);
    std::fflush(file_);
  }

 private:
  std::mutex mu_;
  std::FILE* file_;
};

}  // namespace

rocksdb::ColumnFamilyOptions EventFamilyOptions() {
  rocksdb::ColumnFamilyOptions options;
  // Keys arrive in ascending order and are never overwritten: level compaction moves each record
  // down once, and whole-key bloom filters help the point reads of `mulin history` et al. The
  // memtable keeps entries in the order they arrive, which is their order (append_memtable.h).
  rocksdb::BlockBasedTableOptions table;
  table.block_size = 16 * 1024;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  options.compression = rocksdb::kLZ4Compression;
  options.memtable_factory = std::make_shared<AppendMemTableFactory>();
  return options;
}

// Request keys ("actor\x1frequest-id") and receipt keys (kind + redemption or sale id) are only
// ever read by exact key, never iterated but by checks and flushes, and nearly every look-up
// misses (a new request id, a new redemption's id): whole-key bloom filters in the tables and in
// the memtable answer a miss without searching. Keys arrive in random order, so the memtable is a
// hash of short lists (ledger/point_memtable.h) rather than a skip list: an insert touches one
// bucket instead of walking a search path of log(n) random keys on the commit path (for receipts
// in one skip list that was 23k instructions per redemption, callgrind of writer_bench), and the
// flush sorts the entries once. No prefix extractor: every read is by whole key, and RocksDB's
// iterators over the family then ask the memtable for a total order.
// Blocks of 16 KiB, as in `events`: the bloom filter answers nearly every miss without a block,
// and each block a flush writes costs LZ4 a fresh 16 KiB stream state. With RocksDB's default
// 4 KiB these families made two thirds of the blocks; at 16 KiB the flush thread ran 18.5M fewer
// instructions over 30,000 appends, 4% of its work (callgrind, writer_bench --events 30000
// --runs 1 --appends-only 1).
constexpr size_t kPointMemtableBuckets = 256 * 1024;

rocksdb::ColumnFamilyOptions PointLookupFamilyOptions() {
  rocksdb::ColumnFamilyOptions options;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.whole_key_filtering = true;
  table.block_size = 16 * 1024;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  options.memtable_whole_key_filtering = true;
  options.memtable_prefix_bloom_size_ratio = 0.05;  // the memtable's bloom filter, whole keys here
  options.memtable_factory = std::make_shared<PointKeyMemTableFactory>(kPointMemtableBuckets);
  options.compression = rocksdb::kLZ4Compression;
  return options;
}

// One key ("latest"), rewritten with the whole writer state every snapshot interval: a value of
// tens to hundreds of MB that is written once, read once at start-up and soon compacted away.
// Compressing it bought little space and cost the most of all at start-up: at 1.1M events,
// Snappy-decompressing the snapshot was 19% of Writer::Open's instructions (callgrind).
rocksdb::ColumnFamilyOptions SnapshotFamilyOptions() {
  rocksdb::ColumnFamilyOptions options;
  options.compression = rocksdb::kNoCompression;
  return options;
}

// The info log of a ledger opened for writing: <dir>/LOG, appended to. Read-only opens keep
// RocksDB's default, which writes nothing to the ledger directory.
std::shared_ptr<rocksdb::Logger> OpenInfoLog(const std::string& dir, rocksdb::InfoLogLevel level) {
  std::error_code ignored;
  std::filesystem::create_directories(dir, ignored);
  std::FILE* file = std::fopen((dir + "/LOG").c_str(), "ae");
  if (file == nullptr) return nullptr;  // RocksDB then opens its own, as it would anyway
  return std::make_shared<InfoLog>(file, level);
}

}  // namespace mulin::ledger::internal
