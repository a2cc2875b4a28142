#include "ledger/snapshot.h"

#include <cstring>
#include <thread>
#include <utility>

#include "ledger/huge_pages.h"

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

// The state of the snapshot `whole` with `changes` laid over it (empty: none), decoded as two parts
// on two threads at once (domain::StatePart): at 1M volunteers a part takes each core most of a
// second. The other thread builds on huge pages too (LoadSnapshot).
Result<domain::State> DecodeOnTwoThreads(std::string_view whole, std::string_view changes) {
  domain::State state;
  Status activity;
  std::thread beside([&state, &activity, whole, changes] {
    HugePageScope huge_pages;
    activity = domain::DecodeStatePart(whole, changes, domain::StatePart::kActivity, &state);
  });
  Status registry = domain::DecodeStatePart(whole, changes, domain::StatePart::kRegistry, &state);
  beside.join();
  MULIN_RETURN_IF_ERROR(registry);
  MULIN_RETURN_IF_ERROR(activity);
  return state;
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
  // The snapshot is read and its state built on fresh memory, hundreds of MB at 1M volunteers:
  // on huge pages that takes a fault every 2 MiB instead of every 4 KiB (huge_pages.h). Three
  // alternated pairs of start-ups at 1M volunteers: 3.28-3.44 s on 4 KiB pages, 1.85-2.08 s on
  // huge pages, resident 256 and 264 MB after. The state's later allocations take 4 KiB pages.
  HugePageScope huge_pages;
  std::optional<LoadedSnapshot> loaded;
  Result<std::optional<StoredSnapshot>> whole = ReadSnapshot(store);
  if (!whole.ok()) return whole.status();
  if (!whole->has_value()) return loaded;
  Result<bool> usable = InLog(log, (*whole)->at);
  if (!usable.ok()) return usable.status();
  if (!*usable) return loaded;
  // The changes are read before the whole snapshot decodes, so that they decode beside it.
  Result<std::optional<StoredSnapshot>> changes = ReadSnapshotChanges(store);
  if (!changes.ok()) return changes.status();
  if (changes->has_value()) {
    const StoredSnapshot& stored = **changes;
    usable = stored.base == (*whole)->at && stored.at.seq > (*whole)->at.seq;
    if (*usable) usable = InLog(log, stored.at);
    if (!usable.ok()) return usable.status();
    if (!*usable) changes->reset();
  }
  std::string_view changed = changes->has_value() ? (*changes)->state() : std::string_view();
  Result<domain::State> state = DecodeOnTwoThreads((*whole)->state(), changed);
  if (!state.ok() && !changed.empty()) {
    // Changes that do not decode are left out: the state is then the whole snapshot's.
    changed = std::string_view();
    state = DecodeOnTwoThreads((*whole)->state(), changed);
  }
  // An undecodable snapshot is ignored: replaying the log in full is slower but equally right.
  if (!state.ok()) return loaded;
  loaded.emplace();
  loaded->state = std::move(state).value();
  loaded->whole_at = (*whole)->at;
  loaded->whole_bytes = (*whole)->state().size();
  loaded->with_changes = !changed.empty();
  loaded->at = loaded->with_changes ? (*changes)->at : (*whole)->at;
  return loaded;
}

}  // namespace mulin::ledger
