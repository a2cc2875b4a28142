// Goal: the fund pays out only under maker–checker by staff of its community and only what it
// holds (DESIGN §2.7); adjustments are signed, reasoned, by staff, and never take an account below
// zero nor service time down (§2.8).
#include <limits>

#include "tests/support/domain_fixture.h"

namespace mulin::testing {
namespace {

class DomainFundTest : public DomainFixture {
 protected:
  void SetUp() override {
    BuildWorld();
    ASSERT_EQ("ok", CodeOf(RecordSale("T2", "SL1", "M2", 20000)));  // 5%: 1000 fen into xishan
  }
};

TEST_F(DomainFundTest, MoneyMovesAtApprovalByAnotherStaffMember) {
  ASSERT_EQ("ok", CodeOf(RequestPayout("S1", "Y1", "P1", 700)));
  EXPECT_EQ(1000, Fund("xishan")) << "a request moves nothing";
  EXPECT_EQ("same_staff", CodeOf(ApprovePayout("S1", "Y1")));
  ASSERT_EQ("ok", CodeOf(ApprovePayout("S2", "Y1")));
  const ledger::DecodedEvent approved_event = LastEvent();
  auto approved = approved_event.event().getBody().getPayoutApproved();
  EXPECT_EQ(700, approved.getAmountFen());
  EXPECT_EQ("P1", std::string(approved.getProjectId().cStr()));
  EXPECT_EQ(300, Fund("xishan"));
  EXPECT_EQ(700, Balance("project:P1", Unit::FEN));
  EXPECT_EQ("payout_not_pending", CodeOf(ApprovePayout("S2", "Y1")));
}

TEST_F(DomainFundTest, OnlyStaffOfThePayoutsCommunityTakePart) {
  EXPECT_EQ("not_permitted", CodeOf(RequestPayout("S3", "Y1", "P1", 100)));
  EXPECT_EQ("not_permitted", CodeOf(RequestPayout("W1", "Y1", "P1", 100)));
  EXPECT_EQ("not_permitted", CodeOf(RequestPayout("S1", "Y1", "P9", 100)))
      << "P9 is yangjiamen's project";
  EXPECT_EQ("community_mismatch", CodeOf(Exec("S1", "yangjiamen", [](auto b) {
              auto p = b.initRequestPayout();
              p.setPayoutId("Y1");
              p.setProjectId("P1");
              p.setAmountFen(100);
              p.setPurpose("doorbells");
            })));
  ASSERT_EQ("ok", CodeOf(RequestPayout("S1", "Y1", "P1", 100)));
  EXPECT_EQ("not_permitted", CodeOf(ApprovePayout("S3", "Y1")));
  EXPECT_EQ("not_permitted", CodeOf(ApprovePayout("R1", "Y1")));
  EXPECT_EQ("not_permitted", CodeOf(RejectPayout("S3", "Y1", "no")));
  EXPECT_EQ("duplicate_id", CodeOf(RequestPayout("S2", "Y1", "P1", 100)));
  EXPECT_EQ("invalid_amount", CodeOf(RequestPayout("S2", "Y2", "P1", 0)));
  EXPECT_EQ("reason_required", CodeOf(RequestPayout("S2", "Y2", "P1", 10, "")));
}

TEST_F(DomainFundTest, ApprovalOnlyWhenTheFundCoversIt) {
  ASSERT_EQ("ok", CodeOf(RequestPayout("S1", "Y1", "P1", 1001)));
  ASSERT_EQ("ok", CodeOf(RequestPayout("S1", "Y2", "P1", 1000)));
  EXPECT_EQ("insufficient_fund", CodeOf(ApprovePayout("S2", "Y1")));
  EXPECT_EQ("ok", CodeOf(ApprovePayout("S2", "Y2"))) << "exactly the fund";
  EXPECT_EQ(0, Fund("xishan"));
}

TEST_F(DomainFundTest, RejectedPayoutsMoveNothingAndStayRejected) {
  ASSERT_EQ("ok", CodeOf(RequestPayout("S1", "Y1", "P1", 100)));
  EXPECT_EQ("reason_required", CodeOf(RejectPayout("S2", "Y1", "")));
  ASSERT_EQ("ok", CodeOf(RejectPayout("S1", "Y1", "withdrawn by its requester")));
  EXPECT_EQ(domain::PayoutStatus::kRejected, state_.payouts.at("Y1").status);
  EXPECT_EQ(1000, Fund("xishan"));
  EXPECT_EQ("payout_not_pending", CodeOf(RejectPayout("S2", "Y1", "again")));
}

TEST_F(DomainFundTest, AdjustmentsPostAgainstTheCommunitysAdjustmentsAccount) {
  ASSERT_EQ("ok", CodeOf(Adjust("S1", "fund:xishan", Unit::FEN, -250, "bank fee")));
  EXPECT_EQ(750, Fund("xishan"));
  EXPECT_EQ(250, Balance("adjustments:xishan", Unit::FEN));
  ASSERT_EQ("ok", CodeOf(Adjust("S1", "volunteer:V1", Unit::POINTS, 8, "paper records")));
  ASSERT_EQ("ok", CodeOf(Adjust("S1", "volunteer:V1", Unit::MINUTES, 120, "paper records")));
  EXPECT_EQ(8, Points("V1"));
  EXPECT_EQ(120, Minutes("V1"));
  ASSERT_EQ("ok", CodeOf(Adjust("S3", "merchant:M1", Unit::POINTS, 5, "till count")));
  ASSERT_EQ("ok", CodeOf(Adjust("S1", "project:P1", Unit::FEN, 5, "donation")));
  ASSERT_EQ("ok", CodeOf(Adjust("S3", "fund:yangjiamen", Unit::FEN, 1, "found coin")));
  EXPECT_EQ("yangjiamen", std::string(LastEvent().event().getCommunityId().cStr()));
  EXPECT_EQ(-1, Balance("adjustments:yangjiamen", Unit::FEN));
}

TEST_F(DomainFundTest, AdjustmentsAreBoundedAndReasoned) {
  EXPECT_EQ("not_permitted", CodeOf(Adjust("S3", "fund:xishan", Unit::FEN, 1)));
  EXPECT_EQ("not_permitted", CodeOf(Adjust("W1", "fund:xishan", Unit::FEN, 1)));
  EXPECT_EQ("reason_required", CodeOf(Adjust("S1", "fund:xishan", Unit::FEN, 1, "")));
  EXPECT_EQ("invalid_amount", CodeOf(Adjust("S1", "fund:xishan", Unit::FEN, 0)));
  EXPECT_EQ("balance_below_zero", CodeOf(Adjust("S1", "fund:xishan", Unit::FEN, -1001)));
  EXPECT_EQ("balance_below_zero", CodeOf(Adjust("S1", "volunteer:V1", Unit::POINTS, -1)));
  EXPECT_EQ("minutes_never_decrease", CodeOf(Adjust("S1", "volunteer:V1", Unit::MINUTES, -1)));
  EXPECT_EQ("amount_too_large",
            CodeOf(Adjust("S1", "fund:xishan", Unit::FEN, std::numeric_limits<int64_t>::min())));
  EXPECT_EQ("amount_too_large",
            CodeOf(Adjust("S1", "fund:xishan", Unit::FEN, std::numeric_limits<int64_t>::max())));
  EXPECT_EQ("ok",
            CodeOf(Adjust("S1", "project:P1", Unit::FEN, std::numeric_limits<int64_t>::max())));
  EXPECT_EQ("amount_too_large", CodeOf(Adjust("S1", "fund:xishan", Unit::FEN, 2)))
      << "the counterpart account adjustments:xishan would pass INT64_MIN";
  EXPECT_EQ(1000, Fund("xishan"));
}

TEST_F(DomainFundTest, OnlyCorrectableAccountsAreAdjustable) {
  for (const auto& [account, unit] :
       std::vector<std::pair<std::string, Unit>>{{"issuance:xishan", Unit::POINTS},
                                                 {"service:xishan", Unit::MINUTES},
                                                 {"adjustments:xishan", Unit::FEN},
                                                 {"held:O1", Unit::POINTS},
                                                 {"merchant:M2", Unit::FEN},
                                                 {"fund:xishan", Unit::POINTS},
                                                 {"project:P1", Unit::MINUTES},
                                                 {"volunteer:V1", Unit::FEN},
                                                 {"V1", Unit::POINTS},
                                                 {"fund:xishan", static_cast<Unit>(7)}}) {
    EXPECT_EQ("invalid_account", CodeOf(Adjust("S1", account, unit, 1))) << account;
  }
  EXPECT_EQ("unknown_member", CodeOf(Adjust("S1", "volunteer:V404", Unit::POINTS, 1)));
  EXPECT_EQ("role_required", CodeOf(Adjust("S1", "volunteer:R1", Unit::POINTS, 1)));
  EXPECT_EQ("unknown_community", CodeOf(Adjust("S1", "fund:nanhu", Unit::FEN, 1)));
  EXPECT_EQ("unknown_project", CodeOf(Adjust("S1", "project:P404", Unit::FEN, 1)));
  EXPECT_EQ("unknown_merchant", CodeOf(Adjust("S1", "merchant:M404", Unit::POINTS, 1)));
}

}  // namespace
}  // namespace mulin::testing
