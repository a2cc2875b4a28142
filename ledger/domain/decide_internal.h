// Internals of Decide shared by its translation units (one per command family). Not part of the
// domain's API.
#ifndef MULIN_LEDGER_DOMAIN_DECIDE_INTERNAL_H_
#define MULIN_LEDGER_DOMAIN_DECIDE_INTERNAL_H_

#include <string>
#include <unordered_map>

#include "ledger/domain/decide.h"

namespace mulin::domain::internal {

// Stable reason codes: scripts match on them, so never rename one; add new ones instead.
namespace code {
inline constexpr char kMalformedCommand[] = "malformed_command";
inline constexpr char kUnknownCommand[] = "unknown_command";
inline constexpr char kInvalidId[] = "invalid_id";
inline constexpr char kInvalidText[] = "invalid_text";
inline constexpr char kReasonRequired[] = "reason_required";
inline constexpr char kMissingCommunity[] = "missing_community";
inline constexpr char kCommunityMismatch[] = "community_mismatch";
inline constexpr char kDuplicateId[] = "duplicate_id";
inline constexpr char kUnknownCommunity[] = "unknown_community";
inline constexpr char kUnknownMember[] = "unknown_member";
inline constexpr char kUnknownMerchant[] = "unknown_merchant";
inline constexpr char kUnknownProject[] = "unknown_project";
inline constexpr char kUnknownTerminal[] = "unknown_terminal";
inline constexpr char kUnknownOrder[] = "unknown_order";
inline constexpr char kUnknownRedemption[] = "unknown_redemption";
inline constexpr char kUnknownSale[] = "unknown_sale";
inline constexpr char kUnknownPayout[] = "unknown_payout";
inline constexpr char kUnknownCredential[] = "unknown_credential";
inline constexpr char kNotPermitted[] = "not_permitted";
inline constexpr char kRoleRequired[] = "role_required";
inline constexpr char kInvalidRoles[] = "invalid_roles";
inline constexpr char kInvalidRate[] = "invalid_rate";
inline constexpr char kInvalidRules[] = "invalid_rules";
inline constexpr char kInvalidAmount[] = "invalid_amount";
inline constexpr char kAmountTooLarge[] = "amount_too_large";
inline constexpr char kInvalidOrderState[] = "invalid_order_state";
inline constexpr char kEmptyDelivery[] = "empty_delivery";
inline constexpr char kTooManyVolunteers[] = "too_many_volunteers";
inline constexpr char kDuplicateVolunteer[] = "duplicate_volunteer";
inline constexpr char kInvalidRating[] = "invalid_rating";
inline constexpr char kRatingWindowPassed[] = "rating_window_passed";
inline constexpr char kInsufficientPoints[] = "insufficient_points";
inline constexpr char kAlreadyReversed[] = "already_reversed";
inline constexpr char kWrongMerchant[] = "wrong_merchant";
inline constexpr char kReversalWindowPassed[] = "reversal_window_passed";
inline constexpr char kInsufficientFund[] = "insufficient_fund";
inline constexpr char kSameStaff[] = "same_staff";
inline constexpr char kPayoutNotPending[] = "payout_not_pending";
inline constexpr char kInvalidAccount[] = "invalid_account";
inline constexpr char kMinutesNeverDecrease[] = "minutes_never_decrease";
inline constexpr char kBalanceBelowZero[] = "balance_below_zero";
inline constexpr char kInvalidCredentialRole[] = "invalid_credential_role";
inline constexpr char kInvalidSecretHash[] = "invalid_secret_hash";
inline constexpr char kAlreadyRevoked[] = "already_revoked";
}  // namespace code

inline Status Reject(const char* reason_code, std::string message) {
  return Status::Rejected(reason_code, std::move(message));
}

inline std::string Str(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

// Quotes an untrusted value for a message, cut to a readable length.
std::string Quote(std::string_view value);

// invalid_id unless `value` is 1..max_bytes of printable ASCII (no spaces or control characters).
Status CheckId(const char* field, capnp::Text::Reader value, size_t max_bytes = kIdBytesMax);
// invalid_text unless `value` is valid UTF-8 of at most kTextBytesMax bytes.
Status CheckText(const char* field, capnp::Text::Reader value);
// As CheckText, and reason_required when `value` is empty.
Status CheckReason(const char* field, capnp::Text::Reader value, const char* what_for);

// `*out` = the entity `id` of `map`, or the rejection `code` ("unknown <kind> 'id'").
template <typename T>
Status Lookup(const IdMap<T>& map, const std::string& id, const char* reason_code, const char* kind,
              const char* hint, const T** out) {
  *out = FindIn(map, id);
  if (*out != nullptr) return Status::Ok();
  return Reject(reason_code, std::string("unknown ") + kind + " " + Quote(id) + "; " + hint);
}

// duplicate_id when `id` is taken in `map`.
template <typename T>
Status CheckUnused(const IdMap<T>& map, const std::string& id, const char* kind) {
  if (FindIn(map, id) == nullptr) return Status::Ok();
  return Reject(code::kDuplicateId,
                std::string(kind) + " " + Quote(id) + " already exists; choose another id");
}

// The command's named community, for kinds that need one: missing_community, invalid_id or
// unknown_community when it is absent, malformed or not registered.
Status RequireCommunity(const State& state, schema::Command::Reader command, std::string* id);
// community_mismatch when the command names a community other than `derived`, the community of
// the entity `kind` `id` (the message is built only then).
Status MatchCommunity(schema::Command::Reader command, const std::string& derived,
                      std::string_view kind, std::string_view id);

// The merchant a command names: invalid_id, unknown_merchant or community_mismatch when it cannot
// act on it.
Status LookupMerchant(const State& state, schema::Command::Reader command,
                      capnp::Text::Reader merchant_id, const Merchant** merchant);

bool IsStaffOf(const State& state, const std::string& member_id, const std::string& community);
// not_permitted unless `actor` is staff of `community`; `to_do` completes "only staff may ...".
Status RequireStaff(const State& state, const std::string& actor, const std::string& community,
                    const char* to_do);
// role_required unless member `member_id` holds `role`.
Status RequireRole(const Member& member, const std::string& member_id, schema::Role role);
// For merchant business (redeem, reverse, sales): the actor must be a terminal of `merchant_id`
// (and be `terminal_id` when one is named), or staff of the merchant's community.
Status RequireMerchantActor(const State& state, const std::string& actor,
                            const std::string& merchant_id, const std::string& terminal_id);

// Microseconds from `from_us` to `to_us`, saturating instead of overflowing.
int64_t ElapsedUs(int64_t from_us, int64_t to_us);
// Whether `elapsed_us` is still within a window of `window_s` seconds (the boundary included).
bool WithinWindow(int64_t elapsed_us, int64_t window_s);

// The events of a decision under construction; each Add() starts the next complete event.
class EventSink {
 public:
  EventSink(schema::Command::Reader command, const DecideContext& ctx, Decision* decision)
      : command_(command), ctx_(ctx), decision_(decision) {}
  // A new event of `community`, its envelope filled in; the caller sets the body.
  schema::Event::Body::Builder Add(const std::string& community);
  int64_t now_us() const { return ctx_.now_us; }
  size_t size() const { return decision_->events.size(); }

 private:
  schema::Command::Reader command_;
  const DecideContext& ctx_;
  Decision* decision_;
};

// The order a command names: invalid_id, unknown_order or community_mismatch when it cannot act
// on it.
Status LookupOrder(const State& state, schema::Command::Reader command,
                   capnp::Text::Reader order_id, const Order** order);
// The shares of `order` that earned points, as credits (a share earning 0 points moves nothing):
// CreditCount sizes the list that FillCredits fills.
unsigned CreditCount(const Order& order);
void FillCredits(const Order& order, capnp::List<schema::VolunteerPoints>::Builder credits);

// One decider per command family; each assumes requestId and actorId are already checked.
Status DecideRegistry(const State& state, schema::Command::Reader command, EventSink* sink);
Status DecideCredentials(const State& state, schema::Command::Reader command, EventSink* sink);
Status DecideOrderFlow(const State& state, schema::Command::Reader command, EventSink* sink);
Status DecideOrderClose(const State& state, schema::Command::Reader command, EventSink* sink);
Status DecideMerchant(const State& state, schema::Command::Reader command, EventSink* sink);
Status DecideFund(const State& state, schema::Command::Reader command, EventSink* sink);

}  // namespace mulin::domain::internal

#endif  // MULIN_LEDGER_DOMAIN_DECIDE_INTERNAL_H_
