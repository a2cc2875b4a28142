// machine_bench: the machine the other figures come from, in the table's format: cores, memory,
// the file system under the benchmarks' directory, and what an fsync costs there (the floor of
// every durable commit: Mulin's group commit, RocksDB's synced WriteBatch, SQLite's COMMIT).
//
// Usage: machine_bench [--fsyncs N] [--dir DIR] [--probe 1]
//   --fsyncs N  synced appends timed (default 1000)
//   --dir DIR   where the probe file goes (default the temp directory)
//   --probe 1   only the host probe (bench/host_probe.h), as one line: "probe <ns> <ns>", the
//               medians of a multiply-add and of a load; bench/run.sh runs it before each program
// Each sync probe appends 512 bytes to a file and syncs it, timed one by one: fdatasync (what
// RocksDB's synced WAL write and SQLite's COMMIT call on Linux) and fsync (metadata as well), with
// the CPU each takes on the syncing thread (on a guest, mostly the kernel's).
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "bench/host_probe.h"

namespace mulin::bench {
namespace {

uint64_t MemTotalKb() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  while (meminfo >> key >> kb) {
    if (key == "MemTotal:") return kb;
    meminfo.ignore(1 << 10, '\n');
  }
  return 0;
}

// The malloc this program runs with, as the other programs and `mulin` do (CMake's
// mulin_link_allocator): jemalloc answers mallctl("version"), glibc has no mallctl.
std::string AllocatorName() {
  using Mallctl = int (*)(const char*, void*, size_t*, void*, size_t);
  auto mallctl = reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl"));
  if (mallctl == nullptr) return "glibc malloc";
  const char* version = nullptr;
  size_t size = sizeof(version);
  if (mallctl("version", &version, &size, nullptr, 0) != 0) return "jemalloc";
  return std::string("jemalloc ") + version;
}

// The mount holding `dir`: the longest mount point that prefixes it.
std::string MountOf(const std::string& dir) {
  std::ifstream mounts("/proc/mounts");
  std::string device, point, type, rest, best = "?";
  size_t best_length = 0;
  const std::string path = std::filesystem::canonical(dir).string();
  while (mounts >> device >> point >> type && std::getline(mounts, rest)) {
    const bool prefix = path.compare(0, point.size(), point) == 0 &&
                        (point == "/" || path.size() == point.size() || path[point.size()] == '/');
    if (prefix && point.size() >= best_length) {
      best_length = point.size();
      best = device + " " + type + " on " + point;
    }
  }
  return best;
}

void PrintSync(const std::string& name, const std::string& dir, int count, bool data_only) {
  std::vector<double> cpu_us;
  std::vector<double> us = SyncLatenciesUs(dir, count, data_only, &cpu_us);
  Spread s = SpreadOf(us);
  PrintRow(name, s, "us", std::to_string(us.size()) + " syncs; min/max of single syncs");
  Spread p99{Percentile(&us, 0.99), s.min, s.max};
  PrintRow(name + ": p99", p99, "us");
  PrintRow(name + ": CPU", SpreadOf(cpu_us), "us",
           "of the syncing thread, user and kernel, per append and sync");
}

}  // namespace
}  // namespace mulin::bench

int main(int argc, char** argv) {
  using namespace mulin::bench;  // NOLINT
  int fsyncs = 1000;
  bool probe_only = false;
  std::string dir = std::filesystem::temp_directory_path().string();
  bool usage = argc % 2 == 0;  // every flag takes a value
  for (int i = 1; !usage && i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--fsyncs" && std::atoi(argv[i + 1]) > 0) {
      fsyncs = std::atoi(argv[i + 1]);
    } else if (flag == "--dir") {
      dir = argv[i + 1];
    } else if (flag == "--probe" && std::string(argv[i + 1]) == "1") {
      probe_only = true;
    } else {
      usage = true;
    }
  }
  if (usage) {
    std::fprintf(stderr, "usage: machine_bench [--fsyncs N] [--dir DIR] [--probe 1]\n");
    return 2;
  }
  const HostProbe probe = ProbeHost();
  if (probe_only) {
    std::printf("probe %.2f %.0f\n", probe.multiply_add_ns.median, probe.load_ns.median);
    return 0;
  }
  struct statvfs fs {};
  statvfs(dir.c_str(), &fs);
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  std::printf(
      "machine: %u cores, %.1f GiB memory, %s (%.0f GiB, %.0f GiB free), load %.2f %.2f "
      "%.2f; %s\n",
      std::thread::hardware_concurrency(), MemTotalKb() / 1048576.0, MountOf(dir).c_str(),
      static_cast<double>(fs.f_blocks) * fs.f_frsize / (1u << 30),
      static_cast<double>(fs.f_bavail) * fs.f_frsize / (1u << 30), load[0], load[1], load[2],
      AllocatorName().c_str());
  PrintHeader();
  PrintRow("0. host probe: one dependent multiply-add", probe.multiply_add_ns, "ns",
           "5 rounds; the core's speed as the host gives it");
  PrintRow("0. host probe: one dependent load, 256 MiB", probe.load_ns, "ns",
           "5 rounds; memory latency as the host's other tenants leave it");
  PrintSync("0. append 512 B + fdatasync (RocksDB, SQLite)", dir, fsyncs, true);
  PrintSync("0. append 512 B + fsync", dir, fsyncs, false);
  return 0;
}
