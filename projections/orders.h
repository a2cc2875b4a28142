// Orders and service: the state of each order, and per community the orders in each state, the
// ratings, the time from placed to rated, and the service minutes of each volunteer.
//
//   row_key   := 'o' order: key string                             → order
//              | 'c' community: key string                         → community
//              | 'v' community: key string  volunteer: key string  → volunteer
//   order     := community: str  state: u8 (OrderState)  resident: str  social_worker: str
//                placed_us: i64  rated_us: i64  closed_us: i64  (0 = not yet)
//                rating: u8 (0 = unrated)  minutes: i64  points: i64
//   community := orders: u64[kOrderStateCount] (how many orders are in each state)
//                ratings: u64[5] (how many ratings of 1..5)
//                placed_to_rated_us: i64 (sum over rated orders of rated_us − placed_us)
//                minutes: i64  volunteers: u64 (rows 'v' of the community)
//   volunteer := minutes: i64  deliveries: u64
// Service minutes come from the minutes postings to volunteer:<id> (domain::Postings), credited to
// the community on the other side (service:<community> or adjustments:<community>).
//
// Thread-safety: see projection.h; the Read functions are safe from any thread.
#ifndef MULIN_PROJECTIONS_ORDERS_H_
#define MULIN_PROJECTIONS_ORDERS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "projections/projection.h"

namespace mulin::projections {

inline constexpr std::string_view kOrdersName = "orders";

enum class OrderState : uint8_t {
  kPlaced,
  kDispatched,
  kAccepted,
  kDelivered,
  kRated,     // rated; points not yet credited or held
  kHeld,      // rated 1: points wait for a social worker's review
  kClosed,    // points credited (rated 2..5, overdue, or held points approved)
  kRejected,  // held points rejected
  kCancelled,
};
inline constexpr size_t kOrderStateCount = 9;
inline constexpr size_t kRatingValues = 5;  // ratings are 1..5

const char* OrderStateName(OrderState state);

struct Order {
  std::string order_id;
  std::string community;
  OrderState state = OrderState::kPlaced;
  std::string resident;
  std::string social_worker;
  int64_t placed_us = 0;
  int64_t rated_us = 0;
  int64_t closed_us = 0;
  uint8_t rating = 0;
  int64_t minutes = 0;  // service minutes delivered on the order
  int64_t points = 0;   // points credited for it
};

struct VolunteerService {
  std::string volunteer;
  int64_t minutes = 0;
  uint64_t deliveries = 0;
};

struct ServiceSummary {
  std::string community;
  std::array<uint64_t, kOrderStateCount> orders_by_state{};
  std::array<uint64_t, kRatingValues> ratings_by_value{};
  int64_t placed_to_rated_us = 0;  // sum over rated orders
  int64_t minutes = 0;
  uint64_t volunteers = 0;
  std::vector<VolunteerService> top_volunteers;  // most minutes first, then by id
};

class OrdersProjection final : public Projection {
 public:
  std::string_view name() const override { return kOrdersName; }
  Status Apply(const EventContext& context, Rows* rows) override;
  std::string DescribeKey(std::string_view row_key) const override;
  std::string DescribeValue(std::string_view row_key, std::string_view value) const override;

 private:
  std::string key_;     // the row key being built, reused across rows and events
  std::string joined_;  // counterparties joined (Counterparty), reused likewise
};

Result<std::optional<Order>> ReadOrder(const RowStore& store, std::string_view order_id);

// The community's summary with its `top_max` volunteers by minutes.
Result<ServiceSummary> ReadServiceSummary(const RowStore& store, std::string_view community,
                                          size_t top_max);

}  // namespace mulin::projections

#endif  // MULIN_PROJECTIONS_ORDERS_H_
