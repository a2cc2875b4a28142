// A seeded generator of random Commands of every kind for property tests of the domain. About
// two thirds of the fields are informed by the current State (an order in the right step, the
// social worker it was dispatched to, a volunteer with points), so that commands get past the
// first check often enough to exercise the rules; the rest, and a few malformed ids, texts and
// amounts near the int64 limits, exercise the rejections.
#ifndef MULIN_TESTS_SUPPORT_DOMAIN_GENERATOR_H_
#define MULIN_TESTS_SUPPORT_DOMAIN_GENERATOR_H_

#include <functional>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ledger/domain/state.h"
#include "ledger/schema/command.capnp.h"

namespace mulin::testing {

class CommandGenerator {
 public:
  CommandGenerator(uint64_t seed, const domain::State* state) : random_(seed), state_(state) {}

  void Fill(schema::Command::Builder command) {
    command.setRequestId("r" + std::to_string(++requests_));
    command.setActorId(Chance(3) ? "" : Any({"operator", "nightly"}));
    if (Chance(20)) command.setCommunityId(Community());
    auto body = command.getBody();
    const int kind = Kind();
    if (kind < 6) return FillRegistry(kind, command, body);
    if (kind < 14) return FillOrder(kind, command, body);
    if (kind < 18) return FillMerchant(kind, command, body);
    if (kind < 22) return FillFund(kind, command, body);
    return FillCredential(kind, command, body);
  }

  // Microseconds to advance the clock before the next command: mostly seconds, some days.
  int64_t Step() {
    if (Chance(5)) return static_cast<int64_t>(Below(5 * 24 * 3600)) * kSecondUs;
    return static_cast<int64_t>(Below(600)) * kSecondUs;
  }

  // A command kind 0..23 (the order of Command.body), weighted towards the daily business.
  int Kind() {
    static constexpr int kWeights[24] = {1, 2, 1, 1, 1, 1,        // registrations, rules
                                         4, 3, 3, 3, 3, 1, 1, 2,  // the order loop
                                         4, 2, 3, 1,              // redemptions, sales
                                         2, 2, 1, 2,              // payouts, adjustments
                                         1, 1};                   // credentials
    int total = 0;
    for (int weight : kWeights) total += weight;
    int pick = static_cast<int>(Below(static_cast<uint64_t>(total)));
    int kind = 0;
    while (pick >= kWeights[kind]) pick -= kWeights[kind++];
    return kind;
  }

  bool Chance(int percent) { return Below(100) < static_cast<uint64_t>(percent); }
  uint64_t Below(uint64_t n) { return random_() % n; }

 private:
  using Body = schema::Command::Body::Builder;
  using Role = schema::Role;
  using Unit = schema::Unit;
  static constexpr int64_t kSecondUs = 1000000;

  std::string Any(std::initializer_list<const char*> options) {
    return *(options.begin() + Below(options.size()));
  }
  // An id of the pool `prefix`0..`prefix`(n-1), or now and then a malformed one.
  std::string Id(const char* prefix, int n) {
    if (Chance(3))
      return Any({"", "has space", "\x01",
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"});
    return prefix + std::to_string(Below(static_cast<uint64_t>(n)));
  }
  std::string Community() { return Id("c", 3); }
  // A random key of `map` (an informed pick), or `fallback` when empty or now and then.
  template <typename T>
  std::string Key(const domain::IdMap<T>& map, const std::string& fallback,
                  const std::function<bool(const T&)>& keep = nullptr) {
    std::vector<const std::string*> keys;
    for (const auto& [key, value] : map) {
      if (!keep || keep(value)) keys.push_back(&key);
    }
    if (keys.empty() || Chance(10)) return fallback;
    return *keys[Below(keys.size())];
  }
  std::string MemberWith(Role role) {
    return Key<domain::Member>(state_->members, Id("m", 24),
                               [role](const domain::Member& m) { return m.Has(role); });
  }
  std::string StaffOf(const std::string& community) {
    return Key<domain::Member>(state_->members, Id("m", 24), [&](const domain::Member& m) {
      return m.Has(Role::STAFF) && m.community_id == community;
    });
  }
  std::string TerminalOf(const std::string& merchant) {
    return Key<domain::Terminal>(state_->terminals, Id("t", 8), [&](const domain::Terminal& t) {
      return t.merchant_id == merchant;
    });
  }
  std::string OrderIn(domain::OrderStatus status) {
    return Key<domain::Order>(state_->orders, Id("o", 400),
                              [status](const domain::Order& o) { return o.status == status; });
  }
  const domain::Order* OrderAt(const std::string& id) { return domain::FindIn(state_->orders, id); }
  std::string CommunityOfMerchant(const std::string& merchant) {
    const domain::Merchant* m = domain::FindIn(state_->merchants, merchant);
    return m ? m->community_id : Community();
  }
  // Mostly small positive amounts, sometimes zero, negative or at the int64 limits.
  int64_t Amount(int64_t typical_max) {
    switch (Below(20)) {
      case 0:
        return 0;
      case 1:
        return -static_cast<int64_t>(Below(100)) - 1;
      case 2:
        return std::numeric_limits<int64_t>::max();
      case 3:
        return std::numeric_limits<int64_t>::min();
      case 4:
        return (std::numeric_limits<int64_t>::max() - 5000) / 10000 + Below(2);
      default:
        return 1 + static_cast<int64_t>(Below(static_cast<uint64_t>(typical_max)));
    }
  }
  std::string Reason() { return Chance(10) ? "" : Chance(2) ? "\xff bad" : "because"; }

  void FillRegistry(int kind, schema::Command::Builder command, Body body) {
    command.setCommunityId(Chance(90) ? Community() : "");
    if (kind == 0) {
      body.initRegisterCommunity().setName("社区");
    } else if (kind == 1) {
      auto m = body.initRegisterMember();
      m.setMemberId(Id("m", 24));
      const unsigned count = Chance(5) ? 0 : 1 + Below(2);
      auto roles = m.initRoles(count);
      for (unsigned i = 0; i < count; ++i)
        roles.set(i, static_cast<Role>(Below(Chance(2) ? 9 : 4)));
    } else if (kind == 2) {
      auto m = body.initRegisterMerchant();
      m.setMerchantId(Id("k", 5));
      m.setContributionRateBps(static_cast<uint32_t>(Chance(10) ? 10001 : Below(10001)));
    } else if (kind == 3) {
      body.initRegisterProject().setProjectId(Id("p", 4));
    } else if (kind == 4) {
      auto t = body.initRegisterTerminal();
      t.setTerminalId(Id("t", 8));
      t.setMerchantId(Key(state_->merchants, Id("k", 5)));
      command.setCommunityId("");
    } else {
      auto r = body.initSetRules();
      r.setEffectiveFromUs(Chance(70) ? 0
                                      : state_->last_recorded_at_us +
                                            (static_cast<int64_t>(Below(3600)) - 60) * kSecondUs);
      r.setPointsPerHour(Chance(5) ? 0 : 1 + Below(30));
      r.setMaxMinutesPerOrder(30 + Below(300));
      r.setRatingWindowS(Chance(20) ? 0 : static_cast<int64_t>(Below(4 * 24 * 3600)));
      r.setReversalWindowS(static_cast<int64_t>(Below(8 * 24 * 3600)));
    }
  }

  void FillOrder(int kind, schema::Command::Builder command, Body body) {
    using S = domain::OrderStatus;
    if (kind == 6) {
      auto o = body.initPlaceOrder();
      const std::string resident = MemberWith(Role::RESIDENT);
      o.setOrderId(Id("o", 400));
      o.setResidentId(resident);
      o.setService(Chance(5) ? "" : "help");
      command.setActorId(resident);
      return;
    }
    const S wanted[] = {S::kPlaced, S::kDispatched, S::kAccepted, S::kDelivered,
                        S::kPlaced, S::kDelivered,  S::kHeld,     S::kHeld};
    const std::string id = kind == 12 ? "" : OrderIn(wanted[kind - 7]);
    const domain::Order* order = OrderAt(id);
    const std::string community = order ? order->community_id : Community();
    if (kind == 7) {
      auto d = body.initDispatchOrder();
      d.setOrderId(id);
      d.setSocialWorkerId(MemberWith(Role::SOCIAL_WORKER));
      command.setActorId(StaffOf(community));
    } else if (kind == 8) {
      body.initAcceptOrder().setOrderId(id);
      command.setActorId(order && Chance(90) ? order->social_worker_id : Id("m", 24));
    } else if (kind == 9) {
      auto d = body.initDeliverOrder();
      d.setOrderId(id);
      const unsigned count = Chance(3) ? 0 : 1 + Below(3);
      auto shares = d.initVolunteers(count);
      for (unsigned i = 0; i < count; ++i) {
        shares[i].setVolunteerId(MemberWith(Role::VOLUNTEER));
        shares[i].setMinutes(Chance(90) ? 1 + Below(300) : Amount(20000));
      }
      command.setActorId(order && Chance(90) ? order->social_worker_id : StaffOf(community));
    } else if (kind == 10) {
      auto r = body.initRateOrder();
      r.setOrderId(id);
      r.setRating(static_cast<uint8_t>(Chance(10) ? Below(8) : 1 + Below(5)));
      command.setActorId(order && Chance(90) ? order->resident_id : Id("m", 24));
    } else if (kind == 11) {
      auto c = body.initCancelOrder();
      c.setOrderId(id);
      c.setReason(Reason());
      command.setActorId(order ? order->resident_id : Id("m", 24));
    } else if (kind == 12) {
      body.initCloseOverdue();
      command.setCommunityId(Community());
    } else {
      auto r = body.initReviewHeldPoints();
      r.setOrderId(id);
      r.setApprove(Chance(50));
      r.setReason(Reason());
      command.setActorId(order && Chance(80) ? order->social_worker_id
                                             : MemberWith(Role::SOCIAL_WORKER));
    }
  }

  void FillMerchant(int kind, schema::Command::Builder command, Body body) {
    if (kind == 14) {
      auto r = body.initRedeem();
      const std::string terminal = Key(state_->terminals, Id("t", 8));
      const std::string volunteer = MemberWith(Role::VOLUNTEER);
      const int64_t balance = domain::BalanceOf(*state_, "volunteer:" + volunteer, Unit::POINTS);
      r.setRedemptionId("rd" + std::to_string(Below(5000)));
      r.setVolunteerId(volunteer);
      r.setTerminalId(terminal);
      r.setPoints(balance > 0 && Chance(80) ? 1 + static_cast<int64_t>(Below(balance + 2))
                                            : Amount(50));
      command.setActorId(Chance(90) ? terminal : Id("t", 8));
    } else if (kind == 15) {
      auto r = body.initReverseRedemption();
      const std::string id = Key(state_->redemptions, "rd0");
      const domain::Redemption* x = domain::FindIn(state_->redemptions, id);
      const std::string terminal = TerminalOf(x ? x->merchant_id : "");
      r.setRedemptionId(id);
      r.setTerminalId(terminal);
      r.setReason(Reason());
      command.setActorId(Chance(90) ? terminal : Id("t", 8));
    } else if (kind == 16) {
      auto s = body.initRecordSale();
      const std::string merchant = Key(state_->merchants, Id("k", 5));
      s.setSaleId("s" + std::to_string(Below(5000)));
      s.setMerchantId(merchant);
      s.setGrossFen(Chance(80) ? 1 + Below(100000) : Amount(100));
      command.setActorId(Chance(80) ? TerminalOf(merchant)
                                    : StaffOf(CommunityOfMerchant(merchant)));
    } else {
      auto s = body.initReverseSale();
      const std::string id = Key(state_->sales, "s0");
      const domain::Sale* sale = domain::FindIn(state_->sales, id);
      const std::string merchant = sale && Chance(90) ? sale->merchant_id : Id("k", 5);
      s.setSaleId(id);
      s.setMerchantId(merchant);
      s.setReason(Reason());
      command.setActorId(TerminalOf(merchant));
    }
  }

  void FillFund(int kind, schema::Command::Builder command, Body body) {
    if (kind == 18) {
      auto p = body.initRequestPayout();
      const std::string project = Key(state_->projects, Id("p", 4));
      const domain::Project* x = domain::FindIn(state_->projects, project);
      const std::string community = x ? x->community_id : Community();
      const int64_t fund = domain::BalanceOf(*state_, "fund:" + community, Unit::FEN);
      p.setPayoutId(Id("y", 40));
      p.setProjectId(project);
      p.setAmountFen(fund > 0 && Chance(70) ? 1 + static_cast<int64_t>(Below(fund + 5))
                                            : Amount(1000));
      p.setPurpose(Reason());
      command.setActorId(StaffOf(community));
    } else if (kind == 19 || kind == 20) {
      const std::string id = Key<domain::Payout>(
          state_->payouts, Id("y", 40),
          [](const domain::Payout& p) { return p.status == domain::PayoutStatus::kRequested; });
      const domain::Payout* payout = domain::FindIn(state_->payouts, id);
      command.setActorId(StaffOf(payout ? payout->community_id : Community()));
      if (kind == 19) {
        body.initApprovePayout().setPayoutId(id);
      } else {
        auto r = body.initRejectPayout();
        r.setPayoutId(id);
        r.setReason(Reason());
      }
    } else {
      auto a = body.initAdjust();
      std::string account =
          Any({"volunteer:", "fund:", "project:", "merchant:", "issuance:", "held:"}) +
          Any({"m1", "m2", "m3", "c0", "c1", "p0", "k0", "o1"});
      Unit unit = static_cast<Unit>(Below(Chance(2) ? 9 : 3));
      if (Chance(60)) {  // an account that exists, in a unit it holds
        const std::string member = MemberWith(Role::VOLUNTEER);
        account = "volunteer:" + member;
        unit = Chance(50) ? Unit::POINTS : Unit::MINUTES;
        if (Chance(30)) std::tie(account, unit) = std::pair("fund:" + Community(), Unit::FEN);
      }
      a.setAccountId(account);
      a.setUnit(unit);
      a.setDelta(Chance(60) ? Amount(500) : -1 - static_cast<int64_t>(Below(500)));
      a.setReason(Reason());
      const bool volunteer = account.rfind("volunteer:", 0) == 0;
      const domain::Member* owner =
          volunteer ? domain::FindIn(state_->members, account.substr(10)) : nullptr;
      const std::string community = account.rfind("fund:", 0) == 0 ? account.substr(5)
                                    : owner                        ? owner->community_id
                                                                   : Community();
      command.setActorId(StaffOf(community));
    }
  }

  void FillCredential(int kind, schema::Command::Builder command, Body body) {
    command.setCommunityId("");
    if (kind == 22) {
      auto c = body.initIssueCredential();
      c.setCredentialId(Id("cr", 10));
      c.setRole(static_cast<schema::CredentialRole>(Below(Chance(5) ? 9 : 3)));
      c.setSubjectId(Chance(50) ? Key(state_->terminals, Id("t", 8)) : "desk");
      c.initSecretHash(Chance(90) ? 32 : static_cast<unsigned>(Below(40)));
    } else {
      auto c = body.initRevokeCredential();
      c.setCredentialId(Key(state_->credentials, Id("cr", 10)));
      c.setReason(Reason());
    }
  }

  std::mt19937_64 random_;
  const domain::State* state_;
  uint64_t requests_ = 0;
};

}  // namespace mulin::testing

#endif  // MULIN_TESTS_SUPPORT_DOMAIN_GENERATOR_H_
