#include "ledger/snapshot.h"

#include <cstring>
#include <utility>

namespace mulin::ledger {
namespace {
constexpr std::string_view kLatestKey = "latest";
constexpr std::string_view kChangesKey = "changes";
constexpr size_t kHeadBytes = 8 + kChainHashBytes;

void PutHead(std::string* out, const Head& head) {
  PutFixed64(out, head.seq);
  out->append(reinterpret_cast<const char*>(head.chain.data()), kChainHashBytes);
}

Head GetHead(const char* p) {
  Head head;
  head.seq = GetFixed64(p);
  std::memcpy(head.chain.data(), p + 8, kChainHashBytes);
  return head;
}

rocksdb::Slice SliceOf(std::string_view bytes) {
  return rocksdb::Slice(bytes.data(), bytes.size());
}

// Puts header and state under `key` as two parts, no third copy of the state to join them, after
// `batch`'s own updates.
Status PutSnapshotValue(Store* store, rocksdb::WriteBatch* batch, std::string_view key,
                        const std::string& header, std::string_view state,
                        size_t unlogged_bytes_min) {
  const rocksdb::Slice key_slice = SliceOf(key);
  const rocksdb::Slice parts[] = {header, SliceOf(state)};
  batch->Put(store->snapshots(), rocksdb::SliceParts(&key_slice, 1), rocksdb::SliceParts(parts, 2));
  // Not synced: a snapshot lost in a crash only lengthens the next start-up's replay.
  if (state.size() < unlogged_bytes_min) return store->Write(batch, /*sync=*/false);
  // A large one goes past the WAL, and is flushed at once on RocksDB's flush thread. Through the
  // WAL, a state of 104 MB (1M volunteers) was copied there and then synced by the next synced
  // append, whose group waited 0.1 s for it (bench/RESULTS.md section 6). A crash before the flush
  // loses this snapshot and keeps the one before it: start-up replays a longer tail, never a
  // wrong one. A small one stays in the WAL: a flush a snapshot would switch the memtable and the
  // WAL on the writer thread, and leave a table file, for nothing.
  MULIN_RETURN_IF_ERROR(store->WriteUnlogged(batch));
  return store->FlushInBackground(store->snapshots());
}

// The snapshot under `key`, nullopt when there is none or its header is cut short.
Result<std::optional<StoredSnapshot>> ReadStored(Store* store, std::string_view key,
                                                 bool with_base) {
  std::optional<StoredSnapshot> stored;
  std::string value;
  rocksdb::Status s =
      store->db()->Get(rocksdb::ReadOptions(), store->snapshots(), SliceOf(key), &value);
  if (s.IsNotFound()) return stored;
  if (!s.ok()) return FromRocks(s, "reading snapshot");
  if (value.size() < (with_base ? 2 : 1) * kHeadBytes) return stored;
  stored.emplace();
  stored->at = GetHead(value.data());
  if (with_base) stored->base = GetHead(value.data() + kHeadBytes);
  stored->value = std::move(value);
  return stored;
}

// Whether the log holds the record `at` names, with its chain hash.
Result<bool> InLog(const EventLog& log, const Head& at) {
  if (at.seq == 0 || at.seq > log.head().seq) return false;
  std::unique_ptr<LogCursor> cursor = log.NewCursor(at.seq, at.seq);
  if (!cursor->Valid()) return cursor->status();
  return cursor->chain() == at.chain;
}

}  // namespace

Status WriteSnapshot(Store* store, const Snapshot& snapshot, size_t unlogged_bytes_min) {
  std::string header;
  PutHead(&header, snapshot.at);
  rocksdb::WriteBatch batch;
  // The changes stored beside the snapshot before go with it: they are based on it alone.
  batch.Delete(store->snapshots(), SliceOf(kChangesKey));
  return PutSnapshotValue(store, &batch, kLatestKey, header, snapshot.state, unlogged_bytes_min);
}

Status WriteSnapshotChanges(Store* store, const Head& at, const Head& base,
                            std::string_view changes, size_t unlogged_bytes_min) {
  std::string header;
  PutHead(&header, at);
  PutHead(&header, base);
  rocksdb::WriteBatch batch;
  return PutSnapshotValue(store, &batch, kChangesKey, header, changes, unlogged_bytes_min);
}

std::string_view StoredSnapshot::state() const {
  return std::string_view(value).substr(base.has_value() ? 2 * kHeadBytes : kHeadBytes);
}

Result<std::optional<StoredSnapshot>> ReadSnapshot(Store* store) {
  return ReadStored(store, kLatestKey, /*with_base=*/false);
}

Result<std::optional<StoredSnapshot>> ReadSnapshotChanges(Store* store) {
  return ReadStored(store, kChangesKey, /*with_base=*/true);
}

Result<std::optional<LoadedSnapshot>> LoadSnapshot(Store* store, const EventLog& log) {
  std::optional<LoadedSnapshot> loaded;
  {
    Result<std::optional<StoredSnapshot>> whole = ReadSnapshot(store);
    if (!whole.ok()) return whole.status();
    if (!whole->has_value()) return loaded;
    Result<bool> usable = InLog(log, (*whole)->at);
    if (!usable.ok()) return usable.status();
    if (!*usable) return loaded;
    Result<domain::State> state = domain::DecodeState((*whole)->state());
    // An undecodable snapshot is ignored: replaying the log in full is slower but equally right.
    if (!state.ok()) return loaded;
    loaded.emplace();
    loaded->state = std::move(state).value();
    loaded->at = loaded->whole_at = (*whole)->at;
    loaded->whole_bytes = (*whole)->state().size();
  }  // the whole snapshot's bytes are freed before the changes are read
  Result<std::optional<StoredSnapshot>> changes = ReadSnapshotChanges(store);
  if (!changes.ok()) return changes.status();
  if (!changes->has_value() || !((*changes)->base == loaded->whole_at) ||
      (*changes)->at.seq <= loaded->at.seq) {
    return loaded;
  }
  Result<bool> usable = InLog(log, (*changes)->at);
  if (!usable.ok()) return usable.status();
  if (!*usable || !domain::OverlayChanges(&loaded->state, (*changes)->state()).ok()) {
    return loaded;
  }
  loaded->at = (*changes)->at;
  loaded->with_changes = true;
  return loaded;
}

}  // namespace mulin::ledger
