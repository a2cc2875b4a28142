#include "projections/standard.h"

namespace mulin::projections {

Projection* StandardProjections::Find(std::string_view name) {
  for (Projection* projection : All()) {
    if (projection->name() == name) return projection;
  }
  return nullptr;
}

std::string StandardProjections::Names() {
  return std::string(kBalancesName) + ", " + std::string(kAuditName) + ", " +
         std::string(kFundName) + ", " + std::string(kOrdersName);
}

}  // namespace mulin::projections
