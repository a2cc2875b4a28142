// LedgerEvents: builds the payloads of a ledger's events by hand, numbered and timed in order,
// for projection tests that need exact events (the writer's rules are not in play here).
#ifndef MULIN_TESTS_PROJECTIONS_LEDGER_EVENTS_H_
#define MULIN_TESTS_PROJECTIONS_LEDGER_EVENTS_H_

#include <capnp/message.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ledger/event_codec.h"
#include "ledger/schema/event.capnp.h"

namespace mulin::testing {

// 2026-03-01T08:00:00+08:00, in µs since the epoch.
inline constexpr int64_t kMarch1MorningUs = 1772323200LL * 1000000;

class LedgerEvents {
 public:
  using Body = schema::Event::Body::Builder;
  using Shares = std::vector<std::pair<std::string, int64_t>>;  // (volunteer, minutes or points)

  explicit LedgerEvents(int64_t start_us = kMarch1MorningUs, uint64_t first_seq = 1)
      : seq_(first_seq - 1), now_us_(start_us) {}

  // Appends an event of `community` at the current time and returns its seq. Every event moves
  // the clock on by step_us.
  template <typename Fill>
  uint64_t Add(const std::string& community, Fill fill) {
    capnp::MallocMessageBuilder message;
    auto event = message.initRoot<schema::Event>();
    const uint64_t seq = ++seq_;
    event.setSeq(seq);
    event.setRecordedAtUs(now_us_);
    event.setActorId("staff-1");
    event.setCommunityId(community);
    event.setRequestId("req-" + std::to_string(seq));
    fill(event.getBody());
    payloads_.push_back(ledger::EncodeMessage(message));
    now_us_ += step_us_;
    return seq;
  }

  uint64_t Community(const std::string& id) {
    return Add(id, [&](Body b) { b.initCommunityRegistered().setName(id); });
  }
  uint64_t Placed(const std::string& c, const std::string& order, const std::string& resident) {
    return Add(c, [&](Body b) {
      auto e = b.initOrderPlaced();
      e.setOrderId(order);
      e.setResidentId(resident);
      e.setService("read a health-check report");
    });
  }
  uint64_t Dispatched(const std::string& c, const std::string& order, const std::string& worker) {
    return Add(c, [&](Body b) {
      auto e = b.initOrderDispatched();
      e.setOrderId(order);
      e.setSocialWorkerId(worker);
    });
  }
  uint64_t Accepted(const std::string& c, const std::string& order) {
    return Add(c, [&](Body b) { b.initOrderAccepted().setOrderId(order); });
  }
  // Minutes per volunteer; points = minutes / 6 (10 points an hour).
  uint64_t Delivered(const std::string& c, const std::string& order, const Shares& minutes) {
    return Add(c, [&](Body b) {
      auto e = b.initOrderDelivered();
      e.setOrderId(order);
      auto list = e.initVolunteers(static_cast<unsigned>(minutes.size()));
      for (unsigned i = 0; i < minutes.size(); ++i) {
        list[i].setVolunteerId(minutes[i].first);
        list[i].setMinutes(minutes[i].second);
        list[i].setPoints(minutes[i].second / 6);
      }
    });
  }
  uint64_t Rated(const std::string& c, const std::string& order, uint8_t rating) {
    return Add(c, [&](Body b) {
      auto e = b.initOrderRated();
      e.setOrderId(order);
      e.setRating(rating);
    });
  }
  uint64_t Cancelled(const std::string& c, const std::string& order) {
    return Add(c, [&](Body b) {
      auto e = b.initOrderCancelled();
      e.setOrderId(order);
      e.setReason("resident no longer needs it");
    });
  }
  // kind: POINTS_CREDITED, POINTS_HELD, HELD_POINTS_APPROVED or HELD_POINTS_REJECTED.
  uint64_t Points(schema::Event::Body::Which kind, const std::string& c, const std::string& order,
                  const Shares& points) {
    return Add(c, [&](Body b) {
      using W = schema::Event::Body::Which;
      auto fill = [&](auto e) {
        e.setOrderId(order);
        auto list = e.initCredits(static_cast<unsigned>(points.size()));
        for (unsigned i = 0; i < points.size(); ++i) {
          list[i].setVolunteerId(points[i].first);
          list[i].setPoints(points[i].second);
        }
      };
      if (kind == W::POINTS_CREDITED) fill(b.initPointsCredited());
      if (kind == W::POINTS_HELD) fill(b.initPointsHeld());
      if (kind == W::HELD_POINTS_APPROVED) fill(b.initHeldPointsApproved());
      if (kind == W::HELD_POINTS_REJECTED) fill(b.initHeldPointsRejected());
    });
  }
  uint64_t Redeemed(const std::string& c, const std::string& id, const std::string& volunteer,
                    const std::string& merchant, int64_t points) {
    return Add(c, [&](Body b) {
      auto e = b.initPointsRedeemed();
      e.setRedemptionId(id);
      e.setVolunteerId(volunteer);
      e.setMerchantId(merchant);
      e.setTerminalId("T-" + merchant);
      e.setPoints(points);
    });
  }
  uint64_t RedemptionReversed(const std::string& c, const std::string& id, uint64_t original,
                              const std::string& volunteer, const std::string& merchant,
                              int64_t points) {
    return Add(c, [&](Body b) {
      auto e = b.initRedemptionReversed();
      e.setRedemptionId(id);
      e.setOriginalSeq(original);
      e.setVolunteerId(volunteer);
      e.setMerchantId(merchant);
      e.setPoints(points);
      e.setReason("wrong item");
    });
  }
  // The contribution follows the rule unless `contribution_fen` says otherwise (≥ 0).
  uint64_t Sale(const std::string& c, const std::string& id, const std::string& merchant,
                int64_t gross_fen, uint32_t rate_bps = 1000, int64_t contribution_fen = -1) {
    if (contribution_fen < 0) contribution_fen = (gross_fen * rate_bps + 5000) / 10000;
    return Add(c, [&](Body b) {
      auto e = b.initSaleRecorded();
      e.setSaleId(id);
      e.setMerchantId(merchant);
      e.setGrossFen(gross_fen);
      e.setContributionRateBps(rate_bps);
      e.setContributionFen(contribution_fen);
    });
  }
  uint64_t SaleReversed(const std::string& c, const std::string& id, uint64_t original,
                        const std::string& merchant, int64_t gross_fen, int64_t contribution_fen) {
    return Add(c, [&](Body b) {
      auto e = b.initSaleReversed();
      e.setSaleId(id);
      e.setOriginalSeq(original);
      e.setMerchantId(merchant);
      e.setGrossFen(gross_fen);
      e.setContributionFen(contribution_fen);
      e.setReason("refund");
    });
  }
  uint64_t Payout(const std::string& c, const std::string& id, const std::string& project,
                  int64_t amount_fen) {
    return Add(c, [&](Body b) {
      auto e = b.initPayoutApproved();
      e.setPayoutId(id);
      e.setProjectId(project);
      e.setAmountFen(amount_fen);
    });
  }
  uint64_t Adjust(const std::string& c, const std::string& account, schema::Unit unit,
                  int64_t delta) {
    return Add(c, [&](Body b) {
      auto e = b.initAdjustment();
      e.setAccountId(account);
      e.setUnit(unit);
      e.setDelta(delta);
      e.setReason("correction");
    });
  }

  void set_now_us(int64_t now_us) { now_us_ = now_us; }
  void set_step_us(int64_t step_us) { step_us_ = step_us; }
  int64_t now_us() const { return now_us_; }
  uint64_t seq() const { return seq_; }
  // The payloads built since the last Take, in seq order.
  std::vector<std::string> Take() { return std::exchange(payloads_, {}); }

 private:
  uint64_t seq_;
  int64_t now_us_;
  int64_t step_us_ = 60 * 1000000LL;  // a minute between events
  std::vector<std::string> payloads_;
};

}  // namespace mulin::testing

#endif  // MULIN_TESTS_PROJECTIONS_LEDGER_EVENTS_H_
