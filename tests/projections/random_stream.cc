#include "tests/projections/random_stream.h"

#include <algorithm>

namespace mulin::testing {
namespace {

using Which = schema::Event::Body::Which;

constexpr int kVolunteers = 30;
constexpr int64_t kMaxMinutesPerOrder = 240;
constexpr int64_t kPointsPerHour = 10;
// Reversals pick among this many most recent originals, as a merchant would.
constexpr size_t kReversalLookback = 50;

std::string MerchantOf(const std::string& community, int64_t n) {
  return "M-" + community + "-" + std::to_string(n);
}

}  // namespace

RandomStream::RandomStream(uint64_t seed) : rng_(seed) {
  for (int i = 0; i < kVolunteers; ++i) volunteers_.push_back("V" + std::to_string(100 + i));
  for (const std::string& c : communities_) events_.Community(c);
}

std::vector<std::string> RandomStream::Next(size_t count) {
  const uint64_t target = events_.seq() + count;
  while (events_.seq() < target) Step();
  return events_.Take();
}

void RandomStream::Step() {
  events_.set_step_us(Uniform(1, 300) * 1000000);
  const int64_t dice = Uniform(0, 99);
  if (dice < 20) return PlaceOrder();
  if (dice < 55) return AdvanceOrder();
  if (dice < 70) return Redeem();
  if (dice < 73) return ReverseRedemption();
  if (dice < 88) return Sell();
  if (dice < 91) return ReverseSale();
  if (dice < 98) return PayOut();
  return Adjust();
}

void RandomStream::PlaceOrder() {
  Order order;
  order.id = "O" + std::to_string(next_id_++);
  order.community = Pick(communities_);
  events_.Placed(order.community, order.id, "R" + std::to_string(Uniform(1, 20)));
  orders_.push_back(order);
}

void RandomStream::AdvanceOrder() {
  if (orders_.empty()) return PlaceOrder();
  const size_t index = static_cast<size_t>(Uniform(0, static_cast<int64_t>(orders_.size()) - 1));
  Order& order = orders_[index];
  const std::string& c = order.community;
  bool done = false;
  switch (order.stage) {
    case 0:
    case 1:
      if (Uniform(0, 9) == 0) {
        events_.Cancelled(c, order.id);
        done = true;
      } else if (order.stage == 0) {
        events_.Dispatched(c, order.id, "SW-" + c);
      } else {
        events_.Accepted(c, order.id);
      }
      break;
    case 2:
      Deliver(&order);
      break;
    case 3:
      Close(&order);
      done = order.stage != 4;
      break;
    default: {
      const bool approve = Uniform(0, 9) < 6;
      events_.Points(approve ? Which::HELD_POINTS_APPROVED : Which::HELD_POINTS_REJECTED, c,
                     order.id, order.points);
      for (const auto& [volunteer, points] : order.points) {
        if (approve) points_[volunteer] += points;
      }
      done = true;
      break;
    }
  }
  if (order.stage < 3 && !done) ++order.stage;
  if (done) orders_.erase(orders_.begin() + static_cast<std::ptrdiff_t>(index));
}

void RandomStream::Deliver(Order* order) {
  LedgerEvents::Shares minutes;
  std::vector<std::string> chosen = volunteers_;
  std::shuffle(chosen.begin(), chosen.end(), rng_);
  const int64_t count = Uniform(1, 3);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t m = Uniform(15, 300);
    minutes.emplace_back(chosen[static_cast<size_t>(i)], m);
    order->points.emplace_back(chosen[static_cast<size_t>(i)],
                               std::min(m, kMaxMinutesPerOrder) * kPointsPerHour / 60);
  }
  events_.Delivered(order->community, order->id, minutes);
}

void RandomStream::Close(Order* order) {
  const std::string& c = order->community;
  if (Uniform(0, 9) == 0) {  // the rating window passed unrated
    events_.Points(Which::POINTS_CREDITED, c, order->id, order->points);
  } else {
    const auto rating = static_cast<uint8_t>(Uniform(0, 6) == 0 ? 1 : Uniform(2, 5));
    events_.Rated(c, order->id, rating);
    if (rating == 1) {
      events_.Points(Which::POINTS_HELD, c, order->id, order->points);
      order->stage = 4;
      return;
    }
    events_.Points(Which::POINTS_CREDITED, c, order->id, order->points);
  }
  for (const auto& [volunteer, points] : order->points) points_[volunteer] += points;
}

void RandomStream::Redeem() {
  const std::string& volunteer = Pick(volunteers_);
  const int64_t balance = points_[volunteer];
  if (balance <= 0) return Sell();
  const std::string c = Pick(communities_);
  Movement m{0,         "RD" + std::to_string(next_id_++),
             c,         MerchantOf(c, Uniform(0, 1)),
             volunteer, Uniform(1, balance),
             0};
  m.seq = events_.Redeemed(c, m.id, volunteer, m.merchant, m.amount);
  points_[volunteer] -= m.amount;
  redemptions_.push_back(m);
}

void RandomStream::ReverseRedemption() {
  if (redemptions_.empty()) return Redeem();
  const size_t low =
      redemptions_.size() > kReversalLookback ? redemptions_.size() - kReversalLookback : 0;
  Movement& m = redemptions_[static_cast<size_t>(
      Uniform(static_cast<int64_t>(low), static_cast<int64_t>(redemptions_.size()) - 1))];
  if (m.reversed) return Sell();
  events_.RedemptionReversed(m.community, m.id, m.seq, m.volunteer, m.merchant, m.amount);
  points_[m.volunteer] += m.amount;
  m.reversed = true;
}

void RandomStream::Sell() {
  const std::string c = Pick(communities_);
  const uint32_t rate_bps = Uniform(0, 3) == 0 ? 1500 : 1000;
  const int64_t gross = Uniform(1, 500000);
  const int64_t contribution = (gross * rate_bps + 5000) / 10000;
  Movement m{
      0,           "S" + std::to_string(next_id_++), c, MerchantOf(c, Uniform(0, 1)), "", gross,
      contribution};
  m.seq = events_.Sale(c, m.id, m.merchant, gross, rate_bps);
  fund_[c] += contribution;
  sales_.push_back(m);
}

void RandomStream::ReverseSale() {
  if (sales_.empty()) return Sell();
  const size_t low = sales_.size() > kReversalLookback ? sales_.size() - kReversalLookback : 0;
  Movement& m = sales_[static_cast<size_t>(
      Uniform(static_cast<int64_t>(low), static_cast<int64_t>(sales_.size()) - 1))];
  if (m.reversed || fund_[m.community] < m.contribution) return Sell();
  events_.SaleReversed(m.community, m.id, m.seq, m.merchant, m.amount, m.contribution);
  fund_[m.community] -= m.contribution;
  m.reversed = true;
}

void RandomStream::PayOut() {
  const std::string c = Pick(communities_);
  if (fund_[c] <= 0) return Sell();
  const int64_t amount = Uniform(1, fund_[c]);
  events_.Payout(c, "PAY" + std::to_string(next_id_++),
                 "P-" + c + "-" + std::to_string(Uniform(0, 1)), amount);
  fund_[c] -= amount;
}

void RandomStream::Adjust() {
  const std::string c = Pick(communities_);
  if (Uniform(0, 1) == 0) {
    const int64_t delta = Uniform(1, 1000);
    events_.Adjust(c, "fund:" + c, schema::Unit::FEN, delta);
    fund_[c] += delta;
  } else {
    const std::string& volunteer = Pick(volunteers_);
    const int64_t delta = Uniform(-points_[volunteer], 20);
    if (delta == 0) return Sell();
    events_.Adjust(c, "volunteer:" + volunteer, schema::Unit::POINTS, delta);
    points_[volunteer] += delta;
  }
}

}  // namespace mulin::testing
