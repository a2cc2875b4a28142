// The floor of writer_bench's workload 2: the same client threads submitting the same serialised
// redemptions and waiting for each answer, as Writer::Execute does, to one thread that takes the
// queued commands as a group, appends their bytes to a file with one fdatasync, and answers each
// caller in order. No decoding, no state, no RocksDB: what the hand-offs between 64 blocking
// threads and one fsync per group cost on this machine, a bound on the closed-loop rate that no
// ledger can pass here.
#ifndef MULIN_BENCH_HANDOFF_FLOOR_H_
#define MULIN_BENCH_HANDOFF_FLOOR_H_

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/bench_util.h"
#include "ledger/writer.h"

namespace mulin::bench {

class HandOffFloor {
 public:
  // Appends to `path` (created, truncated), which the destructor removes.
  explicit HandOffFloor(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    Must(fd_ >= 0, "opening the floor's file " + path_);
    thread_ = std::thread([this] { Run(); });
  }
  ~HandOffFloor() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  HandOffFloor(const HandOffFloor&) = delete;
  HandOffFloor& operator=(const HandOffFloor&) = delete;

  // Returns once `command` is durable in the floor's file, as Writer::Execute does once appended.
  void Execute(std::string command) {
    std::promise<void> done;
    std::future<void> durable = done.get_future();
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(Waiting{std::move(command), &done});
    }
    cv_.notify_one();
    durable.get();
  }

 private:
  // The writer's default group limit, so that the floor's groups are the writer's.
  inline static const size_t kGroupCommandsMax = ledger::WriterOptions().group_commands_max;

  struct Waiting {
    std::string command;
    std::promise<void>* done;
  };

  void Run() {
    pthread_setname_np(pthread_self(), "floor-server");
    std::deque<Waiting> group;
    std::string bytes;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        const size_t take = std::min(queue_.size(), kGroupCommandsMax);
        for (size_t i = 0; i < take; ++i) {
          group.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      bytes.clear();
      for (const Waiting& w : group) bytes += w.command;
      Must(::write(fd_, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()),
           "the floor's write");
      Must(::fdatasync(fd_) == 0, "the floor's fdatasync");
      for (Waiting& w : group) w.done->set_value();
      group.clear();
    }
  }

  std::string path_;
  int fd_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Waiting> queue_;  // guarded by mu_
  bool stopping_ = false;      // guarded by mu_
  std::thread thread_;
};

}  // namespace mulin::bench

#endif  // MULIN_BENCH_HANDOFF_FLOOR_H_
