#include "ledger/snapshot.h"

#include <cstring>

namespace mulin::ledger {
namespace {
constexpr std::string_view kLatestKey = "latest";
constexpr size_t kSnapshotHeaderBytes = 8 + kChainHashBytes;
}  // namespace

Status WriteSnapshot(Store* store, const Snapshot& snapshot, size_t unlogged_bytes_min) {
  std::string header;
  PutFixed64(&header, snapshot.at.seq);
  header.append(reinterpret_cast<const char*>(snapshot.at.chain.data()), kChainHashBytes);
  // Header and state go into the batch as two parts: no third copy of the state to join them.
  const rocksdb::Slice key(kLatestKey.data(), kLatestKey.size());
  const rocksdb::Slice parts[] = {header, snapshot.state};
  rocksdb::WriteBatch batch;
  batch.Put(store->snapshots(), rocksdb::SliceParts(&key, 1), rocksdb::SliceParts(parts, 2));
  // Not synced: a snapshot lost in a crash only lengthens the next start-up's replay.
  if (snapshot.state.size() < unlogged_bytes_min) return store->Write(&batch, /*sync=*/false);
  // A large one goes past the WAL, and is flushed at once on RocksDB's flush thread. Through the
  // WAL, a state of 104 MB (1M volunteers) was copied there and then synced by the next synced
  // append, whose group waited 0.1 s for it (bench/RESULTS.md section 6). A crash before the flush
  // loses this snapshot and keeps the one before it: start-up replays a longer tail, never a
  // wrong one. A small one stays in the WAL: a flush a snapshot would switch the memtable and the
  // WAL on the writer thread, and leave a table file, for nothing.
  MULIN_RETURN_IF_ERROR(store->WriteUnlogged(&batch));
  return store->FlushInBackground(store->snapshots());
}

std::string_view StoredSnapshot::state() const {
  return std::string_view(value).substr(kSnapshotHeaderBytes);
}

Result<std::optional<StoredSnapshot>> ReadSnapshot(Store* store) {
  std::string value;
  rocksdb::Status s =
      store->db()->Get(rocksdb::ReadOptions(), store->snapshots(), kLatestKey, &value);
  if (s.IsNotFound()) return std::optional<StoredSnapshot>();
  if (!s.ok()) return FromRocks(s, "reading snapshot");
  if (value.size() < kSnapshotHeaderBytes) return std::optional<StoredSnapshot>();
  StoredSnapshot snapshot;
  snapshot.at.seq = GetFixed64(value.data());
  std::memcpy(snapshot.at.chain.data(), value.data() + 8, kChainHashBytes);
  snapshot.value = std::move(value);
  return std::optional<StoredSnapshot>(std::move(snapshot));
}

Result<std::optional<StoredSnapshot>> ReadUsableSnapshot(Store* store, const EventLog& log) {
  Result<std::optional<StoredSnapshot>> stored = ReadSnapshot(store);
  if (!stored.ok() || !stored->has_value()) return stored;
  const Head& at = (*stored)->at;
  if (at.seq == 0 || at.seq > log.head().seq) return std::optional<StoredSnapshot>();
  std::unique_ptr<LogCursor> cursor = log.NewCursor(at.seq, at.seq);
  if (!cursor->Valid()) return cursor->status();
  if (cursor->chain() != at.chain) return std::optional<StoredSnapshot>();
  return stored;
}

}  // namespace mulin::ledger
