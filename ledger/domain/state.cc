#include "ledger/domain/state.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <tuple>

namespace mulin::domain {

#ifdef __GLIBCXX__
static_assert(std::__cache_default<std::string, IdHash>::value,
              "IdMap's nodes keep their hash codes, as std::hash<std::string>'s do");
#endif

size_t IdHash::operator()(const std::string& id) const {
  return static_cast<size_t>(XXH3_64bits(id.data(), id.size()));
}

bool Rules::operator==(const Rules& other) const {
  return std::tie(effective_from_us, points_per_hour, max_minutes_per_order, rating_window_s,
                  reversal_window_s) == std::tie(other.effective_from_us, other.points_per_hour,
                                                 other.max_minutes_per_order, other.rating_window_s,
                                                 other.reversal_window_s);
}

Rules RulesAt(const Community& community, int64_t at_us) {
  // The first rule taking effect after at_us; the one before it (if any) is in force.
  auto after =
      std::upper_bound(community.rules.begin(), community.rules.end(), at_us,
                       [](int64_t t, const Rules& rules) { return t < rules.effective_from_us; });
  if (after == community.rules.begin()) return Rules();
  return *(after - 1);
}

bool Member::operator==(const Member& other) const {
  return community_id == other.community_id && roles == other.roles;
}

bool Merchant::operator==(const Merchant& other) const {
  return community_id == other.community_id && rate_bps == other.rate_bps;
}

bool Credential::operator==(const Credential& other) const {
  return std::tie(community_id, role, subject_id, secret_hash, revoked) ==
         std::tie(other.community_id, other.role, other.subject_id, other.secret_hash,
                  other.revoked);
}

const char* OrderStatusName(OrderStatus status) {
  switch (status) {
    case OrderStatus::kPlaced:
      return "placed";
    case OrderStatus::kDispatched:
      return "dispatched";
    case OrderStatus::kAccepted:
      return "accepted";
    case OrderStatus::kDelivered:
      return "delivered";
    case OrderStatus::kHeld:
      return "held for review";
    case OrderStatus::kClosed:
      return "closed";
    case OrderStatus::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

bool Share::operator==(const Share& other) const {
  return std::tie(volunteer_id, minutes, points) ==
         std::tie(other.volunteer_id, other.minutes, other.points);
}

bool Order::operator==(const Order& other) const {
  return std::tie(community_id, status, resident_id, social_worker_id, delivered_at_us, rating,
                  shares) == std::tie(other.community_id, other.status, other.resident_id,
                                      other.social_worker_id, other.delivered_at_us, other.rating,
                                      other.shares);
}

bool Redemption::operator==(const Redemption& other) const {
  return std::tie(seq, volunteer_id, merchant_id, points, recorded_at_us, reversed) ==
         std::tie(other.seq, other.volunteer_id, other.merchant_id, other.points,
                  other.recorded_at_us, other.reversed);
}

bool Sale::operator==(const Sale& other) const {
  return std::tie(seq, merchant_id, gross_fen, contribution_fen, reversed) ==
         std::tie(other.seq, other.merchant_id, other.gross_fen, other.contribution_fen,
                  other.reversed);
}

bool Payout::operator==(const Payout& other) const {
  return std::tie(community_id, project_id, amount_fen, requester_id, status) ==
         std::tie(other.community_id, other.project_id, other.amount_fen, other.requester_id,
                  other.status);
}

bool State::operator==(const State& other) const {
  bool equal = last_seq == other.last_seq && last_recorded_at_us == other.last_recorded_at_us &&
               redemptions == other.redemptions && sales == other.sales;
  ForEachTrackedMap([&](const auto& mine, const auto& theirs) { equal = equal && mine == theirs; },
                    *this, other);
  return equal;
}

bool ChangesAreSmaller(const State& state) {
  size_t tracked = 0;
  ForEachTrackedMap([&](const auto& map) { tracked += map.size(); }, state);
  return state.changes.noted() < tracked;
}

int64_t BalanceOf(const State& state, std::string_view account, schema::Unit unit) {
  const Balances* balances = FindIn(state.balances, account);
  const size_t index = static_cast<size_t>(unit);
  if (balances == nullptr || index >= kUnitCount) return 0;
  return (*balances)[index];
}

}  // namespace mulin::domain
