#include "ledger/writer.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <unordered_map>

#include "ledger/domain/evolve.h"
#include "ledger/domain/state.h"
#include "ledger/event_codec.h"
#include "ledger/receipt_index.h"
#include "ledger/snapshot.h"
#include "ledger/writer_internal.h"

namespace mulin::ledger {
namespace {

// Start-up replays the log's tail in chunks of this many events, reading the receipts a chunk
// names with one MultiGet and forgetting them after it.
constexpr size_t kReplayChunkEvents = 4096;

int64_t SystemClockUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

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
  // The snapshot being written may become the stored one: done first, so that the stored one is
  // known.
  if (snapshot_writer_.joinable()) snapshot_writer_.join();
  snapshot_base_stored_ = false;
  snapshot_with_changes_ = false;
  state_ = std::make_unique<domain::State>();
  held_->receipts.clear();
  {
    Result<std::optional<LoadedSnapshot>> snapshot = LoadSnapshot(store_, *log_);
    if (!snapshot.ok()) return snapshot.status();
    if (snapshot->has_value()) {
      LoadedSnapshot& loaded = **snapshot;
      *state_ = std::move(loaded.state);
      last_snapshot_seq_ = loaded.at.seq;
      if (TracksChanges()) {
        // The tail replayed below is tracked too: the next snapshot is laid over this one.
        state_->changes.Restart();
        snapshot_base_ = loaded.at;
        snapshot_base_stored_ = true;
        snapshot_whole_at_ = loaded.whole_at;
        snapshot_whole_bytes_ = loaded.whole_bytes;
        snapshot_with_changes_ = loaded.with_changes;
      }
    }
  }
  std::unique_ptr<LogCursor> cursor = log_->NewCursor(state_->last_seq + 1);
  std::vector<DecodedEvent> chunk;
  std::vector<std::string> keys;
  domain::IdMap<Receipt> read;
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

struct ExecuteWaiter {
  CommandResult result;
  std::promise<void> go;
  std::shared_ptr<WakeTree> tree;  // set when woken through a tree
  size_t index = 0;
};

thread_local WakeCollector tls_wake_collector;

void WakeFrom(const std::shared_ptr<WakeTree>& tree, size_t index) {
  ExecuteWaiter* waiter = tree->waiters[index];
  waiter->tree = tree;
  waiter->index = index;
  waiter->go.set_value();  // the waiter may return at once: nothing of it is touched after this
}

CommandResult Writer::Execute(std::string command) {
  ExecuteWaiter waiter;
  std::future<void> woken = waiter.go.get_future();
  Submit(std::move(command), [&waiter](const CommandResult& r) {
    waiter.result = r;
    WakeCollector& collector = tls_wake_collector;
    if (!collector.collecting) {
      waiter.go.set_value();
      return;
    }
    if (collector.tree == nullptr) collector.tree = std::make_shared<WakeTree>();
    collector.tree->waiters.push_back(&waiter);
  });
  woken.wait();
  if (waiter.tree != nullptr) {
    const size_t count = waiter.tree->waiters.size();
    for (size_t child = 2 * waiter.index + 1; child <= 2 * waiter.index + 2 && child < count;
         ++child) {
      WakeFrom(waiter.tree, child);
    }
  }
  return waiter.result;
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
  if (snapshot_writer_.joinable()) snapshot_writer_.join();
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
  WriterStats stats = stats_;
  stats.queued = queue_.size();
  return stats;
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
  // Everything decided is completed before Stop returns, and then the state is at the head.
  Settle().IgnoreError();
  if (broken_.ok()) MaybeSnapshot(/*stopping=*/true);
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
