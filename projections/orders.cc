#include "projections/orders.h"

#include <algorithm>

#include "projections/codec.h"
#include "projections/engine.h"
#include "projections/format.h"

namespace mulin::projections {
namespace {

using Which = schema::Event::Body::Which;

constexpr char kOrderTag = 'o';
constexpr char kCommunityTag = 'c';
constexpr char kVolunteerTag = 'v';

struct CommunityRow {
  std::array<uint64_t, kOrderStateCount> orders{};
  std::array<uint64_t, kRatingValues> ratings{};
  int64_t placed_to_rated_us = 0;
  int64_t minutes = 0;
  uint64_t volunteers = 0;
};

std::string TaggedKey(char tag, std::string_view first, std::string_view second = {}) {
  std::string key(1, tag);
  AppendKeyString(&key, first);
  if (tag == kVolunteerTag) AppendKeyString(&key, second);
  return key;
}

std::string EncodeOrder(const Order& o) {
  return ValueWriter()
      .Str(o.community)
      .U8(static_cast<uint8_t>(o.state))
      .Str(o.resident)
      .Str(o.social_worker)
      .I64(o.placed_us)
      .I64(o.rated_us)
      .I64(o.closed_us)
      .U8(o.rating)
      .I64(o.minutes)
      .I64(o.points)
      .Finish();
}

bool DecodeOrder(std::string_view value, Order* o) {
  ValueReader r(value);
  o->community = r.Str();
  const uint8_t state = r.U8();
  o->state = static_cast<OrderState>(state);
  o->resident = r.Str();
  o->social_worker = r.Str();
  o->placed_us = r.I64();
  o->rated_us = r.I64();
  o->closed_us = r.I64();
  o->rating = r.U8();
  o->minutes = r.I64();
  o->points = r.I64();
  return r.ok() && state < kOrderStateCount;
}

std::string EncodeCommunity(const CommunityRow& c) {
  ValueWriter w;
  for (uint64_t n : c.orders) w.U64(n);
  for (uint64_t n : c.ratings) w.U64(n);
  return w.I64(c.placed_to_rated_us).I64(c.minutes).U64(c.volunteers).Finish();
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

// The pending value of the row at `key` (Rows::Mutable), decoded through `decode` into `*out`
// when the row exists (`*existed`); a missing row leaves `*out` as it is.
template <typename T, typename Decode>
Result<std::string*> Load(Rows* rows, const std::string& key, Decode decode, uint64_t seq, T* out,
                          bool* existed) {
  Result<std::string*> value = rows->Mutable(key);
  if (!value.ok()) return value.status();
  *existed = !(*value)->empty();
  if (*existed && !decode(**value, out)) {
    return Status::Corruption("orders: row " + DescribeBytes(key) + " does not decode", seq);
  }
  return value;
}

// The order an event is about, or false for events that are not about an order.
bool OrderIdOf(schema::Event::Body::Reader body, std::string* id) {
  switch (body.which()) {
    case Which::ORDER_PLACED:
      *id = body.getOrderPlaced().getOrderId();
      return true;
    case Which::ORDER_DISPATCHED:
      *id = body.getOrderDispatched().getOrderId();
      return true;
    case Which::ORDER_ACCEPTED:
      *id = body.getOrderAccepted().getOrderId();
      return true;
    case Which::ORDER_DELIVERED:
      *id = body.getOrderDelivered().getOrderId();
      return true;
    case Which::ORDER_RATED:
      *id = body.getOrderRated().getOrderId();
      return true;
    case Which::ORDER_CANCELLED:
      *id = body.getOrderCancelled().getOrderId();
      return true;
    case Which::POINTS_CREDITED:
      *id = body.getPointsCredited().getOrderId();
      return true;
    case Which::POINTS_HELD:
      *id = body.getPointsHeld().getOrderId();
      return true;
    case Which::HELD_POINTS_APPROVED:
      *id = body.getHeldPointsApproved().getOrderId();
      return true;
    case Which::HELD_POINTS_REJECTED:
      *id = body.getHeldPointsRejected().getOrderId();
      return true;
    default:
      return false;
  }
}

// The sum of the event's postings to volunteer accounts in `unit`.
int64_t VolunteerTotal(const EventContext& context, schema::Unit unit) {
  int64_t total = 0;
  for (const domain::Posting& posting : *context.postings) {
    if (posting.unit == unit && AccountKind(posting.account) == "volunteer") total += posting.delta;
  }
  return total;
}

// Moves the order along the loop; the domain has already checked that the step is valid.
void Advance(const EventContext& context, Order* order) {
  const auto body = context.event.getBody();
  const int64_t now_us = context.event.getRecordedAtUs();
  switch (body.which()) {
    case Which::ORDER_PLACED:
      order->state = OrderState::kPlaced;
      order->resident = body.getOrderPlaced().getResidentId();
      order->placed_us = now_us;
      break;
    case Which::ORDER_DISPATCHED:
      order->state = OrderState::kDispatched;
      order->social_worker = body.getOrderDispatched().getSocialWorkerId();
      break;
    case Which::ORDER_ACCEPTED:
      order->state = OrderState::kAccepted;
      break;
    case Which::ORDER_DELIVERED:
      order->state = OrderState::kDelivered;
      order->minutes += VolunteerTotal(context, schema::Unit::MINUTES);
      break;
    case Which::ORDER_RATED:
      order->state = OrderState::kRated;
      order->rating = body.getOrderRated().getRating();
      order->rated_us = now_us;
      break;
    case Which::POINTS_HELD:
      order->state = OrderState::kHeld;
      break;
    case Which::POINTS_CREDITED:
    case Which::HELD_POINTS_APPROVED:
      order->state = OrderState::kClosed;
      order->points += VolunteerTotal(context, schema::Unit::POINTS);
      order->closed_us = now_us;
      break;
    case Which::HELD_POINTS_REJECTED:
    case Which::ORDER_CANCELLED:
      order->state =
          body.which() == Which::ORDER_CANCELLED ? OrderState::kCancelled : OrderState::kRejected;
      order->closed_us = now_us;
      break;
    default:
      break;
  }
}

// Service minutes per volunteer and per community, from the minutes postings.
Status ApplyMinutes(const EventContext& context, Rows* rows) {
  const std::vector<domain::Posting>& postings = *context.postings;
  for (size_t i = 0; i < postings.size(); ++i) {
    const domain::Posting& posting = postings[i];
    if (posting.unit != schema::Unit::MINUTES || AccountKind(posting.account) != "volunteer") {
      continue;
    }
    const std::string other = Counterparty(postings, i);
    const std::string_view other_kind = AccountKind(other);
    const std::string community = other_kind == "service" || other_kind == "adjustments"
                                      ? std::string(AccountOwner(other))
                                      : std::string(context.event.getCommunityId());
    const std::string volunteer_key =
        TaggedKey(kVolunteerTag, community, AccountOwner(posting.account));
    VolunteerService volunteer;
    bool known = false;
    Result<std::string*> volunteer_row =
        Load(rows, volunteer_key, DecodeVolunteer, context.seq, &volunteer, &known);
    if (!volunteer_row.ok()) return volunteer_row.status();
    CommunityRow sums;
    bool counted = false;
    Result<std::string*> community_row = Load(rows, TaggedKey(kCommunityTag, community),
                                              DecodeCommunity, context.seq, &sums, &counted);
    if (!community_row.ok()) return community_row.status();
    volunteer.minutes += posting.delta;
    volunteer.deliveries += context.event.getBody().which() == Which::ORDER_DELIVERED ? 1 : 0;
    sums.minutes += posting.delta;
    sums.volunteers += known ? 0 : 1;
    **volunteer_row = ValueWriter().I64(volunteer.minutes).U64(volunteer.deliveries).Finish();
    **community_row = EncodeCommunity(sums);
  }
  return Status::Ok();
}

}  // namespace

const char* OrderStateName(OrderState state) {
  static const char* const kNames[kOrderStateCount] = {"placed",    "dispatched", "accepted",
                                                       "delivered", "rated",      "held",
                                                       "closed",    "rejected",   "cancelled"};
  const auto index = static_cast<size_t>(state);
  return index < kOrderStateCount ? kNames[index] : "state?";
}

Status OrdersProjection::Apply(const EventContext& context, Rows* rows) {
  MULIN_RETURN_IF_ERROR(ApplyMinutes(context, rows));
  std::string order_id;
  if (!OrderIdOf(context.event.getBody(), &order_id)) return Status::Ok();
  Order order;
  bool existed = false;
  Result<std::string*> order_row =
      Load(rows, TaggedKey(kOrderTag, order_id), DecodeOrder, context.seq, &order, &existed);
  if (!order_row.ok()) return order_row.status();
  if (!existed) order.community = context.event.getCommunityId();
  const OrderState before = order.state;
  Advance(context, &order);

  CommunityRow sums;
  bool counted = false;
  Result<std::string*> community_row = Load(rows, TaggedKey(kCommunityTag, order.community),
                                            DecodeCommunity, context.seq, &sums, &counted);
  if (!community_row.ok()) return community_row.status();
  if (existed) {
    uint64_t& count = sums.orders[static_cast<size_t>(before)];
    if (count == 0) {
      return Status::Corruption("orders: community " + order.community + " counts no order " +
                                    OrderStateName(before) + " but " + order_id + " is",
                                context.seq);
    }
    --count;
  }
  ++sums.orders[static_cast<size_t>(order.state)];
  if (context.event.getBody().which() == Which::ORDER_RATED && order.rating >= 1 &&
      order.rating <= kRatingValues) {
    ++sums.ratings[order.rating - 1];
    if (order.placed_us != 0) sums.placed_to_rated_us += order.rated_us - order.placed_us;
  }
  **order_row = EncodeOrder(order);
  **community_row = EncodeCommunity(sums);
  return Status::Ok();
}

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
