// What each event does to the entities of the State. Balances are not touched here: they change
// only through Postings, in evolve.cc. Every function reads and checks first, then mutates.
#include <algorithm>
#include <string>
#include <utility>

#include "ledger/domain/evolve_internal.h"

namespace mulin::domain::internal {
namespace {

using Body = schema::Event::Body;

std::string Str(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

Status Fail(const std::string& what) { return Status::Corruption(what); }

// Inserts into one of `state`'s maps, noting the entry in its changes.
template <typename T>
Status Insert(State* state, IdMap<T>* map, std::string id, T value, const char* kind) {
  if (id.empty()) return Fail(std::string(kind) + " with an empty id");
  if (map->count(id) != 0) return Fail(std::string(kind) + " " + id + " already exists");
  state->changes.Note(*map->emplace(std::move(id), std::move(value)).first);
  return Status::Ok();
}

Status NeedCommunity(const State& state, const std::string& community) {
  if (FindIn(state.communities, community) == nullptr) {
    return Fail("unknown community '" + community + "'");
  }
  return Status::Ok();
}

Status ApplyMember(State* state, schema::MemberRegistered::Reader m, const std::string& community) {
  MULIN_RETURN_IF_ERROR(NeedCommunity(*state, community));
  RoleMask roles = 0;
  for (schema::Role role : m.getRoles()) {
    if (static_cast<uint16_t>(role) > static_cast<uint16_t>(schema::Role::STAFF)) {
      return Fail("unknown role " + std::to_string(static_cast<uint16_t>(role)));
    }
    roles |= RoleBit(role);
  }
  if (roles == 0) return Fail("member without a role");
  return Insert(state, &state->members, Str(m.getMemberId()), Member{community, roles}, "member");
}

Status ApplyRules(State* state, schema::RulesChanged::Reader r, const std::string& community) {
  auto it = state->communities.find(community);
  if (it == state->communities.end()) return Fail("unknown community '" + community + "'");
  Rules rules{r.getEffectiveFromUs(), r.getPointsPerHour(), r.getMaxMinutesPerOrder(),
              r.getRatingWindowS(), r.getReversalWindowS()};
  state->changes.Note(*it);
  std::vector<Rules>& history = it->second.rules;
  // After every rule with the same instant, so the later one wins (see Community::rules).
  auto at = std::upper_bound(history.begin(), history.end(), rules.effective_from_us,
                             [](int64_t t, const Rules& x) { return t < x.effective_from_us; });
  history.insert(at, rules);
  return Status::Ok();
}

Status ApplyCredential(State* state, Body::Reader body, const std::string& community) {
  if (body.which() == Body::CREDENTIAL_ISSUED) {
    auto c = body.getCredentialIssued();
    if (static_cast<uint16_t>(c.getRole()) >
        static_cast<uint16_t>(schema::CredentialRole::OPERATOR)) {
      return Fail("unknown credential role");
    }
    auto hash = c.getSecretHash();
    Credential credential{community, c.getRole(), Str(c.getSubjectId()),
                          std::string(reinterpret_cast<const char*>(hash.begin()), hash.size()),
                          false};
    return Insert(state, &state->credentials, Str(c.getCredentialId()), std::move(credential),
                  "credential");
  }
  const std::string id = Str(body.getCredentialRevoked().getCredentialId());
  auto it = state->credentials.find(id);
  if (it == state->credentials.end() || it->second.revoked) {
    return Fail("credential " + id + " is unknown or already revoked");
  }
  it->second.revoked = true;
  state->changes.Note(*it);
  return Status::Ok();
}

Status ApplyRegistration(State* state, Body::Reader body, const std::string& community) {
  switch (body.which()) {
    case Body::COMMUNITY_REGISTERED:
      return Insert(state, &state->communities, community, Community{}, "community");
    case Body::MEMBER_REGISTERED:
      return ApplyMember(state, body.getMemberRegistered(), community);
    case Body::MERCHANT_REGISTERED: {
      MULIN_RETURN_IF_ERROR(NeedCommunity(*state, community));
      auto m = body.getMerchantRegistered();
      return Insert(state, &state->merchants, Str(m.getMerchantId()),
                    Merchant{community, m.getContributionRateBps()}, "merchant");
    }
    case Body::PROJECT_REGISTERED:
      MULIN_RETURN_IF_ERROR(NeedCommunity(*state, community));
      return Insert(state, &state->projects, Str(body.getProjectRegistered().getProjectId()),
                    Project{community}, "project");
    case Body::TERMINAL_REGISTERED: {
      auto t = body.getTerminalRegistered();
      std::string merchant = Str(t.getMerchantId());
      if (FindIn(state->merchants, merchant) == nullptr) {
        return Fail("unknown merchant '" + merchant + "'");
      }
      return Insert(state, &state->terminals, Str(t.getTerminalId()), Terminal{std::move(merchant)},
                    "terminal");
    }
    case Body::RULES_CHANGED:
      return ApplyRules(state, body.getRulesChanged(), community);
    default:
      return ApplyCredential(state, body, community);
  }
}

// The order an order event names ("" for other events).
std::string OrderIdOf(Body::Reader body) {
  switch (body.which()) {
    case Body::ORDER_DISPATCHED:
      return Str(body.getOrderDispatched().getOrderId());
    case Body::ORDER_ACCEPTED:
      return Str(body.getOrderAccepted().getOrderId());
    case Body::ORDER_DELIVERED:
      return Str(body.getOrderDelivered().getOrderId());
    case Body::ORDER_RATED:
      return Str(body.getOrderRated().getOrderId());
    case Body::ORDER_CANCELLED:
      return Str(body.getOrderCancelled().getOrderId());
    case Body::POINTS_CREDITED:
      return Str(body.getPointsCredited().getOrderId());
    case Body::POINTS_HELD:
      return Str(body.getPointsHeld().getOrderId());
    case Body::HELD_POINTS_APPROVED:
      return Str(body.getHeldPointsApproved().getOrderId());
    case Body::HELD_POINTS_REJECTED:
      return Str(body.getHeldPointsRejected().getOrderId());
    default:
      return "";
  }
}

Status Deliver(Order* order, schema::OrderDelivered::Reader d, int64_t at_us) {
  std::vector<Share> shares;
  for (auto v : d.getVolunteers()) {
    if (v.getMinutes() <= 0 || v.getPoints() < 0) return Fail("delivery with minutes <= 0");
    shares.push_back(Share{Str(v.getVolunteerId()), v.getMinutes(), v.getPoints()});
  }
  order->status = OrderStatus::kDelivered;
  order->delivered_at_us = at_us;
  order->shares = std::move(shares);
  return Status::Ok();
}

Status ApplyOrderStep(Order* order, schema::Event::Reader event) {
  auto body = event.getBody();
  const OrderStatus from = order->status;
  auto need = [from](bool ok) {
    return ok ? Status::Ok()
              : Fail(std::string("the order is ") + OrderStatusName(from) + ", the event needs " +
                     "another state");
  };
  switch (body.which()) {
    case Body::ORDER_DISPATCHED:
      MULIN_RETURN_IF_ERROR(need(from == OrderStatus::kPlaced));
      order->social_worker_id = Str(body.getOrderDispatched().getSocialWorkerId());
      order->status = OrderStatus::kDispatched;
      return Status::Ok();
    case Body::ORDER_ACCEPTED:
      MULIN_RETURN_IF_ERROR(need(from == OrderStatus::kDispatched));
      order->status = OrderStatus::kAccepted;
      return Status::Ok();
    case Body::ORDER_DELIVERED:
      MULIN_RETURN_IF_ERROR(need(from == OrderStatus::kAccepted));
      return Deliver(order, body.getOrderDelivered(), event.getRecordedAtUs());
    case Body::ORDER_RATED: {
      const uint8_t rating = body.getOrderRated().getRating();
      MULIN_RETURN_IF_ERROR(need(from == OrderStatus::kDelivered && order->rating == 0));
      if (rating < 1 || rating > 5) return Fail("rating out of range");
      order->rating = rating;
      return Status::Ok();
    }
    case Body::ORDER_CANCELLED:
      MULIN_RETURN_IF_ERROR(need(from == OrderStatus::kPlaced || from == OrderStatus::kDispatched ||
                                 from == OrderStatus::kAccepted));
      order->status = OrderStatus::kCancelled;
      return Status::Ok();
    case Body::POINTS_CREDITED:
      MULIN_RETURN_IF_ERROR(need(from == OrderStatus::kDelivered && order->rating != 1));
      order->status = OrderStatus::kClosed;
      return Status::Ok();
    case Body::POINTS_HELD:
      MULIN_RETURN_IF_ERROR(need(from == OrderStatus::kDelivered && order->rating == 1));
      order->status = OrderStatus::kHeld;
      return Status::Ok();
    default:  // HELD_POINTS_APPROVED, HELD_POINTS_REJECTED
      MULIN_RETURN_IF_ERROR(need(from == OrderStatus::kHeld));
      order->status = OrderStatus::kClosed;
      return Status::Ok();
  }
}

Status ApplyOrder(State* state, schema::Event::Reader event, const std::string& community) {
  auto body = event.getBody();
  if (body.which() == Body::ORDER_PLACED) {
    MULIN_RETURN_IF_ERROR(NeedCommunity(*state, community));
    auto p = body.getOrderPlaced();
    Order order;
    order.community_id = community;
    order.resident_id = Str(p.getResidentId());
    return Insert(state, &state->orders, Str(p.getOrderId()), std::move(order), "order");
  }
  const std::string id = OrderIdOf(body);
  auto it = state->orders.find(id);
  if (it == state->orders.end()) return Fail("unknown order '" + id + "'");
  if (it->second.community_id != community) {
    return Fail("order " + id + " belongs to community " + it->second.community_id);
  }
  // Noted before the step is checked: an entry noted unchanged is only written again.
  state->changes.Note(*it);
  return ApplyOrderStep(&it->second, event);
}

Status ApplyRedemption(State* state, schema::Event::Reader event) {
  auto body = event.getBody();
  if (body.which() == Body::POINTS_REDEEMED) {
    auto r = body.getPointsRedeemed();
    if (r.getPoints() <= 0) return Fail("redemption of points <= 0");
    return Insert(state, &state->redemptions, Str(r.getRedemptionId()),
                  Redemption{event.getSeq(), Str(r.getVolunteerId()), Str(r.getMerchantId()),
                             r.getPoints(), event.getRecordedAtUs(), false},
                  "redemption");
  }
  auto r = body.getRedemptionReversed();
  const std::string id = Str(r.getRedemptionId());
  auto it = state->redemptions.find(id);
  if (it == state->redemptions.end() || it->second.reversed ||
      it->second.seq != r.getOriginalSeq() || it->second.points != r.getPoints() ||
      it->second.merchant_id != Str(r.getMerchantId()) ||
      it->second.volunteer_id != Str(r.getVolunteerId())) {
    return Fail("reversal does not match an unreversed redemption " + id);
  }
  it->second.reversed = true;
  return Status::Ok();
}

Status ApplySale(State* state, schema::Event::Reader event) {
  auto body = event.getBody();
  if (body.which() == Body::SALE_RECORDED) {
    auto s = body.getSaleRecorded();
    if (s.getGrossFen() <= 0 || s.getContributionFen() < 0) return Fail("sale amount out of range");
    return Insert(state, &state->sales, Str(s.getSaleId()),
                  Sale{event.getSeq(), Str(s.getMerchantId()), s.getGrossFen(),
                       s.getContributionFen(), false},
                  "sale");
  }
  auto s = body.getSaleReversed();
  const std::string id = Str(s.getSaleId());
  auto it = state->sales.find(id);
  if (it == state->sales.end() || it->second.reversed || it->second.seq != s.getOriginalSeq() ||
      it->second.contribution_fen != s.getContributionFen() ||
      it->second.merchant_id != Str(s.getMerchantId())) {
    return Fail("reversal does not match an unreversed sale " + id);
  }
  it->second.reversed = true;
  return Status::Ok();
}

Status ApplyPayout(State* state, schema::Event::Reader event, const std::string& community) {
  auto body = event.getBody();
  if (body.which() == Body::PAYOUT_REQUESTED) {
    auto p = body.getPayoutRequested();
    const Project* project = FindIn(state->projects, Str(p.getProjectId()));
    if (project == nullptr || project->community_id != community || p.getAmountFen() <= 0) {
      return Fail("payout request for an unknown project or of fen <= 0");
    }
    return Insert(state, &state->payouts, Str(p.getPayoutId()),
                  Payout{community, Str(p.getProjectId()), p.getAmountFen(),
                         Str(event.getActorId()), PayoutStatus::kRequested},
                  "payout");
  }
  const bool approve = body.which() == Body::PAYOUT_APPROVED;
  const std::string id = approve ? Str(body.getPayoutApproved().getPayoutId())
                                 : Str(body.getPayoutRejected().getPayoutId());
  auto it = state->payouts.find(id);
  if (it == state->payouts.end() || it->second.status != PayoutStatus::kRequested ||
      it->second.community_id != community) {
    return Fail("payout " + id + " is unknown or not pending in this community");
  }
  if (approve && (body.getPayoutApproved().getAmountFen() != it->second.amount_fen ||
                  Str(body.getPayoutApproved().getProjectId()) != it->second.project_id)) {
    return Fail("approval of payout " + id + " does not match its request");
  }
  it->second.status = approve ? PayoutStatus::kApproved : PayoutStatus::kRejected;
  state->changes.Note(*it);
  return Status::Ok();
}

}  // namespace

Status ApplyToEntities(State* state, schema::Event::Reader event) {
  // Redemptions and sales, most events, need no copy of the community's id.
  const auto community = [event] { return Str(event.getCommunityId()); };
  auto body = event.getBody();
  switch (body.which()) {
    case Body::COMMUNITY_REGISTERED:
    case Body::MEMBER_REGISTERED:
    case Body::MERCHANT_REGISTERED:
    case Body::PROJECT_REGISTERED:
    case Body::TERMINAL_REGISTERED:
    case Body::RULES_CHANGED:
    case Body::CREDENTIAL_ISSUED:
    case Body::CREDENTIAL_REVOKED:
      return ApplyRegistration(state, body, community());
    case Body::ORDER_PLACED:
    case Body::ORDER_DISPATCHED:
    case Body::ORDER_ACCEPTED:
    case Body::ORDER_DELIVERED:
    case Body::ORDER_RATED:
    case Body::ORDER_CANCELLED:
    case Body::POINTS_CREDITED:
    case Body::POINTS_HELD:
    case Body::HELD_POINTS_APPROVED:
    case Body::HELD_POINTS_REJECTED:
      return ApplyOrder(state, event, community());
    case Body::POINTS_REDEEMED:
    case Body::REDEMPTION_REVERSED:
      return ApplyRedemption(state, event);
    case Body::SALE_RECORDED:
    case Body::SALE_REVERSED:
      return ApplySale(state, event);
    case Body::PAYOUT_REQUESTED:
    case Body::PAYOUT_APPROVED:
    case Body::PAYOUT_REJECTED:
      return ApplyPayout(state, event, community());
    case Body::ADJUSTMENT:
      return Status::Ok();  // an adjustment moves balances only
  }
  return Fail("unknown event kind " + std::to_string(static_cast<uint16_t>(body.which())));
}

}  // namespace mulin::domain::internal
