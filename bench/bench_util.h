// Small shared pieces of the benchmark programs: timing, percentiles, median-of-runs rows.
#ifndef MULIN_BENCH_BENCH_UTIL_H_
#define MULIN_BENCH_BENCH_UTIL_H_

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tests/support/proc_stat.h"

namespace mulin::bench {

inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A CPU-time clock's reading, in seconds (exact, not sampled by the scheduler's ticks).
inline double CpuClockSeconds(clockid_t clock) {
  timespec now{};
  clock_gettime(clock, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

// CPU time of the whole process so far (all its threads), in seconds.
inline double ProcessCpuSeconds() { return CpuClockSeconds(CLOCK_PROCESS_CPUTIME_ID); }

// CPU time of the calling thread so far, user and kernel, in seconds.
inline double ThreadCpuSeconds() { return CpuClockSeconds(CLOCK_THREAD_CPUTIME_ID); }

// CPU time the process has spent in the kernel so far (all its threads), in seconds.
inline double ProcessSystemSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_stime.tv_usec) / 1e6;
}

// User + system CPU seconds in a /proc/.../stat file, and the comm; 0 when it cannot be read.
inline double StatCpuSeconds(const std::filesystem::path& stat_path, std::string* comm = nullptr) {
  const auto stat = testing::ReadProcStat(stat_path);
  if (!stat) return 0;
  if (comm != nullptr) *comm = stat->comm;
  return stat->cpu_seconds;
}

// CPU seconds (user + system) of each live thread of a process (this one by default), summed by
// thread name: where a workload's CPU goes (the writer's thread, the submitting thread, RocksDB's
// flush and compaction threads), which on a shared machine says more than wall time.
inline std::map<std::string, double> ThreadCpuByName(
    const std::filesystem::path& tasks = "/proc/self/task") {
  std::map<std::string, double> out;
  for (const auto& thread : testing::ReadThreadStats(tasks)) out[thread.comm] += thread.cpu_seconds;
  return out;
}

// CPU µs per event that threads named `name` (or, with a trailing '*', starting with it) spent
// between two ThreadCpuByName() readings.
inline double CpuUsPerEvent(const std::map<std::string, double>& before,
                            const std::map<std::string, double>& after, const std::string& name,
                            uint64_t events) {
  double seconds = 0;
  const bool prefix = !name.empty() && name.back() == '*';
  const std::string stem = prefix ? name.substr(0, name.size() - 1) : name;
  for (const auto& [thread, cpu] : after) {
    if (prefix ? thread.rfind(stem, 0) != 0 : thread != stem) continue;
    auto was = before.find(thread);
    seconds += cpu - (was == before.end() ? 0 : was->second);
  }
  return seconds * 1e6 / static_cast<double>(events);
}

// One run of a measurement: its wall time, and the CPU time of the whole process (all threads).
// On a shared machine the wall time includes waiting for a core; CPU time is the cost itself.
struct Sample {
  double wall_s = 0;
  double cpu_s = 0;
  bool operator<(const Sample& other) const { return wall_s < other.wall_s; }
};

// Times one call of `measure`, which returns the events it covered. Anything but `events` means
// it failed: the program then exits, saying so under `name`.
inline Sample TimeOverEvents(const std::string& name, uint64_t events,
                             const std::function<uint64_t()>& measure) {
  const double cpu_start = ProcessCpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  const uint64_t covered = measure();
  const Sample sample{SecondsSince(start), ProcessCpuSeconds() - cpu_start};
  if (covered != events) {
    std::fprintf(stderr, "%s covered %llu events, not %llu\n", name.c_str(),
                 static_cast<unsigned long long>(covered), static_cast<unsigned long long>(events));
    std::exit(1);
  }
  return sample;
}

// The value at fraction `q` (0..1) of `samples`, which it sorts.
inline double Percentile(std::vector<double>* samples, double q) {
  if (samples->empty()) return 0;
  std::sort(samples->begin(), samples->end());
  const size_t index = std::min(samples->size() - 1, static_cast<size_t>(q * samples->size()));
  return (*samples)[index];
}

// Median, min and max of repeated runs of one figure.
struct Spread {
  double median = 0, min = 0, max = 0;
};

inline Spread SpreadOf(std::vector<double> runs) {
  Spread s;
  if (runs.empty()) return s;
  std::sort(runs.begin(), runs.end());
  s.median = runs[runs.size() / 2];
  s.min = runs.front();
  s.max = runs.back();
  return s;
}

// Whole numbers, except for small figures (ratios, seconds) which keep two decimals.
inline std::string Figure(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), value < 100 && value > -100 ? "%.2f" : "%.0f", value);
  return text;
}

inline void PrintRow(const std::string& name, const Spread& s, const char* unit,
                     const std::string& note = "") {
  std::printf("| %-46s | %12s | %12s | %12s | %-10s | %s\n", name.c_str(), Figure(s.median).c_str(),
              Figure(s.min).c_str(), Figure(s.max).c_str(), unit, note.c_str());
  std::fflush(stdout);
}

inline void PrintHeader() {
  std::printf("| %-46s | %12s | %12s | %12s | %-10s |\n", "workload", "median", "min", "max",
              "unit");
  std::printf("|%s|%s|%s|%s|%s|\n", std::string(48, '-').c_str(), std::string(14, '-').c_str(),
              std::string(14, '-').c_str(), std::string(14, '-').c_str(),
              std::string(12, '-').c_str());
}

// Microseconds of each of `count` appends of 512 bytes to a fresh file in `dir`, each followed by
// fdatasync (`data_only`) or fsync: the floor of one durable commit on this disk, right now. With
// `cpu_us`, also the CPU each append and sync took on the calling thread: what a group commit
// costs its committing thread besides the wait, whatever the group holds.
inline std::vector<double> SyncLatenciesUs(const std::string& dir, int count, bool data_only,
                                           std::vector<double>* cpu_us = nullptr) {
  constexpr size_t kProbeWriteBytes = 512;
  const std::string path = dir + "/mulin-fsync-probe";
  const int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_APPEND, 0600);
  if (fd < 0) {
    std::perror("fsync probe: open");
    std::exit(1);
  }
  const std::string bytes(kProbeWriteBytes, 'x');
  std::vector<double> us;
  for (int i = 0; i < count; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = ThreadCpuSeconds();
    const bool ok = write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()) &&
                    (data_only ? fdatasync(fd) : fsync(fd)) == 0;
    if (!ok) {
      std::perror("fsync probe: write/sync");
      std::exit(1);
    }
    if (cpu_us != nullptr) cpu_us->push_back((ThreadCpuSeconds() - cpu_start) * 1e6);
    us.push_back(SecondsSince(start) * 1e6);
  }
  close(fd);
  std::filesystem::remove(path);
  return us;
}

}  // namespace mulin::bench

#endif  // MULIN_BENCH_BENCH_UTIL_H_
