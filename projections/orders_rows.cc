#include "projections/orders_rows.h"

#include <algorithm>

#include "projections/codec.h"
#include "projections/engine.h"

namespace mulin::projections {
namespace orders_internal {

void TaggedKey(char tag, std::string_view first, std::string_view second, std::string* key) {
  key->clear();
  key->push_back(tag);
  AppendKeyString(key, first);
  if (tag == kVolunteerTag) AppendKeyString(key, second);
}

std::string TaggedKey(char tag, std::string_view first, std::string_view second) {
  std::string key;
  TaggedKey(tag, first, second, &key);
  return key;
}

void EncodeOrder(const Order& o, std::string* value) {
  value->clear();
  ValueWriter(value)
      .Str(o.community)
      .U8(static_cast<uint8_t>(o.state))
      .Str(o.resident)
      .Str(o.social_worker)
      .I64(o.placed_us)
      .I64(o.rated_us)
      .I64(o.closed_us)
      .U8(o.rating)
      .I64(o.minutes)
      .I64(o.points);
}

namespace {

// Where each field after an order's texts lies, from placed_us on (the grammar in orders.h).
constexpr size_t kPlacedAt = 0;
constexpr size_t kRatedAt = kPlacedAt + 8;
constexpr size_t kClosedAt = kRatedAt + 8;
constexpr size_t kRatingAt = kClosedAt + 8;
constexpr size_t kMinutesAt = kRatingAt + 1;
constexpr size_t kPointsAt = kMinutesAt + 8;
constexpr size_t kOrderFieldsBytes = kPointsAt + 8;

}  // namespace

bool LocateOrder(std::string_view value, OrderLayout* layout) {
  ValueReader r(value);
  layout->community = r.StrView();
  layout->state_at = value.size() - r.remaining();
  const uint8_t state = r.U8();
  layout->resident = r.StrView();
  layout->social_worker = r.StrView();
  layout->fields_at = value.size() - r.remaining();
  return r.good() && r.remaining() == kOrderFieldsBytes && state < kOrderStateCount;
}

void GetOrderFields(std::string_view value, const OrderLayout& layout, Order* o) {
  o->state = static_cast<OrderState>(value[layout.state_at]);
  const char* at = value.data() + layout.fields_at;  // LocateOrder checked that they are there
  o->placed_us = static_cast<int64_t>(LoadFixed(at + kPlacedAt, 8));
  o->rated_us = static_cast<int64_t>(LoadFixed(at + kRatedAt, 8));
  o->closed_us = static_cast<int64_t>(LoadFixed(at + kClosedAt, 8));
  o->rating = static_cast<uint8_t>(at[kRatingAt]);
  o->minutes = static_cast<int64_t>(LoadFixed(at + kMinutesAt, 8));
  o->points = static_cast<int64_t>(LoadFixed(at + kPointsAt, 8));
}

void PutOrderFields(const Order& o, const OrderLayout& layout, std::string* value) {
  char* const row = value->data();
  StoreFixed(row + layout.state_at, static_cast<uint8_t>(o.state), 1);
  char* const at = row + layout.fields_at;
  StoreFixed(at + kPlacedAt, static_cast<uint64_t>(o.placed_us), 8);
  StoreFixed(at + kRatedAt, static_cast<uint64_t>(o.rated_us), 8);
  StoreFixed(at + kClosedAt, static_cast<uint64_t>(o.closed_us), 8);
  StoreFixed(at + kRatingAt, o.rating, 1);
  StoreFixed(at + kMinutesAt, static_cast<uint64_t>(o.minutes), 8);
  StoreFixed(at + kPointsAt, static_cast<uint64_t>(o.points), 8);
}

void GetOrderTexts(const OrderLayout& layout, Order* o) {
  o->community = layout.community;
  o->resident = layout.resident;
  o->social_worker = layout.social_worker;
}

bool DecodeOrder(std::string_view value, Order* o) {
  OrderLayout layout;
  if (!LocateOrder(value, &layout)) return false;
  GetOrderTexts(layout, o);
  GetOrderFields(value, layout, o);
  return true;
}

bool DecodeCommunity(std::string_view value, CommunityRow* c) {
  ValueReader r(value);
  for (uint64_t& n : c->orders) n = r.U64();
  for (uint64_t& n : c->ratings) n = r.U64();
  c->placed_to_rated_us = r.I64();
  c->minutes = r.I64();
  c->volunteers = r.U64();
  return r.ok();
}

bool DecodeVolunteer(std::string_view value, VolunteerService* v) {
  ValueReader r(value);
  v->minutes = r.I64();
  v->deliveries = r.U64();
  return r.ok();
}

}  // namespace orders_internal

using orders_internal::CommunityRow;
using orders_internal::DecodeCommunity;
using orders_internal::DecodeOrder;
using orders_internal::DecodeVolunteer;
using orders_internal::kCommunityTag;
using orders_internal::kOrderTag;
using orders_internal::kVolunteerTag;
using orders_internal::TaggedKey;

std::string OrdersProjection::DescribeKey(std::string_view row_key) const {
  if (row_key.empty()) return "row " + DescribeBytes(row_key);
  std::string_view rest = row_key.substr(1);
  std::string first, second;
  if (!ReadKeyString(&rest, &first)) return "row " + DescribeBytes(row_key);
  switch (row_key[0]) {
    case kOrderTag:
      if (rest.empty()) return "order " + first;
      break;
    case kCommunityTag:
      if (rest.empty()) return "community " + first + " service";
      break;
    case kVolunteerTag:
      if (ReadKeyString(&rest, &second) && rest.empty()) {
        return "volunteer " + second + " in " + first;
      }
      break;
    default:
      break;
  }
  return "row " + DescribeBytes(row_key);
}

std::string OrdersProjection::DescribeValue(std::string_view row_key,
                                            std::string_view value) const {
  const char tag = row_key.empty() ? '\0' : row_key[0];
  if (tag == kOrderTag) {
    Order o;
    if (!DecodeOrder(value, &o)) return DescribeBytes(value);
    return std::string(OrderStateName(o.state)) + " in " + o.community + ", rating " +
           std::to_string(o.rating) + ", " + std::to_string(o.minutes) + " minutes, " +
           std::to_string(o.points) + " points";
  }
  if (tag == kCommunityTag) {
    CommunityRow c;
    if (!DecodeCommunity(value, &c)) return DescribeBytes(value);
    std::string out = "orders";
    for (size_t s = 0; s < kOrderStateCount; ++s) {
      out += " " + std::string(OrderStateName(static_cast<OrderState>(s))) + "=" +
             std::to_string(c.orders[s]);
    }
    out += "; ratings";
    for (size_t r = 0; r < kRatingValues; ++r) out += " " + std::to_string(c.ratings[r]);
    return out + "; " + std::to_string(c.minutes) + " minutes by " + std::to_string(c.volunteers) +
           " volunteers";
  }
  VolunteerService v;
  if (tag != kVolunteerTag || !DecodeVolunteer(value, &v)) return DescribeBytes(value);
  return std::to_string(v.minutes) + " minutes, " + std::to_string(v.deliveries) + " deliveries";
}

Result<std::optional<Order>> ReadOrder(const RowStore& store, std::string_view order_id) {
  std::string value;
  Result<bool> found = store.Get(RowPrefix(kOrdersName) + TaggedKey(kOrderTag, order_id), &value);
  if (!found.ok()) return found.status();
  if (!*found) return std::optional<Order>();
  Order order;
  if (!DecodeOrder(value, &order)) {
    return Status::Corruption("orders: the row of order " + std::string(order_id) +
                              " does not decode; run `mulin reconcile`");
  }
  order.order_id = std::string(order_id);
  return std::optional<Order>(std::move(order));
}

Result<ServiceSummary> ReadServiceSummary(const RowStore& store, std::string_view community,
                                          size_t top_max) {
  const std::string rows = RowPrefix(kOrdersName);
  ServiceSummary summary;
  summary.community = std::string(community);
  std::string value;
  Result<bool> found = store.Get(rows + TaggedKey(kCommunityTag, community), &value);
  if (!found.ok()) return found.status();
  CommunityRow sums;
  if (*found && !DecodeCommunity(value, &sums)) {
    return Status::Corruption("orders: the row of community " + std::string(community) +
                              " does not decode; run `mulin reconcile`");
  }
  summary.orders_by_state = sums.orders;
  summary.ratings_by_value = sums.ratings;
  summary.placed_to_rated_us = sums.placed_to_rated_us;
  summary.minutes = sums.minutes;
  summary.volunteers = sums.volunteers;

  std::string prefix = rows + std::string(1, kVolunteerTag);
  AppendKeyString(&prefix, community);
  Status problem;
  MULIN_RETURN_IF_ERROR(ScanPrefix(store, prefix, [&](std::string_view key, std::string_view v) {
    VolunteerService volunteer;
    key.remove_prefix(prefix.size());
    if (!ReadKeyString(&key, &volunteer.volunteer) || !DecodeVolunteer(v, &volunteer)) {
      problem = Status::Corruption("orders: a volunteer row of " + std::string(community) +
                                   " does not decode; run `mulin reconcile`");
      return false;
    }
    summary.top_volunteers.push_back(std::move(volunteer));
    return true;
  }));
  MULIN_RETURN_IF_ERROR(problem);
  auto more = [](const VolunteerService& a, const VolunteerService& b) {
    return a.minutes != b.minutes ? a.minutes > b.minutes : a.volunteer < b.volunteer;
  };
  auto& top = summary.top_volunteers;
  const size_t keep = std::min(top_max, top.size());
  std::partial_sort(top.begin(), top.begin() + static_cast<std::ptrdiff_t>(keep), top.end(), more);
  top.resize(keep);
  return summary;
}

}  // namespace mulin::projections
