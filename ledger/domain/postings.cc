#include "ledger/domain/postings.h"

namespace mulin::domain {
namespace {

using schema::Unit;

// Negation that wraps instead of overflowing: Postings also reads events from disk, and an event
// carrying INT64_MIN must yield postings that fail the sum check, not undefined behaviour.
int64_t Negate(int64_t value) {
  return static_cast<int64_t>(uint64_t{0} - static_cast<uint64_t>(value));
}

// The event's own text; the views live as long as the event's message.
std::string_view Text(capnp::Text::Reader text) { return {text.cStr(), text.size()}; }

// Appends the pair "from pays `amount` to `to`"; nothing for a zero amount, which moves nothing.
// Most events make one pair: room for two pairs at the first saves growing the vector twice.
void Move(std::vector<Posting>* out, std::string from, std::string to, Unit unit, int64_t amount) {
  if (amount == 0) return;
  if (out->empty()) out->reserve(4);
  out->push_back(Posting{std::move(from), unit, Negate(amount)});
  out->push_back(Posting{std::move(to), unit, amount});
}

// Each credit moves its points from `from` to `to`, or to "volunteer:<id>" when `to` is empty.
void MoveCredits(std::vector<Posting>* out, capnp::List<schema::VolunteerPoints>::Reader credits,
                 const std::string& from, const std::string& to) {
  out->reserve(out->size() + 2 * credits.size());
  for (auto credit : credits) {
    Move(out, from, to.empty() ? AccountId("volunteer", Text(credit.getVolunteerId())) : to,
         Unit::POINTS, credit.getPoints());
  }
}

void OrderPostings(schema::Event::Reader event, std::string_view community,
                   std::vector<Posting>* out) {
  auto body = event.getBody();
  switch (body.which()) {
    case schema::Event::Body::ORDER_DELIVERED:
      for (auto share : body.getOrderDelivered().getVolunteers()) {
        Move(out, AccountId("service", community),
             AccountId("volunteer", Text(share.getVolunteerId())), Unit::MINUTES,
             share.getMinutes());
      }
      return;
    case schema::Event::Body::POINTS_CREDITED:
      MoveCredits(out, body.getPointsCredited().getCredits(), AccountId("issuance", community), "");
      return;
    case schema::Event::Body::POINTS_HELD: {
      auto held = body.getPointsHeld();
      MoveCredits(out, held.getCredits(), AccountId("issuance", community),
                  AccountId("held", Text(held.getOrderId())));
      return;
    }
    case schema::Event::Body::HELD_POINTS_APPROVED: {
      auto approved = body.getHeldPointsApproved();
      MoveCredits(out, approved.getCredits(), AccountId("held", Text(approved.getOrderId())), "");
      return;
    }
    case schema::Event::Body::HELD_POINTS_REJECTED: {
      auto rejected = body.getHeldPointsRejected();
      MoveCredits(out, rejected.getCredits(), AccountId("held", Text(rejected.getOrderId())),
                  AccountId("issuance", community));
      return;
    }
    default:
      return;
  }
}

void MoneyPostings(schema::Event::Reader event, std::string_view community,
                   std::vector<Posting>* out) {
  auto body = event.getBody();
  switch (body.which()) {
    case schema::Event::Body::POINTS_REDEEMED: {
      auto r = body.getPointsRedeemed();
      Move(out, AccountId("volunteer", Text(r.getVolunteerId())),
           AccountId("merchant", Text(r.getMerchantId())), Unit::POINTS, r.getPoints());
      return;
    }
    case schema::Event::Body::REDEMPTION_REVERSED: {
      auto r = body.getRedemptionReversed();
      Move(out, AccountId("merchant", Text(r.getMerchantId())),
           AccountId("volunteer", Text(r.getVolunteerId())), Unit::POINTS, r.getPoints());
      return;
    }
    case schema::Event::Body::SALE_RECORDED: {
      auto s = body.getSaleRecorded();
      Move(out, AccountId("merchant", Text(s.getMerchantId())), AccountId("fund", community),
           Unit::FEN, s.getContributionFen());
      return;
    }
    case schema::Event::Body::SALE_REVERSED: {
      auto s = body.getSaleReversed();
      Move(out, AccountId("fund", community), AccountId("merchant", Text(s.getMerchantId())),
           Unit::FEN, s.getContributionFen());
      return;
    }
    case schema::Event::Body::PAYOUT_APPROVED: {
      auto p = body.getPayoutApproved();
      Move(out, AccountId("fund", community), AccountId("project", Text(p.getProjectId())),
           Unit::FEN, p.getAmountFen());
      return;
    }
    case schema::Event::Body::ADJUSTMENT: {
      auto a = body.getAdjustment();
      Move(out, AccountId("adjustments", community), std::string(Text(a.getAccountId())),
           a.getUnit(), a.getDelta());
      return;
    }
    default:
      return;
  }
}

}  // namespace

std::vector<Posting> Postings(schema::Event::Reader event) {
  std::vector<Posting> out;
  const std::string_view community = Text(event.getCommunityId());
  OrderPostings(event, community, &out);
  MoneyPostings(event, community, &out);
  return out;
}

bool MustStayNonNegative(std::string_view account, schema::Unit unit) {
  auto has_kind = [account](std::string_view kind) {
    return account.size() > kind.size() && account.substr(0, kind.size()) == kind &&
           account[kind.size()] == ':';
  };
  switch (unit) {
    case Unit::POINTS:
      return has_kind("volunteer") || has_kind("held");
    case Unit::FEN:
      return has_kind("fund");
    case Unit::MINUTES:
      return false;
  }
  return false;
}

std::string AccountId(std::string_view kind, std::string_view id) {
  std::string account;
  account.reserve(kind.size() + 1 + id.size());
  account.append(kind);
  account.push_back(':');
  account.append(id);
  return account;
}

}  // namespace mulin::domain
