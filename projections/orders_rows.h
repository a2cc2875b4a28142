// The stored forms of the orders projection's rows (grammar in orders.h), shared by its fold
// (orders.cc) and its queries (orders_rows.cc). Internal to the projection.
#ifndef MULIN_PROJECTIONS_ORDERS_ROWS_H_
#define MULIN_PROJECTIONS_ORDERS_ROWS_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "projections/orders.h"

namespace mulin::projections::orders_internal {

inline constexpr char kOrderTag = 'o';
inline constexpr char kCommunityTag = 'c';
inline constexpr char kVolunteerTag = 'v';

struct CommunityRow {
  std::array<uint64_t, kOrderStateCount> orders{};
  std::array<uint64_t, kRatingValues> ratings{};
  int64_t placed_to_rated_us = 0;
  int64_t minutes = 0;
  uint64_t volunteers = 0;
};

// 'o' order, 'c' community, or 'v' community volunteer (`second` only for 'v').
std::string TaggedKey(char tag, std::string_view first, std::string_view second = {});
// The same into `*key`, whose buffer a fold reuses.
void TaggedKey(char tag, std::string_view first, std::string_view second, std::string* key);
// Replaces `*value` (keeping its buffer).
void EncodeOrder(const Order& order, std::string* value);
bool DecodeOrder(std::string_view value, Order* order);
bool DecodeCommunity(std::string_view value, CommunityRow* row);
bool DecodeVolunteer(std::string_view value, VolunteerService* volunteer);

}  // namespace mulin::projections::orders_internal

#endif  // MULIN_PROJECTIONS_ORDERS_ROWS_H_
