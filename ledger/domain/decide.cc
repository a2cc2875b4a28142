// Decide's entry point: checks the envelope, hands the command to its family, then checks that the
// events it produced keep every balance in range before anyone applies them.
#include "ledger/domain/decide.h"

#include <kj/exception.h>

#include <utility>
#include <vector>

#include "ledger/domain/decide_internal.h"
#include "ledger/domain/postings.h"

namespace mulin::domain {
namespace {

using Body = schema::Command::Body;
using internal::Reject;
namespace code = internal::code;

Status DecideBody(const State& state, schema::Command::Reader command, internal::EventSink* sink) {
  switch (command.getBody().which()) {
    case Body::REGISTER_COMMUNITY:
    case Body::REGISTER_MEMBER:
    case Body::REGISTER_MERCHANT:
    case Body::REGISTER_PROJECT:
    case Body::REGISTER_TERMINAL:
    case Body::SET_RULES:
      return internal::DecideRegistry(state, command, sink);
    case Body::PLACE_ORDER:
    case Body::DISPATCH_ORDER:
    case Body::ACCEPT_ORDER:
    case Body::DELIVER_ORDER:
    case Body::CANCEL_ORDER:
      return internal::DecideOrderFlow(state, command, sink);
    case Body::RATE_ORDER:
    case Body::CLOSE_OVERDUE:
    case Body::REVIEW_HELD_POINTS:
      return internal::DecideOrderClose(state, command, sink);
    case Body::REDEEM:
    case Body::REVERSE_REDEMPTION:
    case Body::RECORD_SALE:
    case Body::REVERSE_SALE:
      return internal::DecideMerchant(state, command, sink);
    case Body::REQUEST_PAYOUT:
    case Body::APPROVE_PAYOUT:
    case Body::REJECT_PAYOUT:
    case Body::ADJUST:
      return internal::DecideFund(state, command, sink);
    case Body::ISSUE_CREDENTIAL:
    case Body::REVOKE_CREDENTIAL:
      return internal::DecideCredentials(state, command, sink);
  }
  return Reject(code::kUnknownCommand,
                "command kind " + std::to_string(static_cast<uint16_t>(command.getBody().which())) +
                    " is unknown to this ledger; upgrade mulin or check the client");
}

// Applies the decision's postings to a scratch copy of the balances they touch, so that no event
// leaves Decide that Evolve would refuse: sums that overflow are amount_too_large, and a
// constrained account going below zero is refused with the code of its unit. The family deciders
// check the balances they know about first, with better messages; this is the backstop.
// Keeps each event's postings in the decision for Evolve.
Status CheckBalances(const State& state, Decision* decision) {
  // A command touches a handful of accounts (the most, a delivery's: kVolunteersPerDeliveryMax
  // volunteers and the community's): a list searched from the end beats a hash map that allocates
  // for each command. Its accounts are views of the postings kept, which never move: the list of
  // them is reserved for every event first.
  std::vector<std::pair<std::string_view, Balances>> after;
  decision->postings.reserve(decision->events.size());
  for (const auto& message : decision->events) {
    const schema::Event::Reader event = BuiltEvent(*message);
    decision->postings.push_back(Postings(event));
    for (const Posting& posting : decision->postings.back()) {
      size_t at = after.size();
      while (at > 0 && after[at - 1].first != posting.account) --at;
      if (at == 0) {
        const Balances* current = FindIn(state.balances, posting.account);
        after.emplace_back(posting.account, current ? *current : Balances{});
        at = after.size();
      }
      const std::string_view account = after[at - 1].first;
      Balances& balances = after[at - 1].second;
      const size_t unit = static_cast<size_t>(posting.unit);
      if (unit >= kUnitCount) {
        return Reject(code::kInvalidAccount, "unit " + std::to_string(unit) + " is unknown");
      }
      int64_t& balance = balances[unit];
      if (__builtin_add_overflow(balance, posting.delta, &balance)) {
        return Reject(code::kAmountTooLarge, "the balance of " + std::string(account) +
                                                 " would overflow; use smaller amounts");
      }
      if (balance < 0 && MustStayNonNegative(account, posting.unit)) {
        return Reject(
            posting.unit == schema::Unit::FEN ? code::kInsufficientFund : code::kInsufficientPoints,
            std::string(account) + " would go below zero");
      }
    }
  }
  return Status::Ok();
}

Status DecideChecked(const State& state, schema::Command::Reader command, const DecideContext& ctx,
                     Decision* decision) {
  MULIN_RETURN_IF_ERROR(internal::CheckId("requestId", command.getRequestId(), kRequestIdBytesMax));
  MULIN_RETURN_IF_ERROR(internal::CheckId("actorId", command.getActorId()));
  internal::EventSink sink(command, ctx, decision);
  MULIN_RETURN_IF_ERROR(DecideBody(state, command, &sink));
  return CheckBalances(state, decision);
}

}  // namespace

schema::Event::Reader BuiltEvent(capnp::MessageBuilder& message) {
  const kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments =
      message.getSegmentsForOutput();
  if (segments.size() == 1) return capnp::readMessageUnchecked<schema::Event>(segments[0].begin());
  return message.getRoot<schema::Event>().asReader();
}

Decision Decide(const State& state, schema::Command::Reader command, const DecideContext& ctx) {
  Decision decision;
  if (ctx.next_seq != state.last_seq + 1 || ctx.now_us < state.last_recorded_at_us) {
    decision.status = Status::InvalidArgument(
        "decide context does not follow the state: next seq " + std::to_string(ctx.next_seq) +
        " after " + std::to_string(state.last_seq) + ", clock " + std::to_string(ctx.now_us) +
        " after " + std::to_string(state.last_recorded_at_us));
    return decision;
  }
  // The command may come from untrusted bytes: a reader throws when a field does not decode.
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
                 decision.status = DecideChecked(state, command, ctx, &decision);
               })) {
    decision.status =
        Reject(code::kMalformedCommand, "the command does not decode (" +
                                            std::string(exception->getDescription().cStr()) +
                                            "); send a well-formed Command message");
  }
  if (!decision.status.ok()) {
    decision.events.clear();
    decision.postings.clear();
  }
  return decision;
}

std::vector<std::string> AllRejectionCodes() {
  return {code::kMalformedCommand,
          code::kUnknownCommand,
          code::kInvalidId,
          code::kInvalidText,
          code::kReasonRequired,
          code::kMissingCommunity,
          code::kCommunityMismatch,
          code::kDuplicateId,
          code::kUnknownCommunity,
          code::kUnknownMember,
          code::kUnknownMerchant,
          code::kUnknownProject,
          code::kUnknownTerminal,
          code::kUnknownOrder,
          code::kUnknownRedemption,
          code::kUnknownSale,
          code::kUnknownPayout,
          code::kUnknownCredential,
          code::kNotPermitted,
          code::kRoleRequired,
          code::kInvalidRoles,
          code::kInvalidRate,
          code::kInvalidRules,
          code::kInvalidAmount,
          code::kAmountTooLarge,
          code::kInvalidOrderState,
          code::kEmptyDelivery,
          code::kTooManyVolunteers,
          code::kDuplicateVolunteer,
          code::kInvalidRating,
          code::kRatingWindowPassed,
          code::kInsufficientPoints,
          code::kAlreadyReversed,
          code::kWrongMerchant,
          code::kReversalWindowPassed,
          code::kInsufficientFund,
          code::kSameStaff,
          code::kPayoutNotPending,
          code::kInvalidAccount,
          code::kMinutesNeverDecrease,
          code::kBalanceBelowZero,
          code::kInvalidCredentialRole,
          code::kInvalidSecretHash,
          code::kAlreadyRevoked};
}

}  // namespace mulin::domain
