// The writer's snapshots: taken on the writer thread (MaybeSnapshot), stored on a thread of their
// own (WriteSnapshotTaken), beside the last whole snapshot or merged into it (ledger/snapshot.h).
#include <pthread.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <memory>
#include <system_error>
#include <thread>
#include <utility>

#include "ledger/domain/state.h"
#include "ledger/huge_pages.h"
#include "ledger/snapshot.h"
#include "ledger/writer.h"
#include "ledger/writer_internal.h"

namespace mulin::ledger {
namespace {

uint64_t MicrosSince(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
}

}  // namespace

void Writer::MaybeSnapshot(bool stopping) {
  const uint64_t due =
      stopping ? options_.stop_snapshot_events_min : options_.snapshot_interval_events;
  if (options_.snapshot_interval_events == 0 || due == 0 ||
      state_->last_seq < last_snapshot_seq_ + due) {
    return;
  }
  // Snapshots are written in the order they are taken, each once the one before is stored.
  if (snapshot_writer_.joinable()) snapshot_writer_.join();
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->at = log_->head();
  assert(snapshot->at.seq == state_->last_seq);
  std::optional<Head> base;
  if (snapshot_base_stored_ && state_->changes.tracking() && domain::ChangesAreSmaller(*state_)) {
    base = snapshot_base_;
  }
  {
    // A whole snapshot's bytes are built, batched and copied into a memtable on fresh memory,
    // three times its size (104 MB at 1M volunteers): on huge pages, as at start-up. Three
    // alternated pairs of 300k appends at 1M volunteers, two snapshots each: 35.5, 36.3 and
    // 34.8k events/s on 4 KiB pages, 41.1, 45.4 and 51.6k on huge pages.
    HugePageScope huge_pages;
    const auto start = std::chrono::steady_clock::now();
    snapshot->state = base ? domain::EncodeChanges(*state_) : domain::EncodeState(*state_);
    const uint64_t us = MicrosSince(start);
    std::lock_guard<std::mutex> lock(mu_);
    stats_.snapshot_encoding_us += us;
    stats_.snapshot_encoding_us_max = std::max(stats_.snapshot_encoding_us_max, us);
  }
  if (TracksChanges()) state_->changes.Restart();
  snapshot_base_ = snapshot->at;
  snapshot_base_stored_ = false;
  last_snapshot_seq_ = snapshot->at.seq;
  // Stored on a thread of its own: at 1M volunteers the write held the writer thread for 0.3-0.5 s
  // every snapshot; storing the changes of a run's snapshots takes that thread 46-215 ms, and a
  // merge into the whole 0.5-1.0 s (bench/RESULTS.md section 6). The state is not read there,
  // only the bytes.
  const auto write = [this, snapshot, base] { WriteSnapshotTaken(snapshot.get(), base); };
  try {
    snapshot_writer_ = std::thread([write] {
      pthread_setname_np(pthread_self(), "mulin-snapshot");
      write();
    });
  } catch (const std::system_error&) {
    write();  // no thread to be had: written here
  }
}

void Writer::WriteSnapshotTaken(Snapshot* snapshot, const std::optional<Head>& base) {
  HugePageScope huge_pages;
  const auto start = std::chrono::steady_clock::now();
  const StoredAs stored = StoreSnapshotTaken(snapshot, base);
  const uint64_t us = MicrosSince(start);
  std::lock_guard<std::mutex> lock(mu_);
  stats_.snapshot_storing_us += us;
  stats_.snapshot_storing_us_max = std::max(stats_.snapshot_storing_us_max, us);
  if (stored == StoredAs::kNotStored) return;
  ++stats_.snapshots;
  if (base.has_value()) ++stats_.incremental_snapshots;
  if (stored == StoredAs::kMerged) ++stats_.merged_snapshots;
}

Writer::StoredAs Writer::StoreSnapshotTaken(Snapshot* snapshot, const std::optional<Head>& base) {
  // A snapshot that fails is not stored: the next is taken whole, and the log stays the truth
  // (a lost snapshot only lengthens the next start-up).
  StoredAs stored_as = StoredAs::kWhole;
  if (base.has_value()) {
    // The changes since the whole snapshot: those stored, with this interval's laid over them.
    // They are read back rather than kept: up to a quarter of the state (26 MB at 1M volunteers)
    // that the process would otherwise hold between snapshots.
    if (snapshot_with_changes_) {
      Result<std::optional<StoredSnapshot>> stored = ReadSnapshotChanges(store_);
      if (!stored.ok() || !stored->has_value() || !((*stored)->at == *base) ||
          !((*stored)->base == snapshot_whole_at_)) {
        return StoredAs::kNotStored;
      }
      Result<std::string> changes = domain::MergeStates((*stored)->state(), snapshot->state);
      if (!changes.ok()) return StoredAs::kNotStored;
      snapshot->state = std::move(changes).value();
    }
    if (static_cast<double>(snapshot->state.size()) <
        options_.snapshot_changes_fraction_max * static_cast<double>(snapshot_whole_bytes_)) {
      if (!WriteSnapshotChanges(store_, snapshot->at, snapshot_whole_at_, snapshot->state,
                                options_.unlogged_snapshot_bytes_min)
               .ok()) {
        return StoredAs::kNotStored;
      }
      snapshot_with_changes_ = true;
      snapshot_base_stored_ = true;
      return StoredAs::kBeside;
    }
    // Grown large: merged into the whole snapshot they were tracked from, which is written anew.
    Result<std::optional<StoredSnapshot>> stored = ReadSnapshot(store_);
    if (!stored.ok() || !stored->has_value() || !((*stored)->at == snapshot_whole_at_)) {
      return StoredAs::kNotStored;
    }
    Result<std::string> merged = domain::MergeStates((*stored)->state(), snapshot->state);
    if (!merged.ok()) return StoredAs::kNotStored;
    snapshot->state = std::move(merged).value();
    stored_as = StoredAs::kMerged;
  }
  if (!WriteSnapshot(store_, *snapshot, options_.unlogged_snapshot_bytes_min).ok()) {
    return StoredAs::kNotStored;
  }
  snapshot_whole_at_ = snapshot->at;
  snapshot_whole_bytes_ = snapshot->state.size();
  snapshot_with_changes_ = false;
  snapshot_base_stored_ = true;
  return stored_as;
}

}  // namespace mulin::ledger
