// RandomStream: a seeded, random stream of events that keeps the ledger's rules (no overdraft, a
// fund never below zero, contributions by the rounding rule, each reversal of an unreversed
// original once), across three communities: registrations, the whole order loop with cancels,
// held points and overdue closes, redemptions, sales, reversals, payouts and adjustments.
// The same seed gives the same payloads.
#ifndef MULIN_TESTS_PROJECTIONS_RANDOM_STREAM_H_
#define MULIN_TESTS_PROJECTIONS_RANDOM_STREAM_H_

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/projections/ledger_events.h"

namespace mulin::testing {

class RandomStream {
 public:
  explicit RandomStream(uint64_t seed);
  // At least `count` more payloads (a step may add two events: a rating and its credit).
  std::vector<std::string> Next(size_t count);
  uint64_t seq() const { return events_.seq(); }
  int64_t now_us() const { return events_.now_us(); }

 private:
  struct Order {
    std::string id;
    std::string community;
    int stage = 0;  // 0 placed, 1 dispatched, 2 accepted, 3 delivered, 4 held
    LedgerEvents::Shares points;
  };
  struct Movement {  // a redemption or a sale that may be reversed
    uint64_t seq;
    std::string id, community, merchant, volunteer;
    int64_t amount, contribution;
    bool reversed = false;
  };

  void Step();
  void PlaceOrder();
  void AdvanceOrder();
  void Deliver(Order* order);
  void Close(Order* order);
  void Redeem();
  void ReverseRedemption();
  void Sell();
  void ReverseSale();
  void PayOut();
  void Adjust();
  int64_t Uniform(int64_t low, int64_t high) {
    return std::uniform_int_distribution<int64_t>(low, high)(rng_);
  }
  const std::string& Pick(const std::vector<std::string>& from) {
    return from[static_cast<size_t>(Uniform(0, static_cast<int64_t>(from.size()) - 1))];
  }

  std::mt19937_64 rng_;
  LedgerEvents events_;
  std::vector<std::string> communities_{"xishan", "yangjiamen", "nanhu"};
  std::vector<std::string> volunteers_;
  std::vector<Order> orders_;  // in flight
  uint64_t next_id_ = 1;
  std::map<std::string, int64_t> points_;  // volunteer → spendable points
  std::map<std::string, int64_t> fund_;    // community → fen
  std::vector<Movement> redemptions_;
  std::vector<Movement> sales_;
};

}  // namespace mulin::testing

#endif  // MULIN_TESTS_PROJECTIONS_RANDOM_STREAM_H_
