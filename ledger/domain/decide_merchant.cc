// Merchant business (DESIGN §2.4–2.6): redemptions of points at a terminal and their reversal,
// market sales with their fund contribution and their reversal.
#include <limits>

#include "ledger/domain/decide_internal.h"
#include "ledger/domain/postings.h"

namespace mulin::domain::internal {
namespace {

using Body = schema::Command::Body;

constexpr int64_t kBpsPerWhole = 10000;
constexpr int64_t kBpsRoundingHalf = 5000;

Status Redeem(const State& state, schema::Command::Reader command, const std::string& actor,
              EventSink* sink) {
  auto body = command.getBody().getRedeem();
  // Each text read once: a read is a bounds-checked walk of its pointer (about 130 instructions),
  // and a redemption is most of a ledger's commands.
  const capnp::Text::Reader redemption_text = body.getRedemptionId();
  const capnp::Text::Reader terminal_text = body.getTerminalId();
  const capnp::Text::Reader volunteer_text = body.getVolunteerId();
  MULIN_RETURN_IF_ERROR(CheckId("redemptionId", redemption_text));
  MULIN_RETURN_IF_ERROR(CheckId("terminalId", terminal_text));
  MULIN_RETURN_IF_ERROR(CheckId("volunteerId", volunteer_text));
  const std::string terminal_id = Str(terminal_text);
  const Terminal* terminal = nullptr;
  MULIN_RETURN_IF_ERROR(Lookup(state.terminals, terminal_id, code::kUnknownTerminal, "terminal",
                               "register the terminal first", &terminal));
  const Merchant* merchant = nullptr;
  MULIN_RETURN_IF_ERROR(Lookup(state.merchants, terminal->merchant_id, code::kUnknownMerchant,
                               "merchant", "register the merchant first", &merchant));
  MULIN_RETURN_IF_ERROR(
      MatchCommunity(command, merchant->community_id, "merchant", terminal->merchant_id));
  MULIN_RETURN_IF_ERROR(RequireMerchantActor(state, actor, terminal->merchant_id, terminal_id));
  MULIN_RETURN_IF_ERROR(CheckUnused(state.redemptions, Str(redemption_text), "redemption"));
  const std::string volunteer_id = Str(volunteer_text);
  const Member* volunteer = nullptr;
  MULIN_RETURN_IF_ERROR(Lookup(state.members, volunteer_id, code::kUnknownMember, "member",
                               "check the volunteer id", &volunteer));
  MULIN_RETURN_IF_ERROR(RequireRole(*volunteer, volunteer_id, schema::Role::VOLUNTEER));
  const int64_t points = body.getPoints();
  if (points <= 0) {
    return Reject(code::kInvalidAmount,
                  "points " + std::to_string(points) + " must be > 0 to redeem");
  }
  const int64_t balance =
      BalanceOf(state, AccountId("volunteer", volunteer_id), schema::Unit::POINTS);
  if (points > balance) {
    return Reject(code::kInsufficientPoints,
                  "volunteer " + Quote(volunteer_id) + " has " + std::to_string(balance) +
                      " points, " + std::to_string(points) + " asked; redeem at most " +
                      std::to_string(balance));
  }
  auto event = sink->Add(merchant->community_id).initPointsRedeemed();
  event.setRedemptionId(redemption_text);
  event.setVolunteerId(volunteer_text);
  event.setMerchantId(terminal->merchant_id);
  event.setTerminalId(terminal_text);
  event.setPoints(points);
  return Status::Ok();
}

Status ReverseRedemption(const State& state, schema::Command::Reader command,
                         const std::string& actor, EventSink* sink) {
  auto body = command.getBody().getReverseRedemption();
  MULIN_RETURN_IF_ERROR(CheckId("redemptionId", body.getRedemptionId()));
  MULIN_RETURN_IF_ERROR(CheckId("terminalId", body.getTerminalId()));
  const std::string id = Str(body.getRedemptionId());
  const Redemption* redemption = nullptr;
  MULIN_RETURN_IF_ERROR(Lookup(state.redemptions, id, code::kUnknownRedemption, "redemption",
                               "check the redemption id", &redemption));
  const Merchant* merchant = nullptr;
  MULIN_RETURN_IF_ERROR(Lookup(state.merchants, redemption->merchant_id, code::kUnknownMerchant,
                               "merchant", "the redemption's merchant is gone", &merchant));
  MULIN_RETURN_IF_ERROR(MatchCommunity(command, merchant->community_id, "redemption", id));
  if (redemption->reversed) {
    return Reject(code::kAlreadyReversed,
                  "redemption " + Quote(id) + " is already reversed; a redemption reverses once");
  }
  const std::string terminal_id = Str(body.getTerminalId());
  const Terminal* terminal = nullptr;
  MULIN_RETURN_IF_ERROR(Lookup(state.terminals, terminal_id, code::kUnknownTerminal, "terminal",
                               "name the terminal that reverses", &terminal));
  if (terminal->merchant_id != redemption->merchant_id) {
    return Reject(code::kWrongMerchant, "redemption " + Quote(id) + " was made at merchant " +
                                            Quote(redemption->merchant_id) +
                                            "; only that merchant's terminals may reverse it");
  }
  MULIN_RETURN_IF_ERROR(RequireMerchantActor(state, actor, redemption->merchant_id, terminal_id));
  const Community* community = FindIn(state.communities, merchant->community_id);
  const Rules rules = community ? RulesAt(*community, sink->now_us()) : Rules();
  if (!WithinWindow(ElapsedUs(redemption->recorded_at_us, sink->now_us()),
                    rules.reversal_window_s)) {
    return Reject(code::kReversalWindowPassed,
                  "redemption " + Quote(id) + " is older than the reversal window of " +
                      std::to_string(rules.reversal_window_s) +
                      " s; ask community staff for an adjustment instead");
  }
  MULIN_RETURN_IF_ERROR(CheckReason("reason", body.getReason(), "to reverse a redemption"));
  auto event = sink->Add(merchant->community_id).initRedemptionReversed();
  event.setRedemptionId(body.getRedemptionId());
  event.setOriginalSeq(redemption->seq);
  event.setVolunteerId(redemption->volunteer_id);
  event.setMerchantId(redemption->merchant_id);
  event.setPoints(redemption->points);
  event.setReason(body.getReason());
  return Status::Ok();
}

// C = (G × rate_bps + 5000) / 10000, rounding half up; amount_too_large when it would overflow.
Status Contribution(int64_t gross_fen, uint32_t rate_bps, int64_t* contribution_fen) {
  int64_t scaled = 0;
  if (__builtin_mul_overflow(gross_fen, static_cast<int64_t>(rate_bps), &scaled) ||
      __builtin_add_overflow(scaled, kBpsRoundingHalf, &scaled)) {
    return Reject(code::kAmountTooLarge, "grossFen " + std::to_string(gross_fen) +
                                             " is too large to compute its contribution; split "
                                             "the sale");
  }
  *contribution_fen = scaled / kBpsPerWhole;
  return Status::Ok();
}

Status RecordSale(const State& state, schema::Command::Reader command, const std::string& actor,
                  EventSink* sink) {
  auto body = command.getBody().getRecordSale();
  MULIN_RETURN_IF_ERROR(CheckId("saleId", body.getSaleId()));
  const Merchant* merchant = nullptr;
  MULIN_RETURN_IF_ERROR(LookupMerchant(state, command, body.getMerchantId(), &merchant));
  MULIN_RETURN_IF_ERROR(RequireMerchantActor(state, actor, Str(body.getMerchantId()), ""));
  MULIN_RETURN_IF_ERROR(CheckUnused(state.sales, Str(body.getSaleId()), "sale"));
  const int64_t gross_fen = body.getGrossFen();
  if (gross_fen <= 0) {
    return Reject(code::kInvalidAmount,
                  "grossFen " + std::to_string(gross_fen) + " must be > 0 fen");
  }
  int64_t contribution_fen = 0;
  MULIN_RETURN_IF_ERROR(Contribution(gross_fen, merchant->rate_bps, &contribution_fen));
  auto event = sink->Add(merchant->community_id).initSaleRecorded();
  event.setSaleId(body.getSaleId());
  event.setMerchantId(body.getMerchantId());
  event.setGrossFen(gross_fen);
  event.setContributionRateBps(merchant->rate_bps);
  event.setContributionFen(contribution_fen);
  return Status::Ok();
}

Status ReverseSale(const State& state, schema::Command::Reader command, const std::string& actor,
                   EventSink* sink) {
  auto body = command.getBody().getReverseSale();
  MULIN_RETURN_IF_ERROR(CheckId("saleId", body.getSaleId()));
  MULIN_RETURN_IF_ERROR(CheckId("merchantId", body.getMerchantId()));
  const std::string id = Str(body.getSaleId());
  const Sale* sale = nullptr;
  MULIN_RETURN_IF_ERROR(
      Lookup(state.sales, id, code::kUnknownSale, "sale", "check the sale id", &sale));
  const Merchant* merchant = nullptr;
  MULIN_RETURN_IF_ERROR(Lookup(state.merchants, sale->merchant_id, code::kUnknownMerchant,
                               "merchant", "the sale's merchant is gone", &merchant));
  MULIN_RETURN_IF_ERROR(MatchCommunity(command, merchant->community_id, "sale", id));
  if (sale->reversed) {
    return Reject(code::kAlreadyReversed,
                  "sale " + Quote(id) + " is already reversed; a sale reverses once");
  }
  if (Str(body.getMerchantId()) != sale->merchant_id) {
    return Reject(code::kWrongMerchant, "sale " + Quote(id) + " was recorded by merchant " +
                                            Quote(sale->merchant_id) +
                                            "; only that merchant may reverse it");
  }
  MULIN_RETURN_IF_ERROR(RequireMerchantActor(state, actor, sale->merchant_id, ""));
  const std::string fund = AccountId("fund", merchant->community_id);
  const int64_t fund_fen = BalanceOf(state, fund, schema::Unit::FEN);
  if (sale->contribution_fen > fund_fen) {
    return Reject(code::kInsufficientFund,
                  "reversing sale " + Quote(id) + " takes back " +
                      std::to_string(sale->contribution_fen) + " fen but " + fund + " holds " +
                      std::to_string(fund_fen) + " fen; adjust the fund or wait for sales");
  }
  MULIN_RETURN_IF_ERROR(CheckReason("reason", body.getReason(), "to reverse a sale"));
  auto event = sink->Add(merchant->community_id).initSaleReversed();
  event.setSaleId(body.getSaleId());
  event.setOriginalSeq(sale->seq);
  event.setMerchantId(sale->merchant_id);
  event.setGrossFen(sale->gross_fen);
  event.setContributionFen(sale->contribution_fen);
  event.setReason(body.getReason());
  return Status::Ok();
}

}  // namespace

Status DecideMerchant(const State& state, schema::Command::Reader command, EventSink* sink) {
  const std::string actor = Str(command.getActorId());
  switch (command.getBody().which()) {
    case Body::REDEEM:
      return Redeem(state, command, actor, sink);
    case Body::REVERSE_REDEMPTION:
      return ReverseRedemption(state, command, actor, sink);
    case Body::RECORD_SALE:
      return RecordSale(state, command, actor, sink);
    case Body::REVERSE_SALE:
      return ReverseSale(state, command, actor, sink);
    default:
      return Reject(code::kUnknownCommand, "not a merchant command");
  }
}

}  // namespace mulin::domain::internal
