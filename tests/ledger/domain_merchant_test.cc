// Goal: redemptions never overdraw and act only for the terminal's own merchant, reverse once
// within the window; sales pay their rounded contribution into the fund in the same event and
// reverse exactly it (DESIGN §2.4–2.6).
#include <limits>

#include "tests/support/domain_fixture.h"

namespace mulin::testing {
namespace {

class DomainMerchantTest : public DomainFixture {
 protected:
  void SetUp() override {
    BuildWorld();
    Earn("O1", "V1", 30);
  }
};

TEST_F(DomainMerchantTest, RedeemMovesPointsToTheMerchantAndNeverOverdraws) {
  Status overdraw = Redeem("T1", "RD1", "V1", "T1", 31);
  EXPECT_EQ("insufficient_points", CodeOf(overdraw));
  EXPECT_NE(std::string::npos, overdraw.message().find("'V1' has 30 points")) << overdraw.message();
  ASSERT_EQ("ok", CodeOf(Redeem("T1", "RD1", "V1", "T1", 30)));
  EXPECT_EQ(0, Points("V1"));
  EXPECT_EQ(30, Balance("merchant:M1", Unit::POINTS));
  const ledger::DecodedEvent redeemed_event = LastEvent();
  auto redeemed = redeemed_event.event();
  EXPECT_EQ("yangjiamen", std::string(redeemed.getCommunityId().cStr()))
      << "points are ledger-wide; the redemption belongs to the merchant's community";
  EXPECT_EQ("M1", std::string(redeemed.getBody().getPointsRedeemed().getMerchantId().cStr()));
  EXPECT_EQ("insufficient_points", CodeOf(Redeem("T1", "RD2", "V1", "T1", 1)));
  EXPECT_EQ("duplicate_id", CodeOf(Redeem("T1", "RD1", "V1", "T1", 1)));
  EXPECT_EQ("invalid_amount", CodeOf(Redeem("T1", "RD2", "V1", "T1", -1)));
}

TEST_F(DomainMerchantTest, RedeemerMustBeARegisteredVolunteer) {
  EXPECT_EQ("unknown_member", CodeOf(Redeem("T1", "RD1", "V404", "T1", 1)));
  EXPECT_EQ("role_required", CodeOf(Redeem("T1", "RD1", "R1", "T1", 1)));
}

TEST_F(DomainMerchantTest, ATerminalActsOnlyForItsOwnMerchant) {
  EXPECT_EQ("wrong_merchant", CodeOf(Redeem("T2", "RD1", "V1", "T1", 1)));
  EXPECT_EQ("not_permitted", CodeOf(Redeem("T1b", "RD1", "V1", "T1", 1)))
      << "a terminal names itself";
  EXPECT_EQ("not_permitted", CodeOf(Redeem("S1", "RD1", "V1", "T1", 1)))
      << "staff of another community";
  EXPECT_EQ("not_permitted", CodeOf(Redeem("V1", "RD1", "V1", "T1", 1)));
  EXPECT_EQ("ok", CodeOf(Redeem("S3", "RD1", "V1", "T1", 1)))
      << "staff of the merchant's community";
  EXPECT_EQ("ok", CodeOf(Redeem("T1b", "RD2", "V1", "T1b", 1)));
  EXPECT_EQ("community_mismatch", CodeOf(Exec("T1", "xishan", [](auto b) {
              auto r = b.initRedeem();
              r.setRedemptionId("RD3");
              r.setVolunteerId("V1");
              r.setTerminalId("T1");
              r.setPoints(1);
            })));
}

TEST_F(DomainMerchantTest, AReversalReturnsThePointsOnceBySameMerchantWithinTheWindow) {
  ASSERT_EQ("ok", CodeOf(Redeem("T1", "RD1", "V1", "T1", 12)));
  const uint64_t redeemed_seq = state_.last_seq;
  EXPECT_EQ("wrong_merchant", CodeOf(ReverseRedemption("T2", "RD1", "T2")));
  EXPECT_EQ("reason_required", CodeOf(ReverseRedemption("T1", "RD1", "T1", "")));
  ASSERT_EQ("ok", CodeOf(ReverseRedemption("T1b", "RD1", "T1b")))
      << "any terminal of the redeeming merchant";
  const ledger::DecodedEvent reversed_event = LastEvent();
  auto reversed = reversed_event.event().getBody().getRedemptionReversed();
  EXPECT_EQ(redeemed_seq, reversed.getOriginalSeq());
  EXPECT_EQ(12, reversed.getPoints());
  EXPECT_EQ(30, Points("V1"));
  EXPECT_EQ(0, Balance("merchant:M1", Unit::POINTS));
  EXPECT_EQ("already_reversed", CodeOf(ReverseRedemption("T1", "RD1", "T1")));
}

TEST_F(DomainMerchantTest, TheReversalWindowIsTheMerchantCommunitysRule) {
  ASSERT_EQ("ok", CodeOf(SetRules("yangjiamen", 10, 240, 3600, 60)));
  ASSERT_EQ("ok", CodeOf(Redeem("T1", "RD1", "V1", "T1", 1)));
  ASSERT_EQ("ok", CodeOf(Redeem("T1", "RD2", "V1", "T1", 1)));
  Advance(60 * 1'000'000);
  EXPECT_EQ("ok", CodeOf(ReverseRedemption("T1", "RD1", "T1"))) << "the last instant counts";
  Advance(1);
  EXPECT_EQ("reversal_window_passed", CodeOf(ReverseRedemption("T1", "RD2", "T1")));
}

TEST_F(DomainMerchantTest, SaleContributionRoundsHalfUpInTheSameEvent) {
  ASSERT_EQ("ok", CodeOf(RecordSale("T1", "SL1", "M1", 5)));  // 10% of 5 fen = 0.5 → 1
  const ledger::DecodedEvent sale_event = LastEvent();
  auto sale = sale_event.event().getBody().getSaleRecorded();
  EXPECT_EQ(1, sale.getContributionFen());
  EXPECT_EQ(1000u, sale.getContributionRateBps());
  EXPECT_EQ(1u, last_events_.size());
  ASSERT_EQ("ok", CodeOf(RecordSale("T1", "SL2", "M1", 4)));  // 0.4 → 0
  EXPECT_EQ(0, LastEvent().event().getBody().getSaleRecorded().getContributionFen());
  ASSERT_EQ("ok", CodeOf(RecordSale("S2", "SL3", "M2", 123456)));  // 5% = 6172.8 → 6173
  EXPECT_EQ(1, Fund("yangjiamen"));
  EXPECT_EQ(6173, Fund("xishan"));
  EXPECT_EQ(-6173, Balance("merchant:M2", Unit::FEN));
  EXPECT_EQ("invalid_amount", CodeOf(RecordSale("T1", "SL4", "M1", 0)));
  EXPECT_EQ("duplicate_id", CodeOf(RecordSale("T1", "SL1", "M1", 100)));
  EXPECT_EQ("not_permitted", CodeOf(RecordSale("S1", "SL4", "M1", 100)));
}

TEST_F(DomainMerchantTest, SalesNearTheInt64LimitAreRefusedNotWrapped) {
  ASSERT_EQ("ok", CodeOf(RegisterMerchant("MX", "xishan", 10000)));
  const int64_t largest = (std::numeric_limits<int64_t>::max() - 5000) / 10000;
  EXPECT_EQ("amount_too_large", CodeOf(RecordSale("S1", "SL1", "MX", largest + 1)));
  ASSERT_EQ("ok", CodeOf(RecordSale("S1", "SL1", "MX", largest)));
  EXPECT_EQ(largest, Fund("xishan"));
}

TEST_F(DomainMerchantTest, ASaleReversesOnceExactlyItsContribution) {
  ASSERT_EQ("ok", CodeOf(RecordSale("T2", "SL1", "M2", 9999)));  // 5% = 499.95 → 500
  const uint64_t recorded_seq = state_.last_seq;
  EXPECT_EQ("wrong_merchant", CodeOf(ReverseSale("T2", "SL1", "M1")));
  EXPECT_EQ("wrong_merchant", CodeOf(ReverseSale("T1", "SL1", "M2")));
  ASSERT_EQ("ok", CodeOf(ReverseSale("T2", "SL1", "M2")));
  const ledger::DecodedEvent reversed_event = LastEvent();
  auto reversed = reversed_event.event().getBody().getSaleReversed();
  EXPECT_EQ(500, reversed.getContributionFen());
  EXPECT_EQ(9999, reversed.getGrossFen());
  EXPECT_EQ(recorded_seq, reversed.getOriginalSeq());
  EXPECT_EQ(0, Fund("xishan"));
  EXPECT_EQ(0, Balance("merchant:M2", Unit::FEN));
  EXPECT_EQ("already_reversed", CodeOf(ReverseSale("T2", "SL1", "M2")));
}

TEST_F(DomainMerchantTest, ASaleReversalNeverTakesTheFundBelowZero) {
  ASSERT_EQ("ok", CodeOf(RecordSale("T2", "SL1", "M2", 20000)));  // 1000 fen
  ASSERT_EQ("ok", CodeOf(RequestPayout("S1", "Y1", "P1", 600)));
  ASSERT_EQ("ok", CodeOf(ApprovePayout("S2", "Y1")));
  EXPECT_EQ("insufficient_fund", CodeOf(ReverseSale("T2", "SL1", "M2")));
  EXPECT_EQ(400, Fund("xishan"));
}

}  // namespace
}  // namespace mulin::testing
