#include "projections/event_reader.h"

#include <pthread.h>

namespace mulin::projections::internal {

namespace {

// A waiting thread is woken when this many chunks are ready (the fold) or when no more than this
// many are left (the reader).
constexpr size_t kWakeAtChunks = kReaderChunksAhead / 2;

}  // namespace

EventReader::EventReader(const ledger::EventLog& log, uint64_t from_seq, uint64_t to_seq)
    : thread_(&EventReader::Run, this, &log, from_seq, to_seq) {}

EventReader::~EventReader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  writable_.notify_one();
  thread_.join();
}

bool EventReader::Push(std::vector<DecodedRecord> chunk) {
  std::unique_lock<std::mutex> lock(mu_);
  if (chunks_.size() >= kReaderChunksAhead) {
    reader_waits_ = true;
    ++waits_.reader;
    writable_.wait(lock, [this] { return stop_ || chunks_.size() <= kWakeAtChunks; });
    reader_waits_ = false;
  }
  if (stop_) return false;
  chunks_.push_back(std::move(chunk));
  if (fold_waits_ && chunks_.size() >= kWakeAtChunks) readable_.notify_one();
  return true;
}

std::vector<DecodedRecord> EventReader::EmptyChunk() {
  std::vector<std::vector<DecodedRecord>> spent;
  {
    std::lock_guard<std::mutex> lock(mu_);
    spent.swap(spent_);
  }
  std::vector<DecodedRecord> chunk;
  if (!spent.empty()) {
    chunk = std::move(spent.back());
    chunk.clear();
  }
  spent.clear();
  chunk.reserve(kReaderChunkEvents);
  return chunk;
}

void EventReader::Run(const ledger::EventLog* log, uint64_t from_seq, uint64_t to_seq) {
  pthread_setname_np(pthread_self(), "mulin-read");
  Status problem;
  std::vector<DecodedRecord> chunk = EmptyChunk();
  std::unique_ptr<ledger::LogCursor> cursor = log->NewCursor(from_seq, to_seq);
  for (; cursor->Valid(); cursor->Next()) {
    Result<ledger::DecodedEvent> decoded = ledger::DecodeEvent(cursor->payload(), cursor->seq());
    if (!decoded.ok()) {
      problem = decoded.status();
      break;
    }
    DecodedRecord& record = chunk.emplace_back();
    record.seq = cursor->seq();
    record.chain = cursor->chain();
    record.event = std::move(decoded).value();
    record.postings = domain::Postings(record.event.event());
    if (chunk.size() == kReaderChunkEvents) {
      if (!Push(std::move(chunk))) return;
      chunk = EmptyChunk();
    }
  }
  if (problem.ok()) problem = cursor->status();
  if (!chunk.empty() && !Push(std::move(chunk))) return;
  std::lock_guard<std::mutex> lock(mu_);
  status_ = problem;
  done_ = true;
  readable_.notify_one();
}

std::vector<DecodedRecord> EventReader::Next() {
  std::unique_lock<std::mutex> lock(mu_);
  if (chunks_.empty() && !done_) {
    fold_waits_ = true;
    ++waits_.fold;
    readable_.wait(lock, [this] { return done_ || chunks_.size() >= kWakeAtChunks; });
    fold_waits_ = false;
  }
  if (chunks_.empty()) return {};
  std::vector<DecodedRecord> chunk = std::move(chunks_.front());
  chunks_.pop_front();
  if (reader_waits_ && chunks_.size() <= kWakeAtChunks) writable_.notify_one();
  return chunk;
}

void EventReader::Recycle(std::vector<DecodedRecord> chunk) {
  std::lock_guard<std::mutex> lock(mu_);
  spent_.push_back(std::move(chunk));
}

Status EventReader::status() {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

EventReader::Waits EventReader::waits() {
  std::lock_guard<std::mutex> lock(mu_);
  return waits_;
}

}  // namespace mulin::projections::internal
