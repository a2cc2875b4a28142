// Goal: Postings says exactly what each event kind does to balances, as postings.h specifies,
// and every event's postings sum to zero per unit.
#include <capnp/message.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>

#include "ledger/domain/postings.h"
#include "ledger/event_codec.h"

namespace mulin::domain {
namespace {

using Body = schema::Event::Body;
using schema::Unit;
using BodyFill = std::function<void(Body::Builder)>;

// An event of community "xishan" whose body `fill` sets.
class EventMessage {
 public:
  explicit EventMessage(const BodyFill& fill) {
    auto event = message_.initRoot<schema::Event>();
    event.setSeq(1);
    event.setCommunityId("xishan");
    fill(event.getBody());
  }
  schema::Event::Reader reader() { return message_.getRoot<schema::Event>().asReader(); }

 private:
  capnp::MallocMessageBuilder message_;
};

void SetCredits(capnp::List<schema::VolunteerPoints>::Builder credits) {
  credits[0].setVolunteerId("V1");
  credits[0].setPoints(7);
  credits[1].setVolunteerId("V2");
  credits[1].setPoints(3);
}

// One example of every event kind, with the postings it must produce.
struct Example {
  BodyFill fill;
  std::vector<Posting> expected;
};

using Examples = std::map<Body::Which, Example>;

void AddRegistryExamples(Examples* examples) {
  Examples& x = *examples;
  x[Body::COMMUNITY_REGISTERED] = {[](auto b) { b.initCommunityRegistered().setName("西山"); }, {}};
  x[Body::MEMBER_REGISTERED] = {[](auto b) { b.initMemberRegistered().setMemberId("V1"); }, {}};
  x[Body::MERCHANT_REGISTERED] = {[](auto b) { b.initMerchantRegistered().setMerchantId("M1"); },
                                  {}};
  x[Body::PROJECT_REGISTERED] = {[](auto b) { b.initProjectRegistered().setProjectId("P1"); }, {}};
  x[Body::TERMINAL_REGISTERED] = {[](auto b) { b.initTerminalRegistered().setTerminalId("T1"); },
                                  {}};
  x[Body::RULES_CHANGED] = {[](auto b) { b.initRulesChanged().setPointsPerHour(12); }, {}};
}

void AddOrderExamples(Examples* examples) {
  Examples& x = *examples;
  x[Body::ORDER_PLACED] = {[](auto b) { b.initOrderPlaced().setOrderId("O1"); }, {}};
  x[Body::ORDER_DISPATCHED] = {[](auto b) { b.initOrderDispatched().setOrderId("O1"); }, {}};
  x[Body::ORDER_ACCEPTED] = {[](auto b) { b.initOrderAccepted().setOrderId("O1"); }, {}};
  x[Body::ORDER_DELIVERED] = {[](auto b) {
                                auto d = b.initOrderDelivered();
                                d.setOrderId("O1");
                                auto v = d.initVolunteers(2);
                                v[0].setVolunteerId("V1");
                                v[0].setMinutes(90);
                                v[0].setPoints(15);
                                v[1].setVolunteerId("V2");
                                v[1].setMinutes(30);
                                v[1].setPoints(5);
                              },
                              {{"service:xishan", Unit::MINUTES, -90},
                               {"volunteer:V1", Unit::MINUTES, 90},
                               {"service:xishan", Unit::MINUTES, -30},
                               {"volunteer:V2", Unit::MINUTES, 30}}};
  x[Body::ORDER_RATED] = {[](auto b) { b.initOrderRated().setRating(5); }, {}};
  x[Body::ORDER_CANCELLED] = {[](auto b) { b.initOrderCancelled().setOrderId("O1"); }, {}};
  x[Body::POINTS_CREDITED] = {[](auto b) { SetCredits(b.initPointsCredited().initCredits(2)); },
                              {{"issuance:xishan", Unit::POINTS, -7},
                               {"volunteer:V1", Unit::POINTS, 7},
                               {"issuance:xishan", Unit::POINTS, -3},
                               {"volunteer:V2", Unit::POINTS, 3}}};
  x[Body::POINTS_HELD] = {[](auto b) {
                            auto h = b.initPointsHeld();
                            h.setOrderId("O1");
                            SetCredits(h.initCredits(2));
                          },
                          {{"issuance:xishan", Unit::POINTS, -7},
                           {"held:O1", Unit::POINTS, 7},
                           {"issuance:xishan", Unit::POINTS, -3},
                           {"held:O1", Unit::POINTS, 3}}};
  x[Body::HELD_POINTS_APPROVED] = {[](auto b) {
                                     auto h = b.initHeldPointsApproved();
                                     h.setOrderId("O1");
                                     SetCredits(h.initCredits(2));
                                   },
                                   {{"held:O1", Unit::POINTS, -7},
                                    {"volunteer:V1", Unit::POINTS, 7},
                                    {"held:O1", Unit::POINTS, -3},
                                    {"volunteer:V2", Unit::POINTS, 3}}};
  x[Body::HELD_POINTS_REJECTED] = {[](auto b) {
                                     auto h = b.initHeldPointsRejected();
                                     h.setOrderId("O1");
                                     SetCredits(h.initCredits(2));
                                   },
                                   {{"held:O1", Unit::POINTS, -7},
                                    {"issuance:xishan", Unit::POINTS, 7},
                                    {"held:O1", Unit::POINTS, -3},
                                    {"issuance:xishan", Unit::POINTS, 3}}};
}

void AddMoneyExamples(Examples* x) {
  (*x)[Body::POINTS_REDEEMED] = {
      [](auto b) {
        auto r = b.initPointsRedeemed();
        r.setVolunteerId("V1");
        r.setMerchantId("M1");
        r.setPoints(30);
      },
      {{"volunteer:V1", Unit::POINTS, -30}, {"merchant:M1", Unit::POINTS, 30}}};
  (*x)[Body::REDEMPTION_REVERSED] = {
      [](auto b) {
        auto r = b.initRedemptionReversed();
        r.setVolunteerId("V1");
        r.setMerchantId("M1");
        r.setPoints(30);
      },
      {{"merchant:M1", Unit::POINTS, -30}, {"volunteer:V1", Unit::POINTS, 30}}};
  (*x)[Body::SALE_RECORDED] = {
      [](auto b) {
        auto s = b.initSaleRecorded();
        s.setMerchantId("M1");
        s.setGrossFen(10000);
        s.setContributionFen(1000);
      },
      {{"merchant:M1", Unit::FEN, -1000}, {"fund:xishan", Unit::FEN, 1000}}};
  (*x)[Body::SALE_REVERSED] = {
      [](auto b) {
        auto s = b.initSaleReversed();
        s.setMerchantId("M1");
        s.setContributionFen(1000);
      },
      {{"fund:xishan", Unit::FEN, -1000}, {"merchant:M1", Unit::FEN, 1000}}};
  (*x)[Body::PAYOUT_REQUESTED] = {[](auto b) { b.initPayoutRequested().setAmountFen(500); }, {}};
  (*x)[Body::PAYOUT_APPROVED] = {
      [](auto b) {
        auto p = b.initPayoutApproved();
        p.setProjectId("P1");
        p.setAmountFen(500);
      },
      {{"fund:xishan", Unit::FEN, -500}, {"project:P1", Unit::FEN, 500}}};
  (*x)[Body::PAYOUT_REJECTED] = {[](auto b) { b.initPayoutRejected().setPayoutId("Y1"); }, {}};
  (*x)[Body::ADJUSTMENT] = {
      [](auto b) {
        auto a = b.initAdjustment();
        a.setAccountId("volunteer:V1");
        a.setUnit(Unit::POINTS);
        a.setDelta(-4);
      },
      {{"adjustments:xishan", Unit::POINTS, 4}, {"volunteer:V1", Unit::POINTS, -4}}};
  (*x)[Body::CREDENTIAL_ISSUED] = {[](auto b) { b.initCredentialIssued().setCredentialId("C1"); },
                                   {}};
  (*x)[Body::CREDENTIAL_REVOKED] = {[](auto b) { b.initCredentialRevoked().setCredentialId("C1"); },
                                    {}};
}

TEST(DomainPostingsTest, EveryEventKindPostsExactlyWhatItSpecifiesAndBalances) {
  Examples examples;
  AddRegistryExamples(&examples);
  AddOrderExamples(&examples);
  AddMoneyExamples(&examples);
  for (uint16_t k = 0; k <= static_cast<uint16_t>(ledger::kLastKnownEventKind); ++k) {
    const auto kind = static_cast<Body::Which>(k);
    ASSERT_EQ(1u, examples.count(kind)) << "no example for " << ledger::EventKindName(kind);
    EventMessage event(examples[kind].fill);
    const std::vector<Posting> postings = Postings(event.reader());
    EXPECT_EQ(examples[kind].expected, postings) << ledger::EventKindName(kind);
    int64_t sums[3] = {0, 0, 0};
    for (const Posting& p : postings) sums[static_cast<int>(p.unit)] += p.delta;
    EXPECT_EQ(0, sums[0] | sums[1] | sums[2]) << ledger::EventKindName(kind);
  }
}

TEST(DomainPostingsTest, ZeroAmountsMoveNothing) {
  EventMessage sale([](auto b) {
    auto s = b.initSaleRecorded();
    s.setMerchantId("M1");
    s.setGrossFen(3);
    s.setContributionFen(0);  // 3 fen at 10% rounds to 0
  });
  EXPECT_TRUE(Postings(sale.reader()).empty());
}

TEST(DomainPostingsTest, Int64MinCannotBalance) {
  // Negating INT64_MIN wraps; the pair no longer sums to zero, which Evolve refuses.
  EventMessage adjustment([](auto b) {
    auto a = b.initAdjustment();
    a.setAccountId("fund:xishan");
    a.setUnit(Unit::FEN);
    a.setDelta(std::numeric_limits<int64_t>::min());
  });
  const std::vector<Posting> postings = Postings(adjustment.reader());
  ASSERT_EQ(2u, postings.size());
  EXPECT_EQ(postings[0].delta, postings[1].delta);
}

TEST(DomainPostingsTest, ConstrainedAccounts) {
  EXPECT_TRUE(MustStayNonNegative("volunteer:V1", Unit::POINTS));
  EXPECT_TRUE(MustStayNonNegative("held:O1", Unit::POINTS));
  EXPECT_TRUE(MustStayNonNegative("fund:xishan", Unit::FEN));
  EXPECT_FALSE(MustStayNonNegative("volunteer:V1", Unit::MINUTES));
  EXPECT_FALSE(MustStayNonNegative("issuance:xishan", Unit::POINTS));
  EXPECT_FALSE(MustStayNonNegative("merchant:M1", Unit::FEN));
  EXPECT_FALSE(MustStayNonNegative("fund:xishan", Unit::POINTS));
  EXPECT_FALSE(MustStayNonNegative("volunteers:V1", Unit::POINTS));
  EXPECT_FALSE(MustStayNonNegative("fundraiser:x", Unit::FEN));
}

TEST(DomainPostingsTest, AccountIds) {
  EXPECT_EQ("volunteer:V0001", AccountId("volunteer", "V0001"));
  EXPECT_EQ("fund:xishan", AccountId("fund", "xishan"));
}

}  // namespace
}  // namespace mulin::domain
