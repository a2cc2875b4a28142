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

// Where an order row's fields lie. Its three texts vary in length and the fields after them do
// not, so a fold step that changes no text rewrites the state and the fields from placed_us on in
// place (PutOrderFields), without decoding and re-encoding the row.
struct OrderLayout {
  std::string_view community, resident, social_worker;  // within the row's value
  size_t state_at = 0;                                  // the state's byte
  size_t fields_at = 0;                                 // placed_us, then the fields after it
};
// False when `value` does not decode as an order (DecodeOrder's checks: sizes and state).
bool LocateOrder(std::string_view value, OrderLayout* layout);
// The state and the fields from placed_us on; the texts of `*order` are left as they are.
void GetOrderFields(std::string_view value, const OrderLayout& layout, Order* order);
// The three texts, copied out of the row.
void GetOrderTexts(const OrderLayout& layout, Order* order);
// Writes them back over the row (`layout` of the same value); the texts are not written.
void PutOrderFields(const Order& order, const OrderLayout& layout, std::string* value);
bool DecodeCommunity(std::string_view value, CommunityRow* row);
bool DecodeVolunteer(std::string_view value, VolunteerService* volunteer);

}  // namespace mulin::projections::orders_internal

#endif  // MULIN_PROJECTIONS_ORDERS_ROWS_H_
