// Closing orders (DESIGN §2.1–2.2, 群众评单): points are credited when the resident rates 2–5 or
// the rating window passes unrated, and held for a social worker's review on a rating of 1.
#include <algorithm>
#include <tuple>
#include <utility>

#include "ledger/domain/decide_internal.h"

namespace mulin::domain::internal {
namespace {

using Body = schema::Command::Body;

constexpr uint8_t kRatingMin = 1;
constexpr uint8_t kRatingMax = 5;
// A rating at or below this holds the points for review instead of crediting them.
constexpr uint8_t kRatingHeldMax = 1;

Rules RulesNow(const State& state, const std::string& community, int64_t now_us) {
  const Community* c = FindIn(state.communities, community);
  return c ? RulesAt(*c, now_us) : Rules();
}

void AddCredited(const Order& order, const std::string& order_id, schema::CloseCause cause,
                 EventSink* sink) {
  auto credited = sink->Add(order.community_id).initPointsCredited();
  credited.setOrderId(order_id);
  credited.setCause(cause);
  FillCredits(order, credited.initCredits(CreditCount(order)));
}

Status RateOrder(const State& state, schema::Command::Reader command, const std::string& actor,
                 EventSink* sink) {
  auto body = command.getBody().getRateOrder();
  const Order* order = nullptr;
  MULIN_RETURN_IF_ERROR(LookupOrder(state, command, body.getOrderId(), &order));
  const std::string order_id = Str(body.getOrderId());
  if (actor != order->resident_id) {
    return Reject(code::kNotPermitted, "order " + Quote(order_id) + " was placed by " +
                                           Quote(order->resident_id) +
                                           "; only that resident may rate it");
  }
  if (order->status != OrderStatus::kDelivered) {
    return Reject(code::kInvalidOrderState, "order " + Quote(order_id) + " is " +
                                                OrderStatusName(order->status) +
                                                "; only a delivered, unrated order can be rated");
  }
  const uint8_t rating = body.getRating();
  if (rating < kRatingMin || rating > kRatingMax) {
    return Reject(code::kInvalidRating,
                  "rating " + std::to_string(rating) + " is outside 1..5; give 1 to 5");
  }
  MULIN_RETURN_IF_ERROR(CheckText("comment", body.getComment()));
  const Rules rules = RulesNow(state, order->community_id, sink->now_us());
  if (!WithinWindow(ElapsedUs(order->delivered_at_us, sink->now_us()), rules.rating_window_s)) {
    return Reject(code::kRatingWindowPassed,
                  "order " + Quote(order_id) + " was delivered more than " +
                      std::to_string(rules.rating_window_s) +
                      " s ago; the rating window has passed and the order closes unrated");
  }
  auto rated = sink->Add(order->community_id).initOrderRated();
  rated.setOrderId(body.getOrderId());
  rated.setRating(rating);
  rated.setComment(body.getComment());
  if (rating > kRatingHeldMax) {
    AddCredited(*order, order_id, schema::CloseCause::RATED, sink);
  } else {
    auto held = sink->Add(order->community_id).initPointsHeld();
    held.setOrderId(body.getOrderId());
    FillCredits(*order, held.initCredits(CreditCount(*order)));
  }
  return Status::Ok();
}

Status CloseOverdue(const State& state, schema::Command::Reader command, EventSink* sink) {
  std::string community;
  MULIN_RETURN_IF_ERROR(RequireCommunity(state, command, &community));
  const Rules rules = RulesNow(state, community, sink->now_us());
  // Oldest delivery first (then by id), so that the result is the same for equal states.
  using Entry = std::pair<const std::string, Order>;
  std::vector<const Entry*> overdue;
  for (const Entry& entry : state.orders) {
    const Order& order = entry.second;
    if (order.community_id != community || order.status != OrderStatus::kDelivered) continue;
    if (WithinWindow(ElapsedUs(order.delivered_at_us, sink->now_us()), rules.rating_window_s)) {
      continue;
    }
    overdue.push_back(&entry);
  }
  std::sort(overdue.begin(), overdue.end(), [](const Entry* a, const Entry* b) {
    return std::tie(a->second.delivered_at_us, a->first) <
           std::tie(b->second.delivered_at_us, b->first);
  });
  if (overdue.size() > kCloseOverdueOrdersMax) overdue.resize(kCloseOverdueOrdersMax);
  for (const Entry* entry : overdue) {
    AddCredited(entry->second, entry->first, schema::CloseCause::OVERDUE, sink);
  }
  return Status::Ok();
}

Status ReviewHeldPoints(const State& state, schema::Command::Reader command,
                        const std::string& actor, EventSink* sink) {
  auto body = command.getBody().getReviewHeldPoints();
  const Order* order = nullptr;
  MULIN_RETURN_IF_ERROR(LookupOrder(state, command, body.getOrderId(), &order));
  const std::string order_id = Str(body.getOrderId());
  const Member* reviewer = FindIn(state.members, actor);
  const bool may_review =
      reviewer != nullptr && reviewer->Has(schema::Role::SOCIAL_WORKER) &&
      (actor == order->social_worker_id || reviewer->community_id == order->community_id);
  if (!may_review) {
    return Reject(code::kNotPermitted, Quote(actor) + " may not review order " + Quote(order_id) +
                                           "; its social worker or a social " + "worker of " +
                                           Quote(order->community_id) + " may");
  }
  if (order->status != OrderStatus::kHeld) {
    return Reject(code::kInvalidOrderState, "order " + Quote(order_id) + " is " +
                                                OrderStatusName(order->status) +
                                                "; only points held on a rating of 1 are reviewed");
  }
  if (body.getApprove()) {
    MULIN_RETURN_IF_ERROR(CheckText("reason", body.getReason()));
    auto approved = sink->Add(order->community_id).initHeldPointsApproved();
    approved.setOrderId(body.getOrderId());
    FillCredits(*order, approved.initCredits(CreditCount(*order)));
    return Status::Ok();
  }
  MULIN_RETURN_IF_ERROR(CheckReason("reason", body.getReason(), "to reject held points"));
  auto rejected = sink->Add(order->community_id).initHeldPointsRejected();
  rejected.setOrderId(body.getOrderId());
  rejected.setReason(body.getReason());
  FillCredits(*order, rejected.initCredits(CreditCount(*order)));
  return Status::Ok();
}

}  // namespace

Status DecideOrderClose(const State& state, schema::Command::Reader command, EventSink* sink) {
  const std::string actor = Str(command.getActorId());
  switch (command.getBody().which()) {
    case Body::RATE_ORDER:
      return RateOrder(state, command, actor, sink);
    case Body::CLOSE_OVERDUE:
      return CloseOverdue(state, command, sink);
    case Body::REVIEW_HELD_POINTS:
      return ReviewHeldPoints(state, command, actor, sink);
    default:
      return Reject(code::kUnknownCommand, "not an order-closing command");
  }
}

}  // namespace mulin::domain::internal
