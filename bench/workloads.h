// The workloads several benchmark programs share, so that each compares like with like: the
// redemption command mix, pipelined appends through the writer, a closed loop of client threads,
// and the process's resident memory.
#ifndef MULIN_BENCH_WORKLOADS_H_
#define MULIN_BENCH_WORKLOADS_H_

#include <capnp/message.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_ledger.h"
#include "bench/bench_util.h"
#include "ledger/event_codec.h"
#include "ledger/schema/command.capnp.h"
#include "ledger/writer.h"

namespace mulin::bench {

// Commands a single submitter keeps in flight; below the writer's queue limit (64 Ki).
inline constexpr size_t kPipelineWindow = 8192;

// The first segment of a built command: a redemption is about 30 words. The default (1024 words,
// zeroed) made the benchmark's own clients cost a fifth of the writer's instructions (callgrind),
// on the same two cores; `mulin serve` builds its commands with a small first segment too.
inline constexpr unsigned kCommandFirstSegmentWords = 64;

// Redemption `i` of a run: terminal T(i mod 64), volunteer V(i × 7919 mod 1000), one point. With
// `volunteers`, volunteer W(i × 7919 mod volunteers) of a ledger filled with that many
// (log_fill.h VolunteerEvent): 7919 is prime, so consecutive redemptions are by distinct ones.
inline std::string RedeemCommand(uint64_t i, const std::string& prefix, uint64_t volunteers = 0) {
  const std::string id = prefix + std::to_string(i);
  const std::string terminal = "T" + std::to_string(i % kBenchTerminals);
  capnp::MallocMessageBuilder message(kCommandFirstSegmentWords);
  auto command = message.initRoot<schema::Command>();
  command.setRequestId(id);
  command.setActorId(terminal);
  auto r = command.getBody().initRedeem();
  r.setRedemptionId(id);
  r.setVolunteerId(volunteers == 0 ? "V" + std::to_string(i * 7919 % kBenchVolunteers)
                                   : "W" + std::to_string(i * 7919 % volunteers));
  r.setTerminalId(terminal);
  r.setPoints(1);
  return ledger::EncodeMessage(message);
}

// One submitting thread keeps kPipelineWindow redemptions in flight: the writer's throughput when
// it is never short of work. Returns events/s; `mean_group` is events per synced WriteBatch. The
// submitter sleeps while the window is full (spinning would take a core from the writer's two
// threads on a two-core machine). `volunteers` as in RedeemCommand.
inline double PipelinedAppends(ledger::Writer* writer, uint64_t events, const std::string& prefix,
                               double* mean_group, uint64_t volunteers = 0) {
  std::mutex mu;
  std::condition_variable room;
  uint64_t done = 0;     // guarded by mu
  bool waiting = false;  // guarded by mu: the submitter sleeps until half the window is free,
  uint64_t wake_at = 0;  // guarded by mu: that is, until `done` reaches this
  const ledger::WriterStats before = writer->stats();
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < events; ++i) {
    {
      std::unique_lock<std::mutex> lock(mu);
      if (i - done >= kPipelineWindow) {
        waiting = true;
        wake_at = i - kPipelineWindow / 2;
        room.wait(lock, [&] { return !waiting; });
      }
    }
    writer->Submit(RedeemCommand(i, prefix, volunteers), [&](const ledger::CommandResult& r) {
      Must(r.status.ok(), r.status.ToString());
      bool wake = false;
      {
        std::lock_guard<std::mutex> lock(mu);
        ++done;
        if ((waiting && done >= wake_at) || done == events) {
          waiting = false;
          wake = true;
        }
      }
      if (wake) room.notify_one();
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    room.wait(lock, [&] { return done == events; });
  }
  const double seconds = SecondsSince(start);
  const ledger::WriterStats after = writer->stats();
  *mean_group = static_cast<double>(after.events - before.events) /
                static_cast<double>(std::max<uint64_t>(1, after.groups - before.groups));
  return static_cast<double>(events) / seconds;
}

// `threads` client threads each run `op(thread, i)` for i in [0, commands / threads) back to back.
// Returns operations/s and appends every operation's latency (ms) to `latencies_ms`.
inline double ClosedLoop(uint64_t commands, int threads,
                         const std::function<void(int thread, uint64_t i)>& op,
                         std::vector<double>* latencies_ms) {
  std::vector<std::vector<double>> per_thread(threads);
  std::vector<std::thread> workers;
  const uint64_t each = std::max<uint64_t>(1, commands / threads);
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      per_thread[t].reserve(each);
      for (uint64_t i = 0; i < each; ++i) {
        const auto begin = std::chrono::steady_clock::now();
        op(t, i);
        per_thread[t].push_back(SecondsSince(begin) * 1000.0);
      }
    });
  }
  for (auto& w : workers) w.join();
  const double rate = static_cast<double>(each * threads) / SecondsSince(start);
  for (auto& v : per_thread) latencies_ms->insert(latencies_ms->end(), v.begin(), v.end());
  return rate;
}

// Closed-loop redemptions, each handed to `execute`, which returns once it is answered: thread
// t's i-th command is redemption t × each + i with request ids "<prefix><t>-<n>".
inline double ClosedLoopRedemptions(const std::function<void(std::string)>& execute,
                                    uint64_t commands, int threads, const std::string& prefix,
                                    std::vector<double>* latencies_ms) {
  const uint64_t each = std::max<uint64_t>(1, commands / threads);
  return ClosedLoop(
      commands, threads,
      [&](int t, uint64_t i) {
        execute(RedeemCommand(t * each + i, prefix + std::to_string(t) + "-"));
      },
      latencies_ms);
}

// The same through Writer::Execute; every redemption must be accepted.
inline double ClosedLoopRedemptions(ledger::Writer* writer, uint64_t commands, int threads,
                                    const std::string& prefix, std::vector<double>* latencies_ms) {
  return ClosedLoopRedemptions(
      [writer](std::string command) {
        auto r = writer->Execute(std::move(command));
        Must(r.status.ok(), r.status.ToString());
      },
      commands, threads, prefix, latencies_ms);
}

// A "Vm...:" line of /proc/self/status in KiB (VmRSS: resident now; VmHWM: the peak), 0 if absent.
inline uint64_t ProcStatusKb(const char* field) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t kb = 0;
  const size_t length = std::strlen(field);
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strncmp(line, field, length) == 0 && line[length] == ':') {
      kb = std::strtoull(line + length + 1, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return kb;
}

}  // namespace mulin::bench

#endif  // MULIN_BENCH_WORKLOADS_H_
