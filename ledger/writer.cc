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

// One group of commands: decided in order, appended together, completed together.
class Writer::Group {
 public:
  std::vector<std::string> payloads;
  std::vector<RequestEntry> requests;
  std::vector<CommandResult> results;
  std::vector<size_t> appended;  // indexes into results whose events are in `payloads`
  // Request keys decided earlier in this group (not yet in the log's index).
  std::unordered_map<std::string, std::pair<ContentHash, size_t>> keys;
  // The receipts the group's commands name, as read from the index, and those its events write.
  std::unordered_map<std::string, Receipt> receipts_read;
  ReceiptBatch receipts;
  Status receipts_broken;  // an event the index could not take: the group is not appended
};

Writer::Writer(Store* store, EventLog* log, const WriterOptions& options)
    : store_(store), log_(log), options_(options) {
  if (!options_.clock_us) options_.clock_us = SystemClockUs;
}

Result<std::unique_ptr<Writer>> Writer::Open(Store* store, EventLog* log,
                                             const WriterOptions& options) {
  if (store->read_only()) return Status::InvalidArgument("the writer needs a writable ledger");
  std::unique_ptr<Writer> writer(new Writer(store, log, options));
  MULIN_RETURN_IF_ERROR(writer->LoadState());
  writer->thread_ = std::thread([w = writer.get()] { w->Run(); });
  return writer;
}

Writer::~Writer() { Stop(); }

Status Writer::LoadState() {
  // The index must hold every receipt up to the head before the state is built on it.
  Result<uint64_t> indexed = CatchUpReceipts(store_, *log_);
  if (!indexed.ok()) return indexed.status();
  state_ = std::make_unique<domain::State>();
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
}

WriterStats Writer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Writer::Run() {
  // Named for `top -H` and profiles: the one thread every command waits for.
  pthread_setname_np(pthread_self(), "mulin-writer");
  std::deque<Pending> group;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued is done
      const size_t take = std::min(queue_.size(), options_.group_commands_max);
      for (size_t i = 0; i < take; ++i) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    ProcessGroup(&group);
    group.clear();
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
    Status indexed = group->receipts.Add(event, group->receipts_read);
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

// Decodes every command of the group, then looks all their request keys up in one MultiGet: one
// pass over the index instead of one Get per command.
void Writer::DecodeGroup(const std::deque<Pending>& pending,
                         std::vector<std::optional<RequestRecord>>* recorded, Group* group) {
  recorded->resize(pending.size());
  std::vector<std::string_view> keys;
  std::vector<size_t> positions;
  std::vector<std::string> receipt_keys;
  for (size_t i = 0; i < pending.size(); ++i) {
    if (pending[i].read) continue;
    Status& status = group->results[i].status;
    status = broken_.ok() ? pending[i].decoded : broken_;
    if (!status.ok()) continue;
    const DecodedCommand& decoded = *pending[i].command;
    keys.push_back(decoded.key);
    positions.push_back(i);
    if (!decoded.receipt_key.empty()) receipt_keys.push_back(decoded.receipt_key);
  }
  Result<std::vector<std::optional<RequestRecord>>> found = log_->FindRequests(keys);
  // The redemptions and sales the commands name join the state for this group.
  std::unordered_map<std::string, Status> damaged;
  Status receipts =
      LoadReceipts(store_, receipt_keys, state_.get(), &group->receipts_read, &damaged);
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

void Writer::ProcessGroup(std::deque<Pending>* pending) {
  Group group;
  group.results.resize(pending->size());
  std::vector<long> repeats(pending->size(), -1);
  std::vector<std::optional<RequestRecord>> recorded;
  DecodeGroup(*pending, &recorded, &group);
  clock_high_us_ = std::max(clock_high_us_, options_.clock_us());
  for (size_t i = 0; i < pending->size(); ++i) {
    if ((*pending)[i].read || !group.results[i].status.ok()) continue;
    repeats[i] = DecideOne(*(*pending)[i].command, recorded[i], clock_high_us_, i, &group);
  }
  if (!group.requests.empty()) {
    Status appended = group.receipts_broken;
    if (appended.ok()) {
      rocksdb::WriteBatch with;
      group.receipts.WriteTo(store_, state_->last_seq, &with);
      appended = log_->Append(group.payloads, group.requests, &with);
    }
    if (!appended.ok()) {
      for (size_t i : group.appended) group.results[i] = CommandResult{appended, 0, 0, false};
      // The state evolved past the log; the log is the truth, so rebuild the state from it.
      Status reloaded = LoadState();
      if (!reloaded.ok()) broken_ = reloaded;
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.groups;
      stats_.events += group.payloads.size();
    }
  }
  // Every receipt the group read or wrote is in the index now (or the state was rebuilt).
  DropReceipts(state_.get());
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Pending& p : *pending) stats_.commands += p.read ? 0 : 1;
  }
  for (size_t i = 0; i < pending->size(); ++i) {
    Pending& p = (*pending)[i];
    if (p.read) p.read(*state_);
    if (repeats[i] >= 0) {
      group.results[i] = group.results[repeats[i]];
      group.results[i].duplicate = group.results[i].status.ok();
    }
    p.done(group.results[i]);
  }
  if (broken_.ok()) {
    Status snapshot = MaybeSnapshot();
    // A failed snapshot only lengthens the next start-up; the log is intact.
    snapshot.IgnoreError();
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
