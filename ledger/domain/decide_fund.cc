// The community fund's payouts under maker–checker (DESIGN §2.7) and signed adjustments (§2.8).
#include <limits>

#include "ledger/domain/decide_internal.h"
#include "ledger/domain/postings.h"

namespace mulin::domain::internal {
namespace {

using Body = schema::Command::Body;

Status LookupPayout(const State& state, schema::Command::Reader command,
                    capnp::Text::Reader payout_id, const Payout** payout) {
  MULIN_RETURN_IF_ERROR(CheckId("payoutId", payout_id));
  const std::string id = Str(payout_id);
  MULIN_RETURN_IF_ERROR(
      Lookup(state.payouts, id, code::kUnknownPayout, "payout", "check the payout id", payout));
  MULIN_RETURN_IF_ERROR(MatchCommunity(command, (*payout)->community_id, "payout", id));
  if ((*payout)->status != PayoutStatus::kRequested) {
    return Reject(code::kPayoutNotPending,
                  "payout " + Quote(id) + " is already " +
                      ((*payout)->status == PayoutStatus::kApproved ? "approved" : "rejected") +
                      "; request a new payout instead");
  }
  return Status::Ok();
}

Status RequestPayout(const State& state, schema::Command::Reader command, const std::string& actor,
                     EventSink* sink) {
  auto body = command.getBody().getRequestPayout();
  MULIN_RETURN_IF_ERROR(CheckId("payoutId", body.getPayoutId()));
  MULIN_RETURN_IF_ERROR(CheckId("projectId", body.getProjectId()));
  const std::string project_id = Str(body.getProjectId());
  const Project* project = nullptr;
  MULIN_RETURN_IF_ERROR(Lookup(state.projects, project_id, code::kUnknownProject, "project",
                               "register the project first", &project));
  MULIN_RETURN_IF_ERROR(MatchCommunity(command, project->community_id, "project", project_id));
  MULIN_RETURN_IF_ERROR(
      RequireStaff(state, actor, project->community_id, "request payouts from its fund"));
  MULIN_RETURN_IF_ERROR(CheckUnused(state.payouts, Str(body.getPayoutId()), "payout"));
  if (body.getAmountFen() <= 0) {
    return Reject(code::kInvalidAmount,
                  "amountFen " + std::to_string(body.getAmountFen()) + " must be > 0 fen");
  }
  MULIN_RETURN_IF_ERROR(CheckReason("purpose", body.getPurpose(), "to say what the money is for"));
  auto event = sink->Add(project->community_id).initPayoutRequested();
  event.setPayoutId(body.getPayoutId());
  event.setProjectId(body.getProjectId());
  event.setAmountFen(body.getAmountFen());
  event.setPurpose(body.getPurpose());
  return Status::Ok();
}

Status ApprovePayout(const State& state, schema::Command::Reader command, const std::string& actor,
                     EventSink* sink) {
  auto body = command.getBody().getApprovePayout();
  const Payout* payout = nullptr;
  MULIN_RETURN_IF_ERROR(LookupPayout(state, command, body.getPayoutId(), &payout));
  const std::string id = Str(body.getPayoutId());
  MULIN_RETURN_IF_ERROR(RequireStaff(state, actor, payout->community_id, "approve payouts"));
  if (actor == payout->requester_id) {
    return Reject(code::kSameStaff, Quote(actor) + " requested payout " + Quote(id) +
                                        "; another staff member must approve it");
  }
  const std::string fund = AccountId("fund", payout->community_id);
  const int64_t fund_fen = BalanceOf(state, fund, schema::Unit::FEN);
  if (payout->amount_fen > fund_fen) {
    return Reject(code::kInsufficientFund, "payout " + Quote(id) + " needs " +
                                               std::to_string(payout->amount_fen) + " fen but " +
                                               fund + " holds " + std::to_string(fund_fen) +
                                               " fen; approve it once the fund covers it");
  }
  auto event = sink->Add(payout->community_id).initPayoutApproved();
  event.setPayoutId(body.getPayoutId());
  event.setProjectId(payout->project_id);
  event.setAmountFen(payout->amount_fen);
  return Status::Ok();
}

Status RejectPayout(const State& state, schema::Command::Reader command, const std::string& actor,
                    EventSink* sink) {
  auto body = command.getBody().getRejectPayout();
  const Payout* payout = nullptr;
  MULIN_RETURN_IF_ERROR(LookupPayout(state, command, body.getPayoutId(), &payout));
  MULIN_RETURN_IF_ERROR(RequireStaff(state, actor, payout->community_id, "reject payouts"));
  MULIN_RETURN_IF_ERROR(CheckReason("reason", body.getReason(), "to reject a payout"));
  auto event = sink->Add(payout->community_id).initPayoutRejected();
  event.setPayoutId(body.getPayoutId());
  event.setReason(body.getReason());
  return Status::Ok();
}

// The community of an adjustable account, or invalid_account / unknown_* / role_required. Only
// balances a person may correct are adjustable: a volunteer's points and service minutes, a
// merchant's redeemed points, a fund and a project's money. Counterpart accounts (issuance,
// service, adjustments), held points (settled only by review) and merchants' paid contributions
// (corrected by reversing the sale) are not.
Status AdjustableAccount(const State& state, const std::string& account, schema::Unit unit,
                         std::string* community) {
  const size_t colon = account.find(':');
  const std::string kind = colon == std::string::npos ? "" : account.substr(0, colon);
  const std::string id = colon == std::string::npos ? "" : account.substr(colon + 1);
  const bool points = unit == schema::Unit::POINTS;
  const bool fen = unit == schema::Unit::FEN;
  if (kind == "volunteer" && (points || unit == schema::Unit::MINUTES)) {
    const Member* member = nullptr;
    MULIN_RETURN_IF_ERROR(
        Lookup(state.members, id, code::kUnknownMember, "member", "check the account id", &member));
    MULIN_RETURN_IF_ERROR(RequireRole(*member, id, schema::Role::VOLUNTEER));
    *community = member->community_id;
    return Status::Ok();
  }
  if (kind == "merchant" && points) {
    const Merchant* merchant = nullptr;
    MULIN_RETURN_IF_ERROR(Lookup(state.merchants, id, code::kUnknownMerchant, "merchant",
                                 "check the account id", &merchant));
    *community = merchant->community_id;
    return Status::Ok();
  }
  if (kind == "fund" && fen) {
    const Community* c = nullptr;
    MULIN_RETURN_IF_ERROR(Lookup(state.communities, id, code::kUnknownCommunity, "community",
                                 "check the account id", &c));
    *community = id;
    return Status::Ok();
  }
  if (kind == "project" && fen) {
    const Project* project = nullptr;
    MULIN_RETURN_IF_ERROR(Lookup(state.projects, id, code::kUnknownProject, "project",
                                 "check the account id", &project));
    *community = project->community_id;
    return Status::Ok();
  }
  const char* unit_name = points                          ? "points"
                          : fen                           ? "fen"
                          : unit == schema::Unit::MINUTES ? "minutes"
                                                          : "an unknown unit";
  return Reject(code::kInvalidAccount,
                "account " + Quote(account) + " in " + unit_name +
                    " is not adjustable; adjust volunteer:<id> points or minutes, "
                    "merchant:<id> points, fund:<community> or project:<id> fen");
}

Status Adjust(const State& state, schema::Command::Reader command, const std::string& actor,
              EventSink* sink) {
  auto body = command.getBody().getAdjust();
  MULIN_RETURN_IF_ERROR(CheckId("accountId", body.getAccountId()));
  const std::string account = Str(body.getAccountId());
  std::string community;
  MULIN_RETURN_IF_ERROR(AdjustableAccount(state, account, body.getUnit(), &community));
  MULIN_RETURN_IF_ERROR(MatchCommunity(command, community, "account", account));
  MULIN_RETURN_IF_ERROR(RequireStaff(state, actor, community, "adjust its accounts"));
  const int64_t delta = body.getDelta();
  if (delta == 0) return Reject(code::kInvalidAmount, "delta is 0; give a signed amount");
  if (delta < 0 && body.getUnit() == schema::Unit::MINUTES) {
    return Reject(code::kMinutesNeverDecrease,
                  "service minutes are honour time and never decrease; give a positive delta");
  }
  const int64_t balance = BalanceOf(state, account, body.getUnit());
  int64_t after = 0;
  if (delta == std::numeric_limits<int64_t>::min() ||
      __builtin_add_overflow(balance, delta, &after)) {
    return Reject(code::kAmountTooLarge,
                  "delta " + std::to_string(delta) + " overflows the balance of " + Quote(account));
  }
  if (after < 0) {
    return Reject(code::kBalanceBelowZero, Quote(account) + " holds " + std::to_string(balance) +
                                               "; an adjustment of " + std::to_string(delta) +
                                               " would take it below zero");
  }
  MULIN_RETURN_IF_ERROR(CheckReason("reason", body.getReason(), "for an adjustment"));
  auto event = sink->Add(community).initAdjustment();
  event.setAccountId(body.getAccountId());
  event.setUnit(body.getUnit());
  event.setDelta(delta);
  event.setReason(body.getReason());
  return Status::Ok();
}

}  // namespace

Status DecideFund(const State& state, schema::Command::Reader command, EventSink* sink) {
  const std::string actor = Str(command.getActorId());
  switch (command.getBody().which()) {
    case Body::REQUEST_PAYOUT:
      return RequestPayout(state, command, actor, sink);
    case Body::APPROVE_PAYOUT:
      return ApprovePayout(state, command, actor, sink);
    case Body::REJECT_PAYOUT:
      return RejectPayout(state, command, actor, sink);
    case Body::ADJUST:
      return Adjust(state, command, actor, sink);
    default:
      return Reject(code::kUnknownCommand, "not a fund command");
  }
}

}  // namespace mulin::domain::internal
