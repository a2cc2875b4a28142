// Deciding a group of commands on the writer thread, and committing it on the commit thread
// (ledger/writer.h describes the pipeline).
#include <kj/exception.h>

#include <string>
#include <unordered_set>
#include <vector>

#include "ledger/domain/decide.h"
#include "ledger/domain/evolve.h"
#include "ledger/event_codec.h"
#include "ledger/writer_internal.h"

namespace mulin::ledger {
namespace {

// About what a batch entry takes besides an event's payload: a record's key, header and trailer
// (56 bytes), a request-index entry (its key, usually a few dozen bytes, and 44) or a receipt, and
// the batch's tag, family and lengths. An estimate: a batch that outgrows it grows as before.
constexpr size_t kBatchBytesPerEntry = 128;

}  // namespace

// Decides one decoded command against the state, evolving the state with its events so that later
// commands of the group see them. `recorded` is the log's request index entry for its key, looked
// up for the whole group at once. Returns the index of an earlier command of this group that this
// one repeats, or -1.
long Writer::DecideOne(const DecodedCommand& decoded, const std::optional<RequestRecord>& recorded,
                       int64_t now_us, size_t index, Group* group) {
  CommandResult& result = group->results[index];
  auto conflict = [&decoded] {
    return Status::Conflict("request id '" + std::string(decoded.command.getRequestId().cStr()) +
                            "' was already used by '" + decoded.command.getActorId().cStr() +
                            "' for a different command; use a new request id");
  };
  if (auto earlier = group->keys.find(decoded.key); earlier != group->keys.end()) {
    if (earlier->second.first == decoded.hash) return static_cast<long>(earlier->second.second);
    result.status = conflict();
    return -1;
  }
  // A request of the group being appended may or may not be in the index yet: its own map says.
  if (in_flight_ != nullptr) {
    if (auto earlier = in_flight_->keys.find(decoded.key); earlier != in_flight_->keys.end()) {
      if (earlier->second.first == decoded.hash) {
        group->in_flight_repeats[index] = static_cast<long>(earlier->second.second);
      } else {
        result.status = conflict();
      }
      return -1;
    }
  }
  if (recorded.has_value()) {
    if (recorded->content_hash != decoded.hash) {
      result.status = conflict();
    } else {
      result.first_seq = recorded->event_count > 0 ? recorded->first_seq : 0;
      result.event_count = recorded->event_count;
      result.duplicate = true;
    }
    return -1;
  }
  const uint64_t first_seq = state_->last_seq + 1;
  domain::Decision decision;
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&] {
                 decision = domain::Decide(*state_, decoded.command,
                                           domain::DecideContext{now_us, first_seq});
               })) {
    result.status = Status::InvalidArgument("malformed command: " +
                                            std::string(exception->getDescription().cStr()));
    return -1;
  }
  result.status = decision.status;
  if (!decision.status.ok()) return -1;
  for (size_t i = 0; i < decision.events.size(); ++i) {
    const auto& message = decision.events[i];
    group->payloads.push_back(EncodeMessage(*message));
    const schema::Event::Reader event = domain::BuiltEvent(*message);
    domain::Evolve(state_.get(), event, decision.postings[i]);
    Status indexed = group->receipts.Add(event, &held_->receipts);
    if (!indexed.ok() && group->receipts_broken.ok()) group->receipts_broken = indexed;
  }
  const auto count = static_cast<uint32_t>(decision.events.size());
  group->requests.push_back(
      RequestEntry{decoded.key, RequestRecord{first_seq, count, decoded.hash}});
  group->keys.emplace(decoded.key, std::make_pair(decoded.hash, index));
  result.first_seq = count > 0 ? first_seq : 0;
  result.event_count = count;
  group->appended.push_back(index);
  return -1;
}

// Looks the request keys of the group's commands up in one MultiGet (one pass over the index
// instead of one Get per command), and brings the receipts they name into the state with another.
void Writer::DecodeGroup(Group* group, std::vector<std::optional<RequestRecord>>* recorded) {
  std::deque<Pending>& pending = group->pending;
  recorded->resize(pending.size());
  std::vector<std::string_view> keys;
  std::vector<size_t> positions;
  group->is_read.assign(pending.size(), false);
  for (size_t i = 0; i < pending.size(); ++i) {
    if (pending[i].read) {
      group->is_read[i] = true;
      group->reads.push_back(std::move(group->pending[i].read));
      continue;
    }
    Status& status = group->results[i].status;
    status = broken_.ok() ? pending[i].decoded : broken_;
    if (!status.ok()) continue;
    const DecodedCommand& decoded = *pending[i].command;
    keys.push_back(decoded.key);
    positions.push_back(i);
    if (!decoded.receipt_key.empty()) group->receipt_keys.push_back(decoded.receipt_key);
  }
  Result<std::vector<std::optional<RequestRecord>>> found = log_->FindRequests(keys);
  // Receipts the state already holds (named by the group in flight) are current there.
  domain::IdMap<Status> damaged;
  Status receipts = LoadReceipts(store_, group->receipt_keys, state_.get(), &held_->receipts,
                                 &damaged, &group->receipt_keys_held);
  for (size_t k = 0; k < positions.size(); ++k) {
    const size_t i = positions[k];
    const std::string& receipt_key = pending[i].command->receipt_key;
    if (!found.ok()) {
      group->results[i].status = found.status();
    } else if (!receipt_key.empty() && !receipts.ok()) {
      group->results[i].status = receipts;
    } else if (auto bad = damaged.find(receipt_key); bad != damaged.end()) {
      group->results[i].status = bad->second;
    } else {
      (*recorded)[i] = (*found)[k];
    }
  }
}

void Writer::DecideGroup(Group* group) {
  const size_t n = group->pending.size();
  group->results.resize(n);
  group->repeats.assign(n, -1);
  group->in_flight_repeats.assign(n, -1);
  // Most commands add one entry to each. Grown one at a time, the map rehashed about ten times a
  // group (callgrind: 175 instructions a command).
  group->keys.reserve(n);
  group->payloads.reserve(n);
  group->requests.reserve(n);
  group->appended.reserve(n);
  group->first_seq = state_->last_seq + 1;
  std::vector<std::optional<RequestRecord>> recorded;
  DecodeGroup(group, &recorded);
  clock_high_us_ = std::max(clock_high_us_, options_.clock_us());
  for (size_t i = 0; i < n; ++i) {
    if (group->is_read[i] || !group->results[i].status.ok()) continue;
    group->repeats[i] =
        DecideOne(*group->pending[i].command, recorded[i], clock_high_us_, i, group);
  }
  group->last_seq = state_->last_seq;
}

namespace {

// Forgets the receipts of `keys` (the group in flight's), which the index now holds, except those
// the next group names too. A key both groups name was in the state or in `held` when the next
// group was decoded, so only the next group's keys at `keep_held` in `keep` are looked at. Mostly
// there are none; a set of every key the next group names cost 850 instructions a command
// (callgrind).
void ForgetReceipts(const std::vector<std::string>& keys, const std::vector<std::string>& keep,
                    const std::vector<size_t>& keep_held, domain::State* state,
                    domain::IdMap<Receipt>* held) {
  std::unordered_set<std::string_view> kept;
  for (const size_t i : keep_held) kept.insert(keep[i]);
  for (const std::string& key : keys) {
    if (!kept.empty() && kept.count(key) != 0) continue;
    held->erase(key);
    const std::string id = key.substr(1);
    if (key[0] == kRedemptionReceipt) {
      state->redemptions.erase(id);
    } else {
      state->sales.erase(id);
    }
  }
}

}  // namespace

void Writer::WaitForCommit() {
  std::unique_lock<std::mutex> lock(commit_mu_);
  commit_cv_.wait(lock, [this] { return !commit_busy_; });
}

// Waits until the group in flight is appended and completed. If its append failed, the state (which
// includes it) is rebuilt from the log. With nothing in flight the state matches the log's head,
// and every receipt it held is in the index, so they are dropped. Returns the append's status.
Status Writer::Settle() {
  WaitForCommit();
  Status appended = in_flight_ != nullptr ? in_flight_->appended_status : Status::Ok();
  in_flight_.reset();
  if (!appended.ok()) {
    // The state evolved past the log; the log is the truth, so rebuild the state from it.
    Status reloaded = LoadState();
    if (!reloaded.ok()) broken_ = reloaded;
  }
  DropReceipts(state_.get());
  held_->receipts.clear();
  return appended;
}

// Hands `group` to the commit thread once the group before it is durable.
void Writer::HandOver(std::unique_ptr<Group> group) {
  Group* previous = in_flight_.get();
  std::vector<std::string> previous_keys;
  if (previous != nullptr) {
    WaitForCommit();
    if (!previous->appended_status.ok()) {
      group->fail = Status::IoError("not appended: the group before it failed to append (" +
                                    previous->appended_status.message() +
                                    "); retry with the same request id");
    } else {
      for (size_t i = 0; i < group->in_flight_repeats.size(); ++i) {
        const long j = group->in_flight_repeats[i];
        if (j < 0) continue;
        group->results[i] = previous->results[j];
        group->results[i].duplicate = group->results[i].status.ok();
      }
      previous_keys = std::move(previous->receipt_keys);
    }
  }
  if (group->fail.ok() && !group->receipts_broken.ok()) group->fail = group->receipts_broken;
  if (!group->fail.ok()) {
    // Decided on a state that does not match the log: nothing of it is appended, and the state is
    // rebuilt from the log (nothing is in flight now).
    in_flight_.reset();
    Status reloaded = LoadState();
    if (!reloaded.ok()) broken_ = reloaded;
  } else {
    // The group before is in the index: its receipts stay only where this group names them.
    ForgetReceipts(previous_keys, group->receipt_keys, group->receipt_keys_held, state_.get(),
                   &held_->receipts);
  }
  in_flight_ = std::move(group);
  // Overlapping pays only when there is a next group to decide meanwhile, and a group large enough
  // to pay for the hand-over's two thread wake-ups (WriterOptions::overlap_commands_min).
  // Otherwise the writer thread appends the group itself.
  bool next_waiting = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    next_waiting = !queue_.empty();
  }
  if (!next_waiting || in_flight_->pending.size() < options_.overlap_commands_min) {
    Commit(in_flight_.get());
  } else {
    {
      std::lock_guard<std::mutex> lock(commit_mu_);
      commit_next_ = in_flight_.get();
      commit_busy_ = true;
    }
    commit_cv_.notify_all();
  }
  const bool snapshot_due =
      options_.snapshot_interval_events != 0 &&
      state_->last_seq >= last_snapshot_seq_ + options_.snapshot_interval_events;
  if (in_flight_->reads.empty() && !snapshot_due) return;
  // Reads and snapshots see only what is durable.
  std::vector<std::function<void(const domain::State&)>> reads = std::move(in_flight_->reads);
  Settle().IgnoreError();
  for (const auto& read : reads) read(*state_);
  if (broken_.ok()) MaybeSnapshot();
}

// On the commit thread: appends the group's events, then completes its callers in order.
void Writer::Commit(Group* group) {
  Status appended = group->fail;
  if (appended.ok() && !group->requests.empty()) {
    if (log_->head().seq + 1 != group->first_seq) {
      appended = Status::Corruption("group decided from seq " + std::to_string(group->first_seq) +
                                    " but the log's head is " + std::to_string(log_->head().seq));
    } else {
      // The batch's bytes reserved at once: grown by appends, its buffer was copied a dozen times
      // a group, 5% of the commit thread's instructions (callgrind of writer_bench).
      size_t bytes = kBatchBytesPerEntry * (group->receipts.size() + group->requests.size());
      for (const std::string& payload : group->payloads) {
        bytes += payload.size() + kBatchBytesPerEntry;
      }
      rocksdb::WriteBatch with(bytes);
      group->receipts.WriteTo(store_, group->last_seq, &with);
      appended = log_->Append(group->payloads, group->requests, &with);
    }
  }
  if (!group->fail.ok()) {
    for (size_t i = 0; i < group->results.size(); ++i) {
      if (!group->is_read[i]) group->results[i] = CommandResult{group->fail, 0, 0, false};
    }
  } else if (!appended.ok()) {
    for (size_t i : group->appended) group->results[i] = CommandResult{appended, 0, 0, false};
    group->appended_status = appended;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (appended.ok() && !group->requests.empty()) {
      ++stats_.groups;
      stats_.events += group->payloads.size();
    }
    for (bool read : group->is_read) stats_.commands += read ? 0 : 1;
  }
  // Execute's callers join a tree while the loop runs, and are woken through it after it.
  tls_wake_collector.collecting = true;
  for (size_t i = 0; i < group->pending.size(); ++i) {
    Pending& p = group->pending[i];
    if (group->is_read[i]) continue;  // run on the writer thread once this group is settled
    if (group->repeats[i] >= 0 && group->fail.ok()) {
      group->results[i] = group->results[group->repeats[i]];
      group->results[i].duplicate = group->results[i].status.ok();
    }
    p.done(group->results[i]);
  }
  tls_wake_collector.collecting = false;
  if (std::shared_ptr<WakeTree> tree = std::move(tls_wake_collector.tree)) WakeFrom(tree, 0);
}

}  // namespace mulin::ledger
