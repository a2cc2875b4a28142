// The projections every ledger keeps, owned together: balances, audit, fund, orders.
// Thread-safety: see projection.h.
#ifndef MULIN_PROJECTIONS_STANDARD_H_
#define MULIN_PROJECTIONS_STANDARD_H_

#include <string>
#include <string_view>
#include <vector>

#include "projections/audit_trail.h"
#include "projections/balances.h"
#include "projections/fund_statement.h"
#include "projections/orders.h"

namespace mulin::projections {

class StandardProjections {
 public:
  StandardProjections() = default;
  StandardProjections(const StandardProjections&) = delete;
  StandardProjections& operator=(const StandardProjections&) = delete;

  std::vector<Projection*> All() { return {&balances_, &audit_, &fund_, &orders_}; }
  // The projection called `name`, or nullptr.
  Projection* Find(std::string_view name);
  // "balances, audit, fund, orders": for messages that list the valid names.
  static std::string Names();

 private:
  BalancesProjection balances_;
  AuditTrailProjection audit_;
  FundStatementProjection fund_;
  OrdersProjection orders_;
};

}  // namespace mulin::projections

#endif  // MULIN_PROJECTIONS_STANDARD_H_
