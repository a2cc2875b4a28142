#include "projections/orders.h"

#include <algorithm>

#include "projections/codec.h"
#include "projections/engine.h"
#include "projections/format.h"
#include "projections/orders_rows.h"

namespace mulin::projections {
namespace {

using orders_internal::EncodeOrder;
using orders_internal::GetOrderFields;
using orders_internal::GetOrderTexts;
using orders_internal::kCommunityTag;
using orders_internal::kOrderTag;
using orders_internal::kVolunteerTag;
using orders_internal::LocateOrder;
using orders_internal::OrderLayout;
using orders_internal::PutOrderFields;
using orders_internal::TaggedKey;
using Which = schema::Event::Body::Which;

// Field numbers of the community row (a run of fixed64 fields, see orders.h).
constexpr size_t kRatingsField = kOrderStateCount;
constexpr size_t kPlacedToRatedField = kRatingsField + kRatingValues;
constexpr size_t kMinutesField = kPlacedToRatedField + 1;
constexpr size_t kVolunteersField = kMinutesField + 1;
constexpr size_t kCommunityFields = kVolunteersField + 1;
constexpr size_t kVolunteerFields = 2;  // minutes, deliveries

// The pending value of a fixed-width row, opened for AddToField.
Result<std::string*> OpenFixed(Rows* rows, const std::string& key, size_t fields, uint64_t seq,
                               bool* existed) {
  Result<std::string*> value = rows->Mutable(key);
  if (!value.ok()) return value.status();
  *existed = !(*value)->empty();
  if (!OpenFixedRow(*value, fields)) {
    return Status::Corruption("orders: row " + DescribeBytes(key) + " does not decode", seq);
  }
  return value;
}

// A text field of the event, as assigning it to a std::string reads it (up to its first NUL).
std::string_view View(capnp::Text::Reader text) { return text.cStr(); }

// The order an event is about, or false for events that are not about an order.
bool OrderIdOf(schema::Event::Body::Reader body, std::string_view* id) {
  switch (body.which()) {
    case Which::ORDER_PLACED:
      *id = View(body.getOrderPlaced().getOrderId());
      return true;
    case Which::ORDER_DISPATCHED:
      *id = View(body.getOrderDispatched().getOrderId());
      return true;
    case Which::ORDER_ACCEPTED:
      *id = View(body.getOrderAccepted().getOrderId());
      return true;
    case Which::ORDER_DELIVERED:
      *id = View(body.getOrderDelivered().getOrderId());
      return true;
    case Which::ORDER_RATED:
      *id = View(body.getOrderRated().getOrderId());
      return true;
    case Which::ORDER_CANCELLED:
      *id = View(body.getOrderCancelled().getOrderId());
      return true;
    case Which::POINTS_CREDITED:
      *id = View(body.getPointsCredited().getOrderId());
      return true;
    case Which::POINTS_HELD:
      *id = View(body.getPointsHeld().getOrderId());
      return true;
    case Which::HELD_POINTS_APPROVED:
      *id = View(body.getHeldPointsApproved().getOrderId());
      return true;
    case Which::HELD_POINTS_REJECTED:
      *id = View(body.getHeldPointsRejected().getOrderId());
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

// Service minutes per volunteer and per community, from the minutes postings. `*key` and
// `*joined` are the fold's reusable buffers.
Status ApplyMinutes(const EventContext& context, Rows* rows, std::string* key,
                    std::string* joined) {
  const std::vector<domain::Posting>& postings = *context.postings;
  for (size_t i = 0; i < postings.size(); ++i) {
    const domain::Posting& posting = postings[i];
    if (posting.unit != schema::Unit::MINUTES || AccountKind(posting.account) != "volunteer") {
      continue;
    }
    const std::string_view other = Counterparty(postings, i, joined);
    const std::string_view other_kind = AccountKind(other);
    const std::string_view community = other_kind == "service" || other_kind == "adjustments"
                                           ? AccountOwner(other)
                                           : View(context.event.getCommunityId());
    bool known = false;
    TaggedKey(kVolunteerTag, community, AccountOwner(posting.account), key);
    Result<std::string*> volunteer = OpenFixed(rows, *key, kVolunteerFields, context.seq, &known);
    if (!volunteer.ok()) return volunteer.status();
    bool counted = false;
    TaggedKey(kCommunityTag, community, {}, key);
    Result<std::string*> sums = OpenFixed(rows, *key, kCommunityFields, context.seq, &counted);
    if (!sums.ok()) return sums.status();
    AddToField(*volunteer, 0, posting.delta);
    AddToField(*volunteer, 1, context.event.getBody().which() == Which::ORDER_DELIVERED ? 1 : 0);
    AddToField(*sums, kMinutesField, posting.delta);
    AddToField(*sums, kVolunteersField, known ? 0 : 1);
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
  MULIN_RETURN_IF_ERROR(ApplyMinutes(context, rows, &key_, &joined_));
  const auto body = context.event.getBody();
  std::string_view order_id;
  if (!OrderIdOf(body, &order_id)) return Status::Ok();
  TaggedKey(kOrderTag, order_id, {}, &key_);
  Result<std::string*> order_row = rows->Mutable(key_);
  if (!order_row.ok()) return order_row.status();
  std::string* const value = *order_row;
  const bool existed = !value->empty();
  // Placing and dispatching set a text of the order; every later step changes only its fixed
  // fields, in place. The row's value stays where it is until the end of the batch (Rows), so the
  // layout's views stay valid while the community's row is changed.
  const bool sets_text =
      body.which() == Which::ORDER_PLACED || body.which() == Which::ORDER_DISPATCHED;
  Order order;
  OrderLayout layout;
  std::string_view community;
  if (existed) {
    if (!LocateOrder(*value, &layout)) {
      return Status::Corruption("orders: row " + DescribeBytes(key_) + " does not decode",
                                context.seq);
    }
    GetOrderFields(*value, layout, &order);
    community = layout.community;
    if (sets_text) {  // the row is encoded anew below
      GetOrderTexts(layout, &order);
      community = order.community;
    }
  } else {
    order.community = context.event.getCommunityId();
    community = order.community;
  }
  const OrderState before = order.state;
  Advance(context, &order);

  bool counted = false;
  TaggedKey(kCommunityTag, community, {}, &key_);
  Result<std::string*> sums = OpenFixed(rows, key_, kCommunityFields, context.seq, &counted);
  if (!sums.ok()) return sums.status();
  if (existed) {
    const size_t field = static_cast<size_t>(before);
    if (FixedField(**sums, field) == 0) {
      return Status::Corruption("orders: community " + std::string(community) +
                                    " counts no order " + OrderStateName(before) + " but " +
                                    std::string(order_id) + " is",
                                context.seq);
    }
    AddToField(*sums, field, -1);
  }
  AddToField(*sums, static_cast<size_t>(order.state), 1);
  if (body.which() == Which::ORDER_RATED && order.rating >= 1 && order.rating <= kRatingValues) {
    AddToField(*sums, kRatingsField + order.rating - 1, 1);
    if (order.placed_us != 0) {
      AddToField(*sums, kPlacedToRatedField, order.rated_us - order.placed_us);
    }
  }
  if (existed && !sets_text) {
    PutOrderFields(order, layout, value);
  } else {
    EncodeOrder(order, value);
  }
  return Status::Ok();
}

}  // namespace mulin::projections
