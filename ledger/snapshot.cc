#include "ledger/snapshot.h"

#include <cstring>

namespace mulin::ledger {
namespace {
constexpr std::string_view kLatestKey = "latest";
constexpr size_t kSnapshotHeaderBytes = 8 + kChainHashBytes;
}  // namespace

Status WriteSnapshot(Store* store, const Snapshot& snapshot) {
  std::string value;
  value.reserve(kSnapshotHeaderBytes + snapshot.state.size());
  PutFixed64(&value, snapshot.at.seq);
  value.append(reinterpret_cast<const char*>(snapshot.at.chain.data()), kChainHashBytes);
  value.append(snapshot.state);
  rocksdb::WriteBatch batch;
  batch.Put(store->snapshots(), kLatestKey, value);
  // Not synced: a snapshot lost in a crash only lengthens the next start-up's replay.
  return store->Write(&batch, /*sync=*/false);
}

Result<std::optional<Snapshot>> ReadUsableSnapshot(Store* store, const EventLog& log) {
  std::string value;
  rocksdb::Status s =
      store->db()->Get(rocksdb::ReadOptions(), store->snapshots(), kLatestKey, &value);
  if (s.IsNotFound()) return std::optional<Snapshot>();
  if (!s.ok()) return FromRocks(s, "reading snapshot");
  if (value.size() < kSnapshotHeaderBytes) return std::optional<Snapshot>();
  Snapshot snapshot;
  snapshot.at.seq = GetFixed64(value.data());
  std::memcpy(snapshot.at.chain.data(), value.data() + 8, kChainHashBytes);
  if (snapshot.at.seq == 0 || snapshot.at.seq > log.head().seq) return std::optional<Snapshot>();
  std::unique_ptr<LogCursor> cursor = log.NewCursor(snapshot.at.seq, snapshot.at.seq);
  if (!cursor->Valid()) return cursor->status();
  if (cursor->chain() != snapshot.at.chain) return std::optional<Snapshot>();
  // In place: a copy would hold the state twice at the peak of a start-up.
  value.erase(0, kSnapshotHeaderBytes);
  snapshot.state = std::move(value);
  return std::optional<Snapshot>(std::move(snapshot));
}

}  // namespace mulin::ledger
