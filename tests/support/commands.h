// Terse builders of serialised schema::Command messages for writer and CLI-level tests, in the
// demo's vocabulary. Each returns the bytes Writer::Submit takes.
#ifndef MULIN_TESTS_SUPPORT_COMMANDS_H_
#define MULIN_TESTS_SUPPORT_COMMANDS_H_

#include <capnp/message.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "ledger/event_codec.h"
#include "ledger/schema/command.capnp.h"

namespace mulin::testing {

// Builds a command with the envelope set and `fill` filling the body.
inline std::string MakeCommand(const std::string& request_id, const std::string& actor,
                               const std::string& community,
                               const std::function<void(schema::Command::Body::Builder)>& fill) {
  capnp::MallocMessageBuilder message;
  auto command = message.initRoot<schema::Command>();
  command.setRequestId(request_id);
  command.setActorId(actor);
  command.setCommunityId(community);
  fill(command.getBody());
  return ledger::EncodeMessage(message);
}

inline std::string RegisterCommunity(const std::string& rid, const std::string& community) {
  return MakeCommand(rid, "operator", community,
                     [&](auto body) { body.initRegisterCommunity().setName(community); });
}

inline std::string RegisterMember(const std::string& rid, const std::string& community,
                                  const std::string& id, std::vector<schema::Role> roles) {
  return MakeCommand(rid, "operator", community, [&](auto body) {
    auto m = body.initRegisterMember();
    m.setMemberId(id);
    m.setName("member " + id);
    auto list = m.initRoles(static_cast<unsigned>(roles.size()));
    for (unsigned i = 0; i < roles.size(); ++i) list.set(i, roles[i]);
  });
}

inline std::string RegisterMerchant(const std::string& rid, const std::string& community,
                                    const std::string& id, uint32_t rate_bps = 1000) {
  return MakeCommand(rid, "operator", community, [&](auto body) {
    auto m = body.initRegisterMerchant();
    m.setMerchantId(id);
    m.setName("merchant " + id);
    m.setContributionRateBps(rate_bps);
  });
}

inline std::string RegisterTerminal(const std::string& rid, const std::string& community,
                                    const std::string& id, const std::string& merchant) {
  return MakeCommand(rid, "operator", community, [&](auto body) {
    auto t = body.initRegisterTerminal();
    t.setTerminalId(id);
    t.setMerchantId(merchant);
  });
}

inline std::string PlaceOrder(const std::string& rid, const std::string& community,
                              const std::string& order, const std::string& resident) {
  return MakeCommand(rid, resident, community, [&](auto body) {
    auto o = body.initPlaceOrder();
    o.setOrderId(order);
    o.setResidentId(resident);
    o.setService("help reading a health-check report");
  });
}

inline std::string DispatchOrder(const std::string& rid, const std::string& staff,
                                 const std::string& order, const std::string& social_worker) {
  return MakeCommand(rid, staff, "", [&](auto body) {
    auto o = body.initDispatchOrder();
    o.setOrderId(order);
    o.setSocialWorkerId(social_worker);
  });
}

inline std::string AcceptOrder(const std::string& rid, const std::string& social_worker,
                               const std::string& order) {
  return MakeCommand(rid, social_worker, "",
                     [&](auto body) { body.initAcceptOrder().setOrderId(order); });
}

inline std::string DeliverOrder(const std::string& rid, const std::string& social_worker,
                                const std::string& order,
                                std::vector<std::pair<std::string, int64_t>> shares) {
  return MakeCommand(rid, social_worker, "", [&](auto body) {
    auto d = body.initDeliverOrder();
    d.setOrderId(order);
    auto list = d.initVolunteers(static_cast<unsigned>(shares.size()));
    for (unsigned i = 0; i < shares.size(); ++i) {
      list[i].setVolunteerId(shares[i].first);
      list[i].setMinutes(shares[i].second);
    }
  });
}

inline std::string RateOrder(const std::string& rid, const std::string& resident,
                             const std::string& order, uint8_t rating) {
  return MakeCommand(rid, resident, "", [&](auto body) {
    auto r = body.initRateOrder();
    r.setOrderId(order);
    r.setRating(rating);
  });
}

inline std::string Redeem(const std::string& rid, const std::string& terminal,
                          const std::string& redemption, const std::string& volunteer,
                          int64_t points) {
  return MakeCommand(rid, terminal, "", [&](auto body) {
    auto r = body.initRedeem();
    r.setRedemptionId(redemption);
    r.setVolunteerId(volunteer);
    r.setTerminalId(terminal);
    r.setPoints(points);
  });
}

inline std::string RecordSale(const std::string& rid, const std::string& terminal,
                              const std::string& sale, const std::string& merchant,
                              int64_t gross_fen) {
  return MakeCommand(rid, terminal, "", [&](auto body) {
    auto s = body.initRecordSale();
    s.setSaleId(sale);
    s.setMerchantId(merchant);
    s.setGrossFen(gross_fen);
  });
}

inline std::string ReverseRedemption(const std::string& rid, const std::string& terminal,
                                     const std::string& redemption) {
  return MakeCommand(rid, terminal, "", [&](auto body) {
    auto r = body.initReverseRedemption();
    r.setRedemptionId(redemption);
    r.setTerminalId(terminal);
    r.setReason("the customer changed their mind");
  });
}

inline std::string ReverseSale(const std::string& rid, const std::string& terminal,
                               const std::string& sale, const std::string& merchant) {
  return MakeCommand(rid, terminal, "", [&](auto body) {
    auto s = body.initReverseSale();
    s.setSaleId(sale);
    s.setMerchantId(merchant);
    s.setReason("entered twice");
  });
}

inline std::string Adjust(const std::string& rid, const std::string& staff,
                          const std::string& community, const std::string& account,
                          schema::Unit unit, int64_t delta) {
  return MakeCommand(rid, staff, community, [&](auto body) {
    auto a = body.initAdjust();
    a.setAccountId(account);
    a.setUnit(unit);
    a.setDelta(delta);
    a.setReason("paper sign-in sheet entered late");
  });
}

}  // namespace mulin::testing

#endif  // MULIN_TESTS_SUPPORT_COMMANDS_H_
