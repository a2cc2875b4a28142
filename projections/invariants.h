// InvariantChecker: DESIGN §2's invariants, checked while reconciliation folds the log from seq 1
// into scratch space (per event) and over the scratch rows afterwards (Finish):
//   - every sale's contribution is (gross × rate_bps + 5000) / 10000, and its postings move exactly
//     that into the fund;
//   - every reversal (of a sale or a redemption) names an earlier original of the right kind with
//     the same id, merchant and amounts, not reversed before;
//   - per unit, the balances of all accounts sum to zero;
//   - no account that must stay non-negative (domain::MustStayNonNegative) is ever below zero;
//   - each fund's balance = contributions − reversed contributions − payouts (+ signed adjustments
//     of the fund), summed from the events' own fields rather than from the postings.
// It is a projection so that it rides the same fold; its rows live only in scratch space:
//   row_key := 'r' original_seq: key u64      → reversal_seq: u64   (originals reversed so far)
//            | 'f' community: key string      → contributions: i64  reversed: i64  payouts: i64
//                                               adjustments: i64    (fen, from event fields)
// Thread-safety: see projection.h. Ownership: borrows the log and the difference list.
#ifndef MULIN_PROJECTIONS_INVARIANTS_H_
#define MULIN_PROJECTIONS_INVARIANTS_H_

#include <string_view>

#include "ledger/event_log.h"
#include "projections/differences.h"
#include "projections/projection.h"

namespace mulin::projections {

inline constexpr std::string_view kChecksName = "checks";

class InvariantChecker final : public Projection {
 public:
  InvariantChecker(const ledger::EventLog* log, DifferenceList* differences)
      : log_(log), differences_(differences) {}
  std::string_view name() const override { return kChecksName; }
  Status Apply(const EventContext& context, Rows* rows) override;
  std::string DescribeKey(std::string_view row_key) const override;
  std::string DescribeValue(std::string_view row_key, std::string_view value) const override;

  // The checks over the whole fold, on the scratch rows of the standard projections and of this
  // checker in `scratch`. An error means a check could not run (I/O, rows that do not decode).
  Status Finish(const RowStore& scratch);

 private:
  Status CheckSale(const EventContext& context, Rows* rows);
  Status CheckReversal(const EventContext& context, Rows* rows);
  Status AddToFund(Rows* rows, std::string_view community, int field, int64_t fen);
  Status CheckZeroSum(const RowStore& scratch);
  Status CheckNeverNegative(const RowStore& scratch);
  Status CheckFunds(const RowStore& scratch);
  void Violation(std::string subject, std::string expected, std::string found);

  const ledger::EventLog* log_;
  DifferenceList* differences_;
};

}  // namespace mulin::projections

#endif  // MULIN_PROJECTIONS_INVARIANTS_H_
