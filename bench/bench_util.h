// Small shared pieces of the benchmark programs: timing, percentiles, median-of-runs rows.
#ifndef MULIN_BENCH_BENCH_UTIL_H_
#define MULIN_BENCH_BENCH_UTIL_H_

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace mulin::bench {

inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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

}  // namespace mulin::bench

#endif  // MULIN_BENCH_BENCH_UTIL_H_
