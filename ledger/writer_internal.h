// The writer's internals shared by writer.cc (its threads and life cycle) and writer_group.cc
// (deciding a group and committing it). Not for use outside the writer.
#ifndef MULIN_LEDGER_WRITER_INTERNAL_H_
#define MULIN_LEDGER_WRITER_INTERNAL_H_

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ledger/command_decode.h"
#include "ledger/domain/state.h"
#include "ledger/receipt_index.h"
#include "ledger/writer.h"

namespace mulin::ledger {

struct Writer::Pending {
  // Decoded (and hashed) on the submitting thread, which keeps that work off the writer's.
  std::unique_ptr<DecodedCommand> command;
  Status decoded;  // ok, or why the command does not decode
  Done done;
  std::function<void(const domain::State&)> read;  // set for Read() requests instead
};

// One group of commands: decided in order on the writer thread, then appended together and
// completed together on the commit thread.
class Writer::Group {
 public:
  std::deque<Pending> pending;
  std::vector<CommandResult> results;
  std::vector<long> repeats;            // an earlier command of this group it repeats, or -1
  std::vector<long> in_flight_repeats;  // a command of the group in flight it repeats, or -1
  std::vector<bool> is_read;  // Read()s, run on the writer thread once the group is settled
  std::vector<std::function<void(const domain::State&)>> reads;
  std::vector<std::string> payloads;
  std::vector<RequestEntry> requests;
  std::vector<size_t> appended;  // indexes into results whose events are in `payloads`
  uint64_t first_seq = 0;        // the seq its first event takes
  uint64_t last_seq = 0;         // the seq its last event takes (first_seq - 1 when none)
  // Request keys decided earlier in this group (not yet in the log's index).
  domain::IdMap<std::pair<ContentHash, size_t>> keys;
  // The receipt keys its commands name, and the receipts its events create or reverse.
  std::vector<std::string> receipt_keys;
  // The positions in receipt_keys of those the writer held already when the group was decoded:
  // the only ones the group in flight can have named too.
  std::vector<size_t> receipt_keys_held;
  ReceiptBatch receipts;
  Status receipts_broken;  // an event the index could not take: the group is not appended
  // Set before the hand-over: every command fails with it and nothing is appended.
  Status fail;
  Status appended_status;  // the commit thread's Append, ok when nothing was to be appended
};

struct Writer::HeldReceipts {
  domain::IdMap<Receipt> receipts;
};

// Callers blocked in Execute are woken as a tree: the thread that completes a group wakes the
// first, and each caller woken wakes the two after it in the tree (2i + 1, 2i + 2), so that the
// completing thread, the serial stage of small groups, pays one wake-up a group instead of one a
// caller, and the other wake-ups run on the callers' threads in parallel (bench/RESULTS.md §2).
struct ExecuteWaiter;
struct WakeTree {
  std::vector<ExecuteWaiter*> waiters;  // in the order their commands completed
};
// Commit sets `collecting` while it completes a group's callers: Execute's callbacks then join
// `tree` instead of waking their caller. Elsewhere a callback wakes its caller itself.
struct WakeCollector {
  bool collecting = false;
  std::shared_ptr<WakeTree> tree;  // made by the first callback that joins
};
extern thread_local WakeCollector tls_wake_collector;
// Wakes the waiter at `index` and hands it the tree, whose children it then wakes.
void WakeFrom(const std::shared_ptr<WakeTree>& tree, size_t index);

}  // namespace mulin::ledger

#endif  // MULIN_LEDGER_WRITER_INTERNAL_H_
