// A test fixture for the pure domain: builds Command messages tersely, decides them against a
// live State on a simulated clock, evolves accepted events and keeps them (encoded, as the log
// would) so a test can replay them from scratch.
#ifndef MULIN_TESTS_SUPPORT_DOMAIN_FIXTURE_H_
#define MULIN_TESTS_SUPPORT_DOMAIN_FIXTURE_H_

#include <capnp/message.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ledger/domain/decide.h"
#include "ledger/domain/evolve.h"
#include "ledger/domain/postings.h"
#include "ledger/domain/state.h"
#include "ledger/event_codec.h"
#include "ledger/schema/command.capnp.h"

namespace mulin::testing {

using schema::Role;
using schema::Unit;

struct ShareSpec {
  std::string volunteer;
  int64_t minutes;
};

inline constexpr int64_t kStartUs = 1'700'000'000'000'000;  // 2023-11-14, any fixed instant
inline constexpr int64_t kHourUs = 3600LL * 1'000'000;

// "ok" for an ok status, the reason code of a rejection, else the status's code name.
// The segments of an EncodeState message: its segment table's first word (the count less one,
// little-endian), plus one. EncodeState sizes its message to take one.
inline uint32_t SnapshotSegments(const std::string& bytes) {
  uint32_t less_one = 0;
  if (bytes.size() < sizeof(less_one)) return 0;
  std::memcpy(&less_one, bytes.data(), sizeof(less_one));
  return less_one + 1;
}

inline std::string CodeOf(const Status& status) {
  if (status.ok()) return "ok";
  if (status.IsRejected()) return status.reason_code();
  return "status:" + std::to_string(static_cast<int>(status.code()));
}

// Members are public so that table-driven tests can drive the fixture from lambdas.
class DomainFixture : public ::testing::Test {
 public:
  using Fill = std::function<void(schema::Command::Body::Builder)>;

  // Decides the command built by `fill`; evolves and keeps its events when accepted.
  Status Exec(const std::string& actor, const std::string& community, const Fill& fill) {
    capnp::MallocMessageBuilder message;
    auto command = message.initRoot<schema::Command>();
    command.setRequestId("req-" + std::to_string(++requests_));
    command.setActorId(actor);
    command.setCommunityId(community);
    fill(command.getBody());
    return Run(command.asReader());
  }

  Status Run(schema::Command::Reader command) {
    const domain::State before = state_;
    domain::Decision decision =
        domain::Decide(state_, command, domain::DecideContext{now_us_, state_.last_seq + 1});
    EXPECT_TRUE(state_ == before) << "Decide changed the state";
    last_events_.clear();
    if (!decision.status.ok()) {
      EXPECT_TRUE(decision.events.empty()) << "a rejection carries events";
      return decision.status;
    }
    EXPECT_EQ(decision.events.size(), decision.postings.size());
    for (size_t i = 0; i < decision.events.size() && i < decision.postings.size(); ++i) {
      const auto& message = decision.events[i];
      std::string bytes = ledger::EncodeMessage(*message);
      // As the writer reads it (without bounds checks, from its one segment): the event built.
      const auto event = domain::BuiltEvent(*message);
      EXPECT_EQ(kj::str(event), kj::str(message->getRoot<schema::Event>().asReader()));
      // The writer applies Decide's postings instead of deriving them again: they must be the
      // event's own.
      EXPECT_EQ(domain::Postings(event), decision.postings[i]) << "event " << i;
      domain::Evolve(&state_, event, decision.postings[i]);
      last_events_.push_back(bytes);
      log_.push_back(std::move(bytes));
    }
    return decision.status;
  }

  void Advance(int64_t micros) { now_us_ += micros; }

  // The kind of each event the last accepted command produced.
  std::vector<std::string> LastKinds() const {
    std::vector<std::string> kinds;
    for (const std::string& bytes : last_events_) {
      kinds.push_back(ledger::EventKindName(Decode(bytes).event().getBody().which()));
    }
    return kinds;
  }
  ledger::DecodedEvent LastEvent(size_t i = 0) const { return Decode(last_events_.at(i)); }
  static ledger::DecodedEvent Decode(const std::string& bytes) {
    Result<ledger::DecodedEvent> event = ledger::DecodeEvent(bytes, 0);
    EXPECT_TRUE(event.ok()) << event.status().message();
    return std::move(event).value();
  }

  // The State rebuilt from every kept event, as a restart without a snapshot would.
  domain::State Replay() const {
    domain::State state;
    for (const std::string& bytes : log_) {
      ledger::DecodedEvent event = Decode(bytes);
      Status status = domain::EvolveChecked(&state, event.event());
      EXPECT_TRUE(status.ok()) << status.message();
    }
    return state;
  }

  int64_t Balance(const std::string& account, Unit unit) const {
    return domain::BalanceOf(state_, account, unit);
  }
  int64_t Points(const std::string& volunteer) const {
    return Balance("volunteer:" + volunteer, Unit::POINTS);
  }
  int64_t Minutes(const std::string& volunteer) const {
    return Balance("volunteer:" + volunteer, Unit::MINUTES);
  }
  int64_t Fund(const std::string& community) const {
    return Balance("fund:" + community, Unit::FEN);
  }

  // --- registrations, rules, credentials (operator commands) --------------------------------
  Status RegisterCommunity(const std::string& id) {
    return Exec("operator", id, [&](auto b) { b.initRegisterCommunity().setName("社区 " + id); });
  }
  Status RegisterMember(const std::string& id, const std::string& community,
                        std::vector<Role> roles) {
    return Exec("operator", community, [&](auto b) {
      auto m = b.initRegisterMember();
      m.setMemberId(id);
      m.setName("member " + id);
      auto list = m.initRoles(static_cast<unsigned>(roles.size()));
      for (unsigned i = 0; i < roles.size(); ++i) list.set(i, roles[i]);
    });
  }
  Status RegisterMerchant(const std::string& id, const std::string& community, uint32_t rate_bps) {
    return Exec("operator", community, [&](auto b) {
      auto m = b.initRegisterMerchant();
      m.setMerchantId(id);
      m.setName("shop " + id);
      m.setContributionRateBps(rate_bps);
    });
  }
  Status RegisterProject(const std::string& id, const std::string& community) {
    return Exec("operator", community, [&](auto b) {
      auto p = b.initRegisterProject();
      p.setProjectId(id);
      p.setName("project " + id);
    });
  }
  Status RegisterTerminal(const std::string& id, const std::string& merchant) {
    return Exec("operator", "", [&](auto b) {
      auto t = b.initRegisterTerminal();
      t.setTerminalId(id);
      t.setMerchantId(merchant);
    });
  }
  Status SetRules(const std::string& community, int64_t points_per_hour,
                  int64_t max_minutes_per_order, int64_t rating_window_s, int64_t reversal_window_s,
                  int64_t effective_from_us = 0) {
    return Exec("operator", community, [&](auto b) {
      auto r = b.initSetRules();
      r.setEffectiveFromUs(effective_from_us);
      r.setPointsPerHour(points_per_hour);
      r.setMaxMinutesPerOrder(max_minutes_per_order);
      r.setRatingWindowS(rating_window_s);
      r.setReversalWindowS(reversal_window_s);
    });
  }
  Status IssueCredential(const std::string& id, schema::CredentialRole role,
                         const std::string& subject, size_t hash_bytes = 32) {
    return Exec("operator", "", [&](auto b) {
      auto c = b.initIssueCredential();
      c.setCredentialId(id);
      c.setRole(role);
      c.setSubjectId(subject);
      c.initSecretHash(static_cast<unsigned>(hash_bytes));
    });
  }
  Status RevokeCredential(const std::string& id) {
    return Exec("operator", "", [&](auto b) {
      auto c = b.initRevokeCredential();
      c.setCredentialId(id);
      c.setReason("lost");
    });
  }

  // --- the order loop ---------------------------------------------------------------------
  Status PlaceOrder(const std::string& actor, const std::string& order,
                    const std::string& resident) {
    return Exec(actor, "", [&](auto b) {
      auto o = b.initPlaceOrder();
      o.setOrderId(order);
      o.setResidentId(resident);
      o.setService("read a health-check report");
    });
  }
  Status Dispatch(const std::string& actor, const std::string& order, const std::string& worker) {
    return Exec(actor, "", [&](auto b) {
      auto o = b.initDispatchOrder();
      o.setOrderId(order);
      o.setSocialWorkerId(worker);
    });
  }
  Status Accept(const std::string& actor, const std::string& order) {
    return Exec(actor, "", [&](auto b) { b.initAcceptOrder().setOrderId(order); });
  }
  Status Deliver(const std::string& actor, const std::string& order,
                 const std::vector<ShareSpec>& shares) {
    return Exec(actor, "", [&](auto b) {
      auto d = b.initDeliverOrder();
      d.setOrderId(order);
      auto list = d.initVolunteers(static_cast<unsigned>(shares.size()));
      for (unsigned i = 0; i < shares.size(); ++i) {
        list[i].setVolunteerId(shares[i].volunteer);
        list[i].setMinutes(shares[i].minutes);
      }
    });
  }
  Status Rate(const std::string& actor, const std::string& order, uint8_t rating) {
    return Exec(actor, "", [&](auto b) {
      auto r = b.initRateOrder();
      r.setOrderId(order);
      r.setRating(rating);
      r.setComment("谢谢");
    });
  }
  Status Cancel(const std::string& actor, const std::string& order, const std::string& reason) {
    return Exec(actor, "", [&](auto b) {
      auto c = b.initCancelOrder();
      c.setOrderId(order);
      c.setReason(reason);
    });
  }
  Status CloseOverdue(const std::string& community) {
    return Exec("nightly", community, [&](auto b) { b.initCloseOverdue(); });
  }
  Status Review(const std::string& actor, const std::string& order, bool approve,
                const std::string& reason) {
    return Exec(actor, "", [&](auto b) {
      auto r = b.initReviewHeldPoints();
      r.setOrderId(order);
      r.setApprove(approve);
      r.setReason(reason);
    });
  }

  // --- merchants, the fund, corrections -----------------------------------------------------
  Status Redeem(const std::string& actor, const std::string& id, const std::string& volunteer,
                const std::string& terminal, int64_t points) {
    return Exec(actor, "", [&](auto b) {
      auto r = b.initRedeem();
      r.setRedemptionId(id);
      r.setVolunteerId(volunteer);
      r.setTerminalId(terminal);
      r.setPoints(points);
    });
  }
  Status ReverseRedemption(const std::string& actor, const std::string& id,
                           const std::string& terminal, const std::string& reason = "mistake") {
    return Exec(actor, "", [&](auto b) {
      auto r = b.initReverseRedemption();
      r.setRedemptionId(id);
      r.setTerminalId(terminal);
      r.setReason(reason);
    });
  }
  Status RecordSale(const std::string& actor, const std::string& id, const std::string& merchant,
                    int64_t gross_fen) {
    return Exec(actor, "", [&](auto b) {
      auto s = b.initRecordSale();
      s.setSaleId(id);
      s.setMerchantId(merchant);
      s.setGrossFen(gross_fen);
    });
  }
  Status ReverseSale(const std::string& actor, const std::string& id, const std::string& merchant,
                     const std::string& reason = "refund") {
    return Exec(actor, "", [&](auto b) {
      auto s = b.initReverseSale();
      s.setSaleId(id);
      s.setMerchantId(merchant);
      s.setReason(reason);
    });
  }
  Status RequestPayout(const std::string& actor, const std::string& id, const std::string& project,
                       int64_t amount_fen, const std::string& purpose = "doorbells") {
    return Exec(actor, "", [&](auto b) {
      auto p = b.initRequestPayout();
      p.setPayoutId(id);
      p.setProjectId(project);
      p.setAmountFen(amount_fen);
      p.setPurpose(purpose);
    });
  }
  Status ApprovePayout(const std::string& actor, const std::string& id) {
    return Exec(actor, "", [&](auto b) { b.initApprovePayout().setPayoutId(id); });
  }
  Status RejectPayout(const std::string& actor, const std::string& id, const std::string& reason) {
    return Exec(actor, "", [&](auto b) {
      auto p = b.initRejectPayout();
      p.setPayoutId(id);
      p.setReason(reason);
    });
  }
  Status Adjust(const std::string& actor, const std::string& account, Unit unit, int64_t delta,
                const std::string& reason = "correction") {
    return Exec(actor, "", [&](auto b) {
      auto a = b.initAdjust();
      a.setAccountId(account);
      a.setUnit(unit);
      a.setDelta(delta);
      a.setReason(reason);
    });
  }

  // Two communities with staff, residents, a social worker and volunteers each; merchant M1 of
  // yangjiamen (10%, terminals T1 and T1b) and M2 of xishan (5%, terminal T2); one project each.
  void BuildWorld() {
    for (const char* c : {"xishan", "yangjiamen"}) ASSERT_TRUE(RegisterCommunity(c).ok());
    const std::vector<std::tuple<const char*, const char*, std::vector<Role>>> members = {
        {"S1", "xishan", {Role::STAFF}},
        {"S2", "xishan", {Role::STAFF}},
        {"S3", "yangjiamen", {Role::STAFF}},
        {"R1", "xishan", {Role::RESIDENT}},
        {"R2", "xishan", {Role::RESIDENT}},
        {"R9", "yangjiamen", {Role::RESIDENT}},
        {"W1", "xishan", {Role::SOCIAL_WORKER}},
        {"W2", "xishan", {Role::SOCIAL_WORKER}},
        {"W9", "yangjiamen", {Role::SOCIAL_WORKER}},
        {"V1", "xishan", {Role::VOLUNTEER}},
        {"V2", "xishan", {Role::VOLUNTEER}},
        {"V9", "yangjiamen", {Role::VOLUNTEER}}};
    for (const auto& [id, community, roles] : members) {
      ASSERT_TRUE(RegisterMember(id, community, roles).ok()) << id;
    }
    ASSERT_TRUE(RegisterMerchant("M1", "yangjiamen", 1000).ok());
    ASSERT_TRUE(RegisterMerchant("M2", "xishan", 500).ok());
    ASSERT_TRUE(RegisterTerminal("T1", "M1").ok());
    ASSERT_TRUE(RegisterTerminal("T1b", "M1").ok());
    ASSERT_TRUE(RegisterTerminal("T2", "M2").ok());
    ASSERT_TRUE(RegisterProject("P1", "xishan").ok());
    ASSERT_TRUE(RegisterProject("P9", "yangjiamen").ok());
  }

  // Order `id` of resident R1 in xishan, dispatched by S1 to W1, accepted and delivered.
  void DeliveredOrder(const std::string& id, const std::vector<ShareSpec>& shares) {
    ASSERT_EQ("ok", CodeOf(PlaceOrder("R1", id, "R1")));
    ASSERT_EQ("ok", CodeOf(Dispatch("S1", id, "W1")));
    ASSERT_EQ("ok", CodeOf(Accept("W1", id)));
    ASSERT_EQ("ok", CodeOf(Deliver("W1", id, shares)));
  }

  // Gives volunteer `id` (of xishan) `points` points (at most 40, the default cap of 240 minutes
  // at 10 points an hour) through an order of 6 × points minutes rated 5.
  void Earn(const std::string& order, const std::string& id, int64_t points) {
    DeliveredOrder(order, {{id, points * 6}});
    ASSERT_EQ("ok", CodeOf(Rate("R1", order, 5)));
  }

  domain::State state_;
  int64_t now_us_ = kStartUs;
  uint64_t requests_ = 0;
  std::vector<std::string> log_;          // every accepted event, encoded
  std::vector<std::string> last_events_;  // those of the last accepted command
};

}  // namespace mulin::testing

#endif  // MULIN_TESTS_SUPPORT_DOMAIN_FIXTURE_H_
