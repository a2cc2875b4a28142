// The order loop up to delivery (DESIGN §2.1–2.2): 居民点单 → 社区派单 → 社工接单 → 志愿送单, and
// cancellation before delivery.
#include <algorithm>
#include <unordered_set>

#include "ledger/domain/decide_internal.h"

namespace mulin::domain::internal {
namespace {

using Body = schema::Command::Body;

Status WrongState(const std::string& order_id, const Order& order, const char* needed) {
  return Reject(code::kInvalidOrderState, "order " + Quote(order_id) + " is " +
                                              OrderStatusName(order.status) + "; " + needed);
}

Status PlaceOrder(const State& state, schema::Command::Reader command, const std::string& actor,
                  EventSink* sink) {
  auto body = command.getBody().getPlaceOrder();
  MULIN_RETURN_IF_ERROR(CheckId("orderId", body.getOrderId()));
  MULIN_RETURN_IF_ERROR(CheckId("residentId", body.getResidentId()));
  if (body.getService().size() == 0) {
    return Reject(code::kInvalidText, "service is required: say what is asked for");
  }
  MULIN_RETURN_IF_ERROR(CheckText("service", body.getService()));
  const std::string resident_id = Str(body.getResidentId());
  const Member* resident = nullptr;
  MULIN_RETURN_IF_ERROR(Lookup(state.members, resident_id, code::kUnknownMember, "member",
                               "register the resident first", &resident));
  MULIN_RETURN_IF_ERROR(RequireRole(*resident, resident_id, schema::Role::RESIDENT));
  const std::string& community = resident->community_id;
  MULIN_RETURN_IF_ERROR(MatchCommunity(command, community, "resident", resident_id));
  if (actor != resident_id && !IsStaffOf(state, actor, community)) {
    return Reject(code::kNotPermitted, Quote(actor) + " may not order for " + Quote(resident_id) +
                                           "; the resident or staff of community " +
                                           Quote(community) + " may");
  }
  MULIN_RETURN_IF_ERROR(CheckUnused(state.orders, Str(body.getOrderId()), "order"));
  auto event = sink->Add(community).initOrderPlaced();
  event.setOrderId(body.getOrderId());
  event.setResidentId(body.getResidentId());
  event.setService(body.getService());
  return Status::Ok();
}

Status DispatchOrder(const State& state, schema::Command::Reader command, const std::string& actor,
                     EventSink* sink) {
  auto body = command.getBody().getDispatchOrder();
  const Order* order = nullptr;
  MULIN_RETURN_IF_ERROR(LookupOrder(state, command, body.getOrderId(), &order));
  const std::string order_id = Str(body.getOrderId());
  MULIN_RETURN_IF_ERROR(RequireStaff(state, actor, order->community_id, "dispatch orders"));
  if (order->status != OrderStatus::kPlaced) {
    return WrongState(order_id, *order, "only a placed order can be dispatched");
  }
  MULIN_RETURN_IF_ERROR(CheckId("socialWorkerId", body.getSocialWorkerId()));
  const std::string worker_id = Str(body.getSocialWorkerId());
  const Member* worker = nullptr;
  MULIN_RETURN_IF_ERROR(Lookup(state.members, worker_id, code::kUnknownMember, "member",
                               "register the social worker first", &worker));
  MULIN_RETURN_IF_ERROR(RequireRole(*worker, worker_id, schema::Role::SOCIAL_WORKER));
  auto event = sink->Add(order->community_id).initOrderDispatched();
  event.setOrderId(body.getOrderId());
  event.setSocialWorkerId(body.getSocialWorkerId());
  return Status::Ok();
}

Status AcceptOrder(const State& state, schema::Command::Reader command, const std::string& actor,
                   EventSink* sink) {
  auto body = command.getBody().getAcceptOrder();
  const Order* order = nullptr;
  MULIN_RETURN_IF_ERROR(LookupOrder(state, command, body.getOrderId(), &order));
  const std::string order_id = Str(body.getOrderId());
  if (order->status != OrderStatus::kDispatched) {
    return WrongState(order_id, *order, "only a dispatched order can be accepted");
  }
  if (actor != order->social_worker_id) {
    return Reject(code::kNotPermitted, "order " + Quote(order_id) + " was dispatched to " +
                                           Quote(order->social_worker_id) +
                                           "; only that social worker may accept it");
  }
  sink->Add(order->community_id).initOrderAccepted().setOrderId(body.getOrderId());
  return Status::Ok();
}

// Checks the shares of a delivery: bounded, each a distinct registered volunteer with minutes > 0.
Status CheckShares(const State& state, capnp::List<schema::DeliveryShare>::Reader shares) {
  if (shares.size() == 0) {
    return Reject(code::kEmptyDelivery, "list the volunteers who delivered and their minutes");
  }
  if (shares.size() > kVolunteersPerDeliveryMax) {
    return Reject(code::kTooManyVolunteers,
                  std::to_string(shares.size()) + " volunteers listed; at most " +
                      std::to_string(kVolunteersPerDeliveryMax) + " per delivery, split the order");
  }
  std::unordered_set<std::string> seen;
  for (auto share : shares) {
    MULIN_RETURN_IF_ERROR(CheckId("volunteerId", share.getVolunteerId()));
    const std::string id = Str(share.getVolunteerId());
    const Member* volunteer = nullptr;
    MULIN_RETURN_IF_ERROR(Lookup(state.members, id, code::kUnknownMember, "member",
                                 "register the volunteer first", &volunteer));
    MULIN_RETURN_IF_ERROR(RequireRole(*volunteer, id, schema::Role::VOLUNTEER));
    if (!seen.insert(id).second) {
      return Reject(code::kDuplicateVolunteer,
                    "volunteer " + Quote(id) + " is listed twice; give one share each");
    }
    if (share.getMinutes() <= 0) {
      return Reject(code::kInvalidAmount, "volunteer " + Quote(id) + " has minutes " +
                                              std::to_string(share.getMinutes()) +
                                              "; minutes must be > 0");
    }
    if (share.getMinutes() > kShareMinutesMax) {
      return Reject(code::kAmountTooLarge,
                    "volunteer " + Quote(id) + " has " + std::to_string(share.getMinutes()) +
                        " minutes; at most " + std::to_string(kShareMinutesMax) + " per order");
    }
  }
  return Status::Ok();
}

// floor(min(minutes, max_minutes_per_order) × points_per_hour / 60), or amount_too_large.
Status PointsFor(int64_t minutes, const Rules& rules, int64_t* points) {
  const int64_t counted = std::max<int64_t>(0, std::min(minutes, rules.max_minutes_per_order));
  int64_t product = 0;
  if (__builtin_mul_overflow(counted, std::max<int64_t>(0, rules.points_per_hour), &product)) {
    return Reject(code::kAmountTooLarge, "the points for this delivery overflow");
  }
  *points = product / 60;
  return Status::Ok();
}

Status DeliverOrder(const State& state, schema::Command::Reader command, const std::string& actor,
                    EventSink* sink) {
  auto body = command.getBody().getDeliverOrder();
  const Order* order = nullptr;
  MULIN_RETURN_IF_ERROR(LookupOrder(state, command, body.getOrderId(), &order));
  const std::string order_id = Str(body.getOrderId());
  if (order->status != OrderStatus::kAccepted) {
    return WrongState(order_id, *order, "only an accepted order can be delivered");
  }
  if (actor != order->social_worker_id && !IsStaffOf(state, actor, order->community_id)) {
    return Reject(code::kNotPermitted, "only the social worker " + Quote(order->social_worker_id) +
                                           " or staff of " + Quote(order->community_id) +
                                           " may report delivery");
  }
  auto shares = body.getVolunteers();
  MULIN_RETURN_IF_ERROR(CheckShares(state, shares));
  const Community* community = FindIn(state.communities, order->community_id);
  const Rules rules = community ? RulesAt(*community, sink->now_us()) : Rules();
  std::vector<int64_t> points(shares.size());
  for (unsigned i = 0; i < shares.size(); ++i) {
    MULIN_RETURN_IF_ERROR(PointsFor(shares[i].getMinutes(), rules, &points[i]));
  }
  auto event = sink->Add(order->community_id).initOrderDelivered();
  event.setOrderId(body.getOrderId());
  auto volunteers = event.initVolunteers(shares.size());
  for (unsigned i = 0; i < shares.size(); ++i) {
    volunteers[i].setVolunteerId(shares[i].getVolunteerId());
    volunteers[i].setMinutes(shares[i].getMinutes());
    volunteers[i].setPoints(points[i]);
  }
  return Status::Ok();
}

Status CancelOrder(const State& state, schema::Command::Reader command, const std::string& actor,
                   EventSink* sink) {
  auto body = command.getBody().getCancelOrder();
  const Order* order = nullptr;
  MULIN_RETURN_IF_ERROR(LookupOrder(state, command, body.getOrderId(), &order));
  const std::string order_id = Str(body.getOrderId());
  if (actor != order->resident_id && !IsStaffOf(state, actor, order->community_id)) {
    return Reject(code::kNotPermitted, "only the resident " + Quote(order->resident_id) +
                                           " or staff of " + Quote(order->community_id) +
                                           " may cancel order " + Quote(order_id));
  }
  if (order->status != OrderStatus::kPlaced && order->status != OrderStatus::kDispatched &&
      order->status != OrderStatus::kAccepted) {
    return WrongState(order_id, *order, "only an order not yet delivered can be cancelled");
  }
  MULIN_RETURN_IF_ERROR(CheckReason("reason", body.getReason(), "to cancel an order"));
  auto event = sink->Add(order->community_id).initOrderCancelled();
  event.setOrderId(body.getOrderId());
  event.setReason(body.getReason());
  return Status::Ok();
}

}  // namespace

Status LookupOrder(const State& state, schema::Command::Reader command,
                   capnp::Text::Reader order_id, const Order** order) {
  MULIN_RETURN_IF_ERROR(CheckId("orderId", order_id));
  const std::string id = Str(order_id);
  MULIN_RETURN_IF_ERROR(
      Lookup(state.orders, id, code::kUnknownOrder, "order", "check the order id", order));
  return MatchCommunity(command, (*order)->community_id, "order", id);
}

unsigned CreditCount(const Order& order) {
  return static_cast<unsigned>(std::count_if(order.shares.begin(), order.shares.end(),
                                             [](const Share& s) { return s.points > 0; }));
}

void FillCredits(const Order& order, capnp::List<schema::VolunteerPoints>::Builder credits) {
  unsigned i = 0;
  for (const Share& share : order.shares) {
    if (share.points <= 0) continue;
    credits[i].setVolunteerId(share.volunteer_id);
    credits[i].setPoints(share.points);
    ++i;
  }
}

Status DecideOrderFlow(const State& state, schema::Command::Reader command, EventSink* sink) {
  const std::string actor = Str(command.getActorId());
  switch (command.getBody().which()) {
    case Body::PLACE_ORDER:
      return PlaceOrder(state, command, actor, sink);
    case Body::DISPATCH_ORDER:
      return DispatchOrder(state, command, actor, sink);
    case Body::ACCEPT_ORDER:
      return AcceptOrder(state, command, actor, sink);
    case Body::DELIVER_ORDER:
      return DeliverOrder(state, command, actor, sink);
    case Body::CANCEL_ORDER:
      return CancelOrder(state, command, actor, sink);
    default:
      return Reject(code::kUnknownCommand, "not an order command");
  }
}

}  // namespace mulin::domain::internal
