// Snapshots of the writer's state, so that a large ledger starts by replaying only the log's tail.
//
// Column family `snapshots`:
//   "latest"  → seq: fixed64 LE  chain: u8[32]  state: u8[*]   (domain::EncodeState bytes)
//   "changes" → seq: fixed64 LE  chain: u8[32]  base seq: fixed64 LE  base chain: u8[32]
//               state: u8[*]   (domain::EncodeChanges bytes: what changed since "latest")
// The state at a snapshot's seq is "latest" with "changes" laid over it (domain::MergeStates),
// when "changes" is based on it; otherwise "latest" alone. Writing "latest" deletes "changes" in
// the same batch. "changes" lets a writer store an interval's snapshot without rewriting the
// whole state (104 MB at 1M volunteers) until the changes grow large (WriterOptions).
// A snapshot is used only when the record at its seq still carries its chain hash: a snapshot of
// another history, or of a history since rewritten, is ignored (and the log replayed in full).
// A lost or unreadable snapshot costs start-up time, never correctness: the log is the truth.
// Thread-safety: pure functions over a Store.
#ifndef MULIN_LEDGER_SNAPSHOT_H_
#define MULIN_LEDGER_SNAPSHOT_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/domain/state.h"
#include "ledger/event_log.h"
#include "ledger/status.h"
#include "ledger/store.h"

namespace mulin::ledger {

// Snapshots from this size on are written past the WAL (WriteSnapshot).
inline constexpr size_t kUnloggedSnapshotBytesMin = 4 << 20;

struct Snapshot {
  Head at;            // the state reflects events 1..at.seq
  std::string state;  // domain::EncodeState bytes
};

// A snapshot as read back: the stored value whole, its state viewed in place. A state runs to
// 100 MB and more at a million volunteers; copying it out, or shifting it over the header, would
// put it through memory once more on every start-up. The changes stored beside the whole snapshot
// are read back the same way, with the head of the whole snapshot they are based on.
struct StoredSnapshot {
  Head at;
  std::optional<Head> base;  // the changes' whole snapshot; none for a whole snapshot
  std::string value;         // the header, then the state (or the changes)
  std::string_view state() const;
};

// Writes `snapshot` as the latest, and deletes the changes stored beside the one before. One of
// `unlogged_bytes_min` bytes or more is written past the WAL and flushed at once
// (Store::WriteUnlogged); a smaller one goes through the WAL, unsynced.
Status WriteSnapshot(Store* store, const Snapshot& snapshot,
                     size_t unlogged_bytes_min = kUnloggedSnapshotBytesMin);
// Writes `changes` (EncodeChanges bytes, at `at`) beside the whole snapshot at `base`, in place
// of any stored before, the same way as WriteSnapshot.
Status WriteSnapshotChanges(Store* store, const Head& at, const Head& base,
                            std::string_view changes,
                            size_t unlogged_bytes_min = kUnloggedSnapshotBytesMin);
// The latest whole snapshot as stored, or nullopt when none is (or its header is cut short).
Result<std::optional<StoredSnapshot>> ReadSnapshot(Store* store);
// The changes as stored, or nullopt when none are (or their header is cut short).
Result<std::optional<StoredSnapshot>> ReadSnapshotChanges(Store* store);

// The state a usable stored snapshot holds, decoded.
struct LoadedSnapshot {
  domain::State state;  // at `at`
  Head at;              // the changes' when they were laid over the whole, else the whole's
  Head whole_at;        // the whole snapshot's
  size_t whole_bytes = 0;
  bool with_changes = false;  // whether the changes stored beside the whole were laid over it
};
// The latest snapshot that matches `log`, its changes laid over it when they too match `log` and
// are based on it; nullopt when none is stored, it does not match, or it does not decode. Changes
// that do not match or do not decode are left out: the state is then the whole snapshot's.
// Decodes on two threads (domain::StatePart), the changes laid over the whole as each part decodes.
Result<std::optional<LoadedSnapshot>> LoadSnapshot(Store* store, const EventLog& log);

}  // namespace mulin::ledger

#endif  // MULIN_LEDGER_SNAPSHOT_H_
