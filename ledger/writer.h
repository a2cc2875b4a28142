// Writer: the single thread that owns the ledger's state and appends to its log.
//
// Callers submit commands (serialised schema::Command messages) to a bounded queue; when it is full
// they get kOverloaded at once. The writer thread takes a group of queued commands, decides each in
// order against the state (a rejected command does not affect the others), and hands the group's
// events to the commit thread, which appends them in one synced WriteBatch and then completes
// every caller. No lock guards a balance check: one thread decides.
//
// Pipeline: while group N is being appended and synced, the writer thread decides group N+1 on the
// state that includes N; N+1 is handed over only once N is durable, so the log is always a prefix
// of what was decided and callers are completed in order. When no command is waiting behind N, or
// N is small (WriterOptions::overlap_commands_min), the writer thread appends N itself: there is
// nothing to overlap, or too little to pay for the hand-over's wake-ups.
// Should N fail to append, N+1 (decided on a state that included N) fails too, with a message to
// retry, and the state is rebuilt from the log. Reads (Read/SubmitRead) and snapshots wait until
// everything decided is durable. A snapshot is encoded on the writer thread and written on a
// thread of its own, while the writer goes on; after the first, the writer encodes only the
// entries changed since the one before, and that thread merges them into the stored snapshot
// (WriterOptions::incremental_snapshots).
//
// Idempotency (DESIGN §2.9): a command's request key is (actor id, request id). The same key with
// the same content returns the original result and appends nothing, also after a restart (the log's
// request index is durable in the same batch as the events); the same key with different content is
// rejected with kConflict.
//
// Memory: the state holds registrations, balances, orders and payouts. Redemptions and sales, most
// of a log, live in the receipt index (ledger/receipt_index.h): a group reads the ones its commands
// name with one MultiGet, writes those it creates or reverses in its own batch, and forgets them.
//
// Thread-safety: Submit/Execute from any number of threads. Completion callbacks run on the writer
// or the commit thread, one at a time and in order, and must not block. Ownership: the Writer
// borrows the Store and EventLog, which must outlive it.
#ifndef MULIN_LEDGER_WRITER_H_
#define MULIN_LEDGER_WRITER_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/snapshot.h"
#include "ledger/status.h"
#include "ledger/store.h"

namespace mulin::domain {
struct State;
}

namespace mulin::ledger {

struct DecodedCommand;  // ledger/command_decode.h: a command decoded within limits, with its key

struct WriterOptions {
  // Commands waiting to be decided; past this Submit answers kOverloaded at once.
  size_t queue_commands_max = 64 * 1024;
  // Commands decided and appended as one group (one fsync). Groups of 1024 keep more of a group's
  // commands, events and keys in cache than groups of 4096 did: with a simulated 1 MiB L2 the
  // writer thread missed 29% less, and the pipelined appends spent less CPU per event and ran
  // faster (bench/RESULTS.md §1). Each group is one fsync, so smaller groups cost syncs.
  size_t group_commands_max = 1024;
  // A group of at least this many commands, with commands waiting behind it, goes to the commit
  // thread, and the next group is decided while it is appended. A smaller group is appended on the
  // writer thread itself: callers that wait for each answer (terminals, the RPC service) make
  // groups of tens, and the hand-over's two thread wake-ups cost them more than the overlap gives
  // back (bench/RESULTS.md §3). 0: every group with commands behind it is handed over.
  size_t overlap_commands_min = 256;
  // Write a state snapshot after this many events since the last one (0: never). A crash leaves
  // up to this many for the next start-up to replay: at 1M volunteers 100k took 0.62-0.79 s of a
  // 1.95-2.40 s start-up (bench/RESULTS.md section 6), and a snapshot stored beside the last whole
  // one costs the writer thread only the entries its interval changed.
  uint64_t snapshot_interval_events = 50000;
  // Snapshots of this many bytes or more are written past the WAL (ledger/snapshot.h).
  size_t unlogged_snapshot_bytes_min = kUnloggedSnapshotBytesMin;
  // A snapshot taken while the one before is stored holds only the entries changed since
  // (domain::EncodeChanges): the writer thread encodes an interval's changes, not the whole state.
  // Its own thread lays them over the changes stored since the last whole snapshot, and stores the
  // result beside that snapshot (ledger/snapshot.h). Encoded whole: the first snapshot after an
  // Open that found none, the next after one that failed, and any whose changes name more entries
  // than the state holds (a small, busy state's; domain::ChangesAreSmaller). false: every
  // snapshot is encoded whole.
  bool incremental_snapshots = true;
  // Changes stored beside the whole snapshot are merged into it (domain::MergeStates), and the
  // whole written anew, once they reach this fraction of its size. At 1M volunteers (104 MB)
  // reading, merging and writing the whole took the snapshot's thread 0.5-1.0 s an interval;
  // storing the changes of two intervals beside it took 52-157 ms in all (bench/RESULTS.md §6).
  // Start-up lays them over the whole it reads. 0: the changes are merged every time.
  double snapshot_changes_fraction_max = 0.25;
  // Stop takes a snapshot when this many events or more followed the last one (0: never), so that
  // a start-up after a clean stop has no tail to replay: at 1M volunteers, replaying a tail of 99k
  // events took 0.66-0.68 s of a 1.9-2.2 s start-up (bench/RESULTS.md §6). Fewer are left to the
  // next start-up, as a command-line tool's few events are: a snapshot per run would cost it more.
  // Taken only with snapshot_interval_events set.
  uint64_t stop_snapshot_events_min = 10000;
  // The ledger clock's source, µs since epoch. Default: the system clock. The demo injects a
  // simulated clock. The ledger clock never goes backwards whatever this returns.
  std::function<int64_t()> clock_us;
};

struct CommandResult {
  Status status;             // ok, or rejected / conflict / overloaded / invalid / I/O
  uint64_t first_seq = 0;    // seq of the first event appended (0 when none)
  uint32_t event_count = 0;  // events appended for this command
  bool duplicate = false;    // an earlier identical request; nothing appended now
};

// Counters since open, for logs and benchmarks.
struct WriterStats {
  uint64_t commands = 0;   // commands decided (accepted, rejected or repeated)
  uint64_t groups = 0;     // groups appended (one synced WriteBatch each)
  uint64_t events = 0;     // events appended
  uint64_t snapshots = 0;  // state snapshots written (the one being written is not counted yet)
  uint64_t incremental_snapshots = 0;  // of which laid over the one before
  uint64_t merged_snapshots = 0;       // of which merged into the whole snapshot, not beside it
  // The writer thread's time encoding snapshots, in all and the longest: what the commands behind
  // a snapshot wait for (its write and any merge are on a thread of its own).
  uint64_t snapshot_encoding_us = 0;
  uint64_t snapshot_encoding_us_max = 0;
  // The snapshot thread's time storing them (merging and writing), in all and the longest.
  uint64_t snapshot_storing_us = 0;
  uint64_t snapshot_storing_us_max = 0;
  uint64_t queued = 0;  // commands and reads waiting for the writer thread when read
};

class Writer {
 public:
  using Done = std::function<void(const CommandResult&)>;

  // Loads the newest usable snapshot, replays the log's tail after it and starts the writer thread.
  static Result<std::unique_ptr<Writer>> Open(Store* store, EventLog* log,
                                              const WriterOptions& options);
  ~Writer();  // Stop()s
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Queues a serialised schema::Command. `done` is called exactly once: on the writer's or the
  // commit thread, or on the calling thread when the command is refused at once (overloaded, shut
  // down). The command is decoded, checked against its limits and hashed here, on the calling
  // thread: that work is a quarter of a redemption's and needs no state, so the writer's thread is
  // spared it.
  void Submit(std::string command, Done done);
  // Submits and waits for the result. The callers of one group are woken as a tree: the thread
  // that completes the group wakes one, and each caller woken wakes up to two more before it
  // returns.
  CommandResult Execute(std::string command);

  // Stops taking commands, finishes the queued ones, takes a snapshot when one is due at a stop
  // (WriterOptions::stop_snapshot_events_min), and joins the threads. Idempotent.
  void Stop();

  // Runs `read` on the writer thread between groups, with the current state, and waits for it.
  // For consistent reads of the live state (tests, balance look-ups); keep it short. The state's
  // redemptions and sales are empty there: they live in the receipt index (receipt_index.h).
  Status Read(const std::function<void(const domain::State&)>& read);
  // The same without waiting: `read` runs later on the writer thread (kShutdown once stopping).
  Status SubmitRead(std::function<void(const domain::State&)> read);

  WriterStats stats() const;

 private:
  struct Pending;
  class Group;

  struct HeldReceipts;

  Writer(Store* store, EventLog* log, const WriterOptions& options);
  Status LoadState();
  void Run();
  void DecideGroup(Group* group);
  void DecodeGroup(Group* group, std::vector<std::optional<RequestRecord>>* recorded);
  long DecideOne(const DecodedCommand& decoded, const std::optional<RequestRecord>& recorded,
                 int64_t now_us, size_t index, Group* group);
  void HandOver(std::unique_ptr<Group> group);
  void WaitForCommit();  // until the commit thread is done with the group handed to it
  Status Settle();
  void CommitLoop();
  void Commit(Group* group);
  void StopCommitter();
  // Every snapshot_interval_events events, and at a stop after stop_snapshot_events_min: encodes
  // the state, or its changes since the snapshot before, and starts its write on snapshot_writer_.
  void MaybeSnapshot(bool stopping = false);
  // Whether the state's changes are tracked for incremental snapshots: never without snapshots,
  // or what the state noted would grow with the log.
  bool TracksChanges() const {
    return options_.incremental_snapshots && options_.snapshot_interval_events != 0;
  }
  // On snapshot_writer_: writes `snapshot`, which holds the changes since the snapshot `base` when
  // it has one: beside the whole snapshot with the changes stored since, or merged into it.
  void WriteSnapshotTaken(Snapshot* snapshot, const std::optional<Head>& base);
  enum class StoredAs { kNotStored, kWhole, kBeside, kMerged };
  StoredAs StoreSnapshotTaken(Snapshot* snapshot, const std::optional<Head>& base);

  Store* store_;
  EventLog* log_;
  WriterOptions options_;
  std::unique_ptr<domain::State> state_;  // touched only by the writer thread after Open
  // The receipts state_ holds, with their seqs: those named by the group being decided and by the
  // one being committed (writer thread only).
  std::unique_ptr<HeldReceipts> held_;
  // The group handed to the commit thread and not yet settled (writer thread only).
  std::unique_ptr<Group> in_flight_;
  int64_t clock_high_us_ = 0;  // ledger clock: the latest recorded_at
  uint64_t last_snapshot_seq_ = 0;
  // The snapshot that state_'s changes are tracked from (incremental_snapshots), and whether it is
  // stored: set by the thread that writes it, once it has, and read by the writer thread after
  // joining that thread.
  Head snapshot_base_;
  bool snapshot_base_stored_ = false;
  // The last whole snapshot stored, its size, and whether changes are stored beside it (then at
  // snapshot_base_): kept like snapshot_base_stored_.
  Head snapshot_whole_at_;
  size_t snapshot_whole_bytes_ = 0;
  bool snapshot_with_changes_ = false;
  // Set when the state could not be rebuilt after a failed append; every later command fails with
  // it rather than be decided against a state that may not match the log.
  Status broken_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<Pending> queue_;  // guarded by mu_
  bool stopping_ = false;      // guarded by mu_
  WriterStats stats_;          // guarded by mu_
  std::thread thread_;

  // The commit thread and its one-group hand-over slot.
  std::mutex commit_mu_;
  std::condition_variable commit_cv_;
  Group* commit_next_ = nullptr;  // guarded by commit_mu_: handed over, not yet taken
  bool commit_busy_ = false;      // guarded by commit_mu_: a group is handed over and not done
  bool commit_stop_ = false;      // guarded by commit_mu_
  std::thread committer_;

  // Writes the last snapshot taken (MaybeSnapshot), while the writer thread goes on deciding. At
  // most one at a time: the writer thread joins it before it takes the next, and Stop joins it.
  std::thread snapshot_writer_;
};

}  // namespace mulin::ledger

#endif  // MULIN_LEDGER_WRITER_H_
