// Postings: what an event does to balances, written once for the write side and every projection.
//
// Every movement of points, service minutes or money is a set of postings whose deltas sum to zero
// per unit (DESIGN §2.10). Accounts are strings "<kind>:<id>":
// clang-format off
//   volunteer:<member id>      points (spendable balance), minutes (service time, honour time)
//   issuance:<community id>    points: the source of points earned in that community (goes negative)
//   held:<order id>            points held on a rating of 1 until a social worker's review
//   merchant:<merchant id>     points: redeemed points received; fen: contributions paid (negative)
//   fund:<community id>        fen: the community development fund
//   project:<project id>       fen: payouts received
//   service:<community id>     minutes: the counterpart of volunteers' service time (goes negative)
//   adjustments:<community id> any unit: the counterpart of signed adjustments
// clang-format on
// Accounts that must never go below zero: volunteer:* and held:* in points, fund:* in fen.
// Thread-safety: pure functions.
#ifndef MULIN_LEDGER_DOMAIN_POSTINGS_H_
#define MULIN_LEDGER_DOMAIN_POSTINGS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/schema/event.capnp.h"

namespace mulin::domain {

struct Posting {
  std::string account;  // "<kind>:<id>", see above
  schema::Unit unit;
  int64_t delta;  // in `unit`; positive credits the account
  bool operator==(const Posting& other) const {
    return account == other.account && unit == other.unit && delta == other.delta;
  }
};

// The postings `event` implies (empty for events that move nothing, e.g. registrations).
std::vector<Posting> Postings(schema::Event::Reader event);

// True for the accounts whose balance in `unit` must never go below zero.
bool MustStayNonNegative(std::string_view account, schema::Unit unit);

// Account id helpers: AccountId("volunteer", "V0001") == "volunteer:V0001".
std::string AccountId(std::string_view kind, std::string_view id);

}  // namespace mulin::domain

#endif  // MULIN_LEDGER_DOMAIN_POSTINGS_H_
