#include "projections/batch_committer.h"

#include <pthread.h>

#include <utility>

namespace mulin::projections::internal {

BatchCommitter::BatchCommitter(RowStore* store)
    : store_(store), thread_(&BatchCommitter::Run, this) {}

BatchCommitter::~BatchCommitter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

Status BatchCommitter::Hand(RowBatch batch) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [this] { return !next_ && !busy_; });
  if (!failed_.ok()) return failed_;
  next_ = std::move(batch);
  changed_.notify_all();
  return Status::Ok();
}

Status BatchCommitter::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [this] { return !next_ && !busy_; });
  return failed_;
}

void BatchCommitter::Run() {
  pthread_setname_np(pthread_self(), "mulin-rows");
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    // On stop, the batch handed over still lands: it is whole, with its checkpoints.
    changed_.wait(lock, [this] { return stop_ || next_; });
    if (!next_) return;
    RowBatch batch = std::move(*next_);
    next_.reset();
    busy_ = true;
    lock.unlock();
    Status committed = store_->Commit(std::move(batch));
    lock.lock();
    busy_ = false;
    if (!committed.ok() && failed_.ok()) failed_ = committed;
    changed_.notify_all();
  }
}

}  // namespace mulin::projections::internal
