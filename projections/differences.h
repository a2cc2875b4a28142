// Difference: one disagreement found by reconciliation, in words a person can act on; and a
// bounded list of them.
// Thread-safety: values; a DifferenceList belongs to one thread.
#ifndef MULIN_PROJECTIONS_DIFFERENCES_H_
#define MULIN_PROJECTIONS_DIFFERENCES_H_

#include <cstdint>
#include <string>
#include <vector>

namespace mulin::projections {

// A report lists this many differences by default; the rest are only counted. A ledger whose
// projections were rebuilt wrongly can differ in millions of rows: listing the first ten thousand
// says enough and keeps the report's size bounded.
inline constexpr size_t kDifferencesListedMax = 10000;

struct Difference {
  std::string where;     // a projection name, "invariant", "log" or "chain"
  std::string subject;   // the account, row or record concerned
  std::string expected;  // what the log implies
  std::string found;     // what is stored, or what happened instead
};

class DifferenceList {
 public:
  explicit DifferenceList(size_t listed_max = kDifferencesListedMax) : listed_max_(listed_max) {}
  void Add(Difference difference) {
    ++total_;
    if (listed_.size() < listed_max_) listed_.push_back(std::move(difference));
  }
  const std::vector<Difference>& listed() const { return listed_; }
  uint64_t total() const { return total_; }

 private:
  size_t listed_max_;
  std::vector<Difference> listed_;
  uint64_t total_ = 0;
};

}  // namespace mulin::projections

#endif  // MULIN_PROJECTIONS_DIFFERENCES_H_
