// Snapshots of the writer's state, so that a large ledger starts by replaying only the log's tail.
//
// Column family `snapshots`:
//   "latest" → seq: fixed64 LE  chain: u8[32]  state: u8[*]   (domain::EncodeState bytes)
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
// put it through memory once more on every start-up.
struct StoredSnapshot {
  Head at;
  std::string value;  // the header, then the state
  std::string_view state() const;
};

// Writes `snapshot` as the latest. One of `unlogged_bytes_min` bytes or more is written past the
// WAL and flushed at once (Store::WriteUnlogged); a smaller one goes through the WAL, unsynced.
Status WriteSnapshot(Store* store, const Snapshot& snapshot,
                     size_t unlogged_bytes_min = kUnloggedSnapshotBytesMin);
// The latest snapshot as stored, or nullopt when none is (or its header is cut short).
Result<std::optional<StoredSnapshot>> ReadSnapshot(Store* store);
// The latest snapshot, or nullopt when none is stored or it does not match `log`.
Result<std::optional<StoredSnapshot>> ReadUsableSnapshot(Store* store, const EventLog& log);

}  // namespace mulin::ledger

#endif  // MULIN_LEDGER_SNAPSHOT_H_
