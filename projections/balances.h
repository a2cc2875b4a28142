// Balances: the balance of every account in every unit, folded from domain::Postings.
//
//   row_key := account: key string  unit: u8 (schema::Unit)
//   value   := balance: i64  postings: u64  last_seq: u64
//
// Thread-safety: see projection.h; the Read functions are safe from any thread.
#ifndef MULIN_PROJECTIONS_BALANCES_H_
#define MULIN_PROJECTIONS_BALANCES_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "projections/projection.h"

namespace mulin::projections {

inline constexpr std::string_view kBalancesName = "balances";

struct Balance {
  std::string account;
  schema::Unit unit = schema::Unit::POINTS;
  int64_t balance = 0;    // in `unit`
  uint64_t postings = 0;  // postings folded into it
  uint64_t last_seq = 0;  // seq of the last of them
};

class BalancesProjection final : public Projection {
 public:
  std::string_view name() const override { return kBalancesName; }
  Status Apply(const EventContext& context, Rows* rows) override;
  std::string DescribeKey(std::string_view row_key) const override;
  std::string DescribeValue(std::string_view row_key, std::string_view value) const override;

 private:
  std::string key_;  // the row key being built, reused across postings
};

// The balances of `account` in each unit it has postings in (none when it has none).
Result<std::vector<Balance>> ReadAccountBalances(const RowStore& store, std::string_view account);

// Visits every balance row in key order until `visit` returns false. A row that does not decode
// stops the scan with kCorruption.
Status ScanBalances(const RowStore& store, const std::function<bool(const Balance&)>& visit);
// The same over the rows whose account starts with `account_prefix` (raw bytes, e.g. "fund:").
Status ScanBalances(const RowStore& store, std::string_view account_prefix,
                    const std::function<bool(const Balance&)>& visit);

}  // namespace mulin::projections

#endif  // MULIN_PROJECTIONS_BALANCES_H_
