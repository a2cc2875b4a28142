#include "ledger/writer.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <pthread.h>
#include <sodium.h>

#include <cassert>
#include <chrono>
#include <cstring>
#include <future>
#include <unordered_map>
#include <unordered_set>

#include "ledger/domain/decide.h"
#include "ledger/domain/evolve.h"
#include "ledger/domain/state.h"
#include "ledger/event_codec.h"
#include "ledger/receipt_index.h"
#include "ledger/schema/command.capnp.h"
#include "ledger/snapshot.h"

namespace mulin::ledger {
namespace {

// A command is a few hundred bytes; a delivery with many volunteers a few KiB.
constexpr size_t kCommandBytesMax = 64 * 1024;
constexpr int kCommandNestingMax = 16;
// Start-up replays the log's tail in chunks of this many events, reading the receipts a chunk
// names with one MultiGet and forgetting them after it.
constexpr size_t kReplayChunkEvents = 4096;

int64_t SystemClockUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The request key scopes a client's request id to its actor: two terminals may both use "r-1".
std::string RequestKey(schema::Command::Reader command) {
  std::string key(command.getActorId().cStr(), command.getActorId().size());
  key.push_back('\x1f');
  key.append(command.getRequestId().cStr(), command.getRequestId().size());
  return key;
}

// BLAKE2b-256 over the canonical form, so that equal content hashes equally however it was built.
ContentHash HashCommand(schema::Command::Reader command) {
  kj::Array<capnp::word> canonical = capnp::canonicalize(command);
  ContentHash hash;
  crypto_generichash(hash.data(), hash.size(), canonical.asBytes().begin(),
                     canonical.asBytes().size(), nullptr, 0);
  return hash;
}

}  // namespace

struct DecodedCommand {
  kj::Array<capnp::word> words;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader;
  schema::Command::Reader command;
  std::string key;
  std::string receipt_key;  // the redemption or sale it names, or ""
  ContentHash hash;
};

namespace {

// Commands come from outside (CLI, import, RPC): decode them within explicit limits, and touch
// every pointer once (canonicalize) so that a malformed message fails here and nowhere later.
Status DecodeCommand(const std::string& bytes, DecodedCommand* out) {
  if (bytes.empty() || bytes.size() > kCommandBytesMax || bytes.size() % sizeof(capnp::word)) {
    return Status::InvalidArgument("command of " + std::to_string(bytes.size()) +
                                   " bytes is not a message within the " +
                                   std::to_string(kCommandBytesMax) + "-byte limit");
  }
  out->words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(out->words.begin(), bytes.data(), bytes.size());
  capnp::ReaderOptions options;
  options.traversalLimitInWords = out->words.size() * 4 + 64;
  options.nestingLimit = kCommandNestingMax;
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&] {
                 out->reader = std::make_unique<capnp::FlatArrayMessageReader>(out->words, options);
                 out->command = out->reader->getRoot<schema::Command>();
                 out->hash = HashCommand(out->command);
               })) {
    return Status::InvalidArgument("malformed command: " +
                                   std::string(exception->getDescription().cStr()));
  }
  if (out->command.getRequestId().size() == 0 || out->command.getActorId().size() == 0) {
    return Status::InvalidArgument("every command needs a request id and an actor id");
  }
  out->key = RequestKey(out->command);
  out->receipt_key = ReceiptKeyOf(out->command);
  if (out->key.size() > kRequestKeyBytesMax) {
    return Status::InvalidArgument("actor id and request id together exceed " +
                                   std::to_string(kRequestKeyBytesMax) + " bytes");
  }
  return Status::Ok();
}

}  // namespace

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
  std::unordered_map<std::string, std::pair<ContentHash, size_t>> keys;
  // The receipt keys its commands name, and the receipts its events create or reverse.
  std::vector<std::string> receipt_keys;
  ReceiptBatch receipts;
  Status receipts_broken;  // an event the index could not take: the group is not appended
  // Set before the hand-over: every command fails with it and nothing is appended.
  Status fail;
  Status appended_status;  // the commit thread's Append, ok when nothing was to be appended
};

struct Writer::HeldReceipts {
  std::unordered_map<std::string, Receipt> receipts;
};

Writer::Writer(Store* store, EventLog* log, const WriterOptions& options)
    : store_(store), log_(log), options_(options), held_(std::make_unique<HeldReceipts>()) {
  if (!options_.clock_us) options_.clock_us = SystemClockUs;
}

Result<std::unique_ptr<Writer>> Writer::Open(Store* store, EventLog* log,
                                             const WriterOptions& options) {
  if (store->read_only()) return Status::InvalidArgument("the writer needs a writable ledger");
  std::unique_ptr<Writer> writer(new Writer(store, log, options));
  MULIN_RETURN_IF_ERROR(writer->LoadState());
  writer->committer_ = std::thread([w = writer.get()] { w->CommitLoop(); });
  writer->thread_ = std::thread([w = writer.get()] { w->Run(); });
  return writer;
}

Writer::~Writer() { Stop(); }

Status Writer::LoadState() {
  // The index must hold every receipt up to the head before the state is built on it.
  Result<uint64_t> indexed = CatchUpReceipts(store_, *log_);
  if (!indexed.ok()) return indexed.status();
  state_ = std::make_unique<domain::State>();
  held_->receipts.clear();
  Result<std::optional<Snapshot>> snapshot = ReadUsableSnapshot(store_, *log_);
  if (!snapshot.ok()) return snapshot.status();
  if (snapshot->has_value()) {
    Result<domain::State> decoded = domain::DecodeState((*snapshot)->state);
    // An undecodable snapshot is ignored: the full replay below is slower but equally right.
    if (decoded.ok()) {
      *state_ = std::move(decoded).value();
      last_snapshot_seq_ = (*snapshot)->at.seq;
    }
  }
  std::unique_ptr<LogCursor> cursor = log_->NewCursor(state_->last_seq + 1);
  std::vector<DecodedEvent> chunk;
  std::vector<std::string> keys;
  std::unordered_map<std::string, Receipt> read;
  while (cursor->Valid()) {
    chunk.clear();
    keys.clear();
    for (; cursor->Valid() && chunk.size() < kReplayChunkEvents; cursor->Next()) {
      Result<DecodedEvent> event = DecodeEvent(cursor->payload(), cursor->seq());
      if (!event.ok()) return event.status();
      std::string key = ReceiptKeyOf(event->event());
      if (!key.empty()) keys.push_back(std::move(key));
      chunk.push_back(std::move(event).value());
    }
    // The receipts the chunk names, as they were before its first event (the index is at the
    // head): what the chunk's own events create or reverse, they do again here, in order.
    read.clear();
    MULIN_RETURN_IF_ERROR(LoadReceipts(store_, keys, state_.get(), &read));
    for (const DecodedEvent& event : chunk) {
      // Stored events are checked, not trusted: one that does not apply is reported, not applied.
      MULIN_RETURN_IF_ERROR(domain::EvolveChecked(state_.get(), event.event()));
    }
    DropReceipts(state_.get());
  }
  MULIN_RETURN_IF_ERROR(cursor->status());
  if (state_->last_seq != log_->head().seq) {
    return Status::Corruption("state replay ended at seq " + std::to_string(state_->last_seq) +
                              ", head is " + std::to_string(log_->head().seq));
  }
  clock_high_us_ = state_->last_recorded_at_us;
  return Status::Ok();
}

void Writer::Submit(std::string command, Done done) {
  auto decoded = std::make_unique<DecodedCommand>();
  Status decode = DecodeCommand(command, decoded.get());
  command = std::string();  // the decoded command holds its own copy
  CommandResult refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      refused.status =
          Status::Shutdown("the ledger is shutting down; retry with the same request id");
    } else if (queue_.size() >= options_.queue_commands_max) {
      refused.status = Status::Overloaded("the ledger's queue is full (" +
                                          std::to_string(options_.queue_commands_max) +
                                          " commands); retry shortly with the same request id");
    } else {
      queue_.push_back(Pending{std::move(decoded), std::move(decode), std::move(done), nullptr});
    }
  }
  // Answered outside the lock: a callback may well submit again.
  if (!refused.status.ok()) {
    done(refused);
    return;
  }
  work_cv_.notify_one();
}

CommandResult Writer::Execute(std::string command) {
  std::promise<CommandResult> promise;
  std::future<CommandResult> future = promise.get_future();
  Submit(std::move(command), [&promise](const CommandResult& r) { promise.set_value(r); });
  return future.get();
}

Status Writer::Read(const std::function<void(const domain::State&)>& read) {
  std::promise<void> done;
  MULIN_RETURN_IF_ERROR(SubmitRead([&](const domain::State& state) {
    read(state);
    done.set_value();
  }));
  done.get_future().wait();
  return Status::Ok();
}

Status Writer::SubmitRead(std::function<void(const domain::State&)> read) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Status::Shutdown("the writer has stopped");
    queue_.push_back(Pending{nullptr, Status::Ok(), [](const CommandResult&) {}, std::move(read)});
  }
  work_cv_.notify_one();
  return Status::Ok();
}

void Writer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  StopCommitter();
}

void Writer::StopCommitter() {
  {
    std::lock_guard<std::mutex> lock(commit_mu_);
    commit_stop_ = true;
  }
  commit_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
}

WriterStats Writer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Writer::Run() {
  // Named for `top -H` and profiles: the one thread every command waits for.
  pthread_setname_np(pthread_self(), "mulin-writer");
  for (;;) {
    auto group = std::make_unique<Group>();
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping, and everything queued is decided
      const size_t take = std::min(queue_.size(), options_.group_commands_max);
      for (size_t i = 0; i < take; ++i) {
        group->pending.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    DecideGroup(group.get());
    HandOver(std::move(group));
  }
  // Everything decided is completed before Stop returns.
  Settle().IgnoreError();
}

void Writer::CommitLoop() {
  pthread_setname_np(pthread_self(), "mulin-commit");
  for (;;) {
    Group* group = nullptr;
    {
      std::unique_lock<std::mutex> lock(commit_mu_);
      commit_cv_.wait(lock, [this] { return commit_stop_ || commit_next_ != nullptr; });
      if (commit_next_ == nullptr) return;
      group = commit_next_;
      commit_next_ = nullptr;
    }
    Commit(group);
    {
      std::lock_guard<std::mutex> lock(commit_mu_);
      commit_busy_ = false;
    }
    commit_cv_.notify_all();
  }
}

}  // namespace mulin::ledger

namespace mulin::ledger {

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
  for (const auto& message : decision.events) {
    group->payloads.push_back(EncodeMessage(*message));
    const schema::Event::Reader event = message->getRoot<schema::Event>().asReader();
    domain::Evolve(state_.get(), event);
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
  std::unordered_map<std::string, Status> damaged;
  Status receipts =
      LoadReceipts(store_, group->receipt_keys, state_.get(), &held_->receipts, &damaged);
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

// Forgets the receipts of `keys` that `keep` does not name: the index holds them.
void ForgetReceipts(const std::vector<std::string>& keys, const std::vector<std::string>& keep,
                    domain::State* state, std::unordered_map<std::string, Receipt>* held) {
  std::unordered_set<std::string_view> kept(keep.begin(), keep.end());
  for (const std::string& key : keys) {
    if (kept.count(key) != 0) continue;
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

// Waits until the group in flight is appended and completed. If its append failed, the state (which
// includes it) is rebuilt from the log. With nothing in flight the state matches the log's head,
// and every receipt it held is in the index, so they are dropped. Returns the append's status.
Status Writer::Settle() {
  {
    std::unique_lock<std::mutex> lock(commit_mu_);
    commit_cv_.wait(lock, [this] { return !commit_busy_; });
  }
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
    {
      std::unique_lock<std::mutex> lock(commit_mu_);
      commit_cv_.wait(lock, [this] { return !commit_busy_; });
    }
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
    ForgetReceipts(previous_keys, group->receipt_keys, state_.get(), &held_->receipts);
  }
  in_flight_ = std::move(group);
  // Overlapping pays only when there is a next group to decide meanwhile. Otherwise (callers that
  // wait for each answer, as terminals do) the hand-over's two thread wake-ups would be pure cost,
  // so the writer thread appends the group itself.
  bool next_waiting = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    next_waiting = !queue_.empty();
  }
  if (!next_waiting) {
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
  if (broken_.ok()) {
    // A failed snapshot only lengthens the next start-up; the log is intact.
    MaybeSnapshot().IgnoreError();
  }
}

// On the commit thread: appends the group's events, then completes its callers in order.
void Writer::Commit(Group* group) {
  Status appended = group->fail;
  if (appended.ok() && !group->requests.empty()) {
    if (log_->head().seq + 1 != group->first_seq) {
      appended = Status::Corruption("group decided from seq " + std::to_string(group->first_seq) +
                                    " but the log's head is " + std::to_string(log_->head().seq));
    } else {
      rocksdb::WriteBatch with;
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
  for (size_t i = 0; i < group->pending.size(); ++i) {
    Pending& p = group->pending[i];
    if (group->is_read[i]) continue;  // run on the writer thread once this group is settled
    if (group->repeats[i] >= 0 && group->fail.ok()) {
      group->results[i] = group->results[group->repeats[i]];
      group->results[i].duplicate = group->results[i].status.ok();
    }
    p.done(group->results[i]);
  }
}

Status Writer::MaybeSnapshot() {
  if (options_.snapshot_interval_events == 0 ||
      state_->last_seq < last_snapshot_seq_ + options_.snapshot_interval_events) {
    return Status::Ok();
  }
  Snapshot snapshot;
  snapshot.at = log_->head();
  assert(snapshot.at.seq == state_->last_seq);
  snapshot.state = domain::EncodeState(*state_);
  MULIN_RETURN_IF_ERROR(WriteSnapshot(store_, snapshot));
  last_snapshot_seq_ = snapshot.at.seq;
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.snapshots;
  return Status::Ok();
}

}  // namespace mulin::ledger
