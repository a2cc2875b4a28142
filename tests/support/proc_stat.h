// ProcStat: what Linux says about one process or thread in /proc/.../stat, and every thread of a
// process by its name. Tests read the nice value of `mulin serve`'s threads; the benchmarks read
// where the CPU went.
#ifndef MULIN_TESTS_SUPPORT_PROC_STAT_H_
#define MULIN_TESTS_SUPPORT_PROC_STAT_H_

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace mulin::testing {

struct ProcStat {
  std::string comm;        // the thread's (or process's) name
  double cpu_seconds = 0;  // user + system time so far
  int nice = 0;
};

// Parses a stat file ("pid (comm) state ... utime stime ... priority nice ..."); nullopt when it
// cannot be read, as when the thread has just ended.
inline std::optional<ProcStat> ReadProcStat(const std::filesystem::path& stat_path) {
  std::ifstream in(stat_path);
  const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The name may hold spaces and parentheses: it runs from the first '(' to the last ')'.
  const size_t open = stat.find('(');
  const size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return std::nullopt;
  ProcStat out;
  out.comm = stat.substr(open + 1, close - open - 1);
  // After the name: state is field 3; utime and stime (clock ticks) are 14 and 15; nice is 19.
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  double ticks = 0;
  int n = 3;
  for (; n <= 19 && fields >> field; ++n) {
    if (n == 14 || n == 15) ticks += std::stod(field);
    if (n == 19) out.nice = std::stoi(field);
  }
  if (n <= 19) return std::nullopt;  // cut short
  out.cpu_seconds = ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  return out;
}

// Every live thread of a process: /proc/<pid>/task by default for this process.
inline std::vector<ProcStat> ReadThreadStats(
    const std::filesystem::path& tasks = "/proc/self/task") {
  std::vector<ProcStat> out;
  std::error_code error;
  for (std::filesystem::directory_iterator it(tasks, error), end; !error && it != end;
       it.increment(error)) {
    if (auto stat = ReadProcStat(it->path() / "stat")) out.push_back(std::move(*stat));
  }
  return out;
}

}  // namespace mulin::testing

#endif  // MULIN_TESTS_SUPPORT_PROC_STAT_H_
