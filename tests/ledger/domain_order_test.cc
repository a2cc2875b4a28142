// Goal: the order loop (DESIGN §2.1–2.2) moves only forward one step at a time, each step only by
// the person entitled to it, records service minutes at delivery and credits points only when
// the order closes.
#include "tests/support/domain_fixture.h"

namespace mulin::testing {
namespace {

class DomainOrderTest : public DomainFixture {
 protected:
  void SetUp() override { BuildWorld(); }
};

TEST_F(DomainOrderTest, LoopRecordsMinutesAtDeliveryAndCreditsPointsAtRating) {
  DeliveredOrder("O1", {{"V1", 90}, {"V2", 30}});
  EXPECT_EQ(std::vector<std::string>{"orderDelivered"}, LastKinds());
  EXPECT_EQ(90, Minutes("V1"));
  EXPECT_EQ(30, Minutes("V2"));
  EXPECT_EQ(-120, Balance("service:xishan", Unit::MINUTES));
  EXPECT_EQ(0, Points("V1")) << "points wait for the order to close";
  ASSERT_EQ("ok", CodeOf(Rate("R1", "O1", 4)));
  EXPECT_EQ((std::vector<std::string>{"orderRated", "pointsCredited"}), LastKinds());
  EXPECT_EQ(schema::CloseCause::RATED,
            LastEvent(1).event().getBody().getPointsCredited().getCause());
  EXPECT_EQ(15, Points("V1"));
  EXPECT_EQ(5, Points("V2"));
  EXPECT_EQ(-20, Balance("issuance:xishan", Unit::POINTS));
  EXPECT_EQ(domain::OrderStatus::kClosed, state_.orders.at("O1").status);
}

TEST_F(DomainOrderTest, PointsAreFlooredAndCappedWithTheRulesInForceMinutesAreNot) {
  ASSERT_EQ("ok", CodeOf(SetRules("xishan", 12, 60, 3600, 3600)));
  DeliveredOrder("O1", {{"V1", 100}, {"V2", 4}});
  EXPECT_EQ(12, state_.orders.at("O1").shares[0].points) << "min(100, 60) × 12 / 60";
  EXPECT_EQ(0, state_.orders.at("O1").shares[1].points) << "floor(4 × 12 / 60)";
  EXPECT_EQ(100, Minutes("V1")) << "service time is recorded in full";
  ASSERT_EQ("ok", CodeOf(Rate("R1", "O1", 5)));
  const ledger::DecodedEvent credits_event = LastEvent(1);
  auto credits = credits_event.event().getBody().getPointsCredited().getCredits();
  ASSERT_EQ(1u, credits.size()) << "a share of 0 points is not credited";
  EXPECT_EQ(12, Points("V1"));
  EXPECT_EQ(0, Points("V2"));
}

TEST_F(DomainOrderTest, EachStepOnlyFromThePreviousState) {
  ASSERT_EQ("ok", CodeOf(PlaceOrder("R1", "O1", "R1")));
  EXPECT_EQ("invalid_order_state", CodeOf(Deliver("S1", "O1", {{"V1", 10}})));
  EXPECT_EQ("invalid_order_state", CodeOf(Rate("R1", "O1", 5)));
  ASSERT_EQ("ok", CodeOf(Dispatch("S1", "O1", "W1")));
  EXPECT_EQ("invalid_order_state", CodeOf(Dispatch("S1", "O1", "W2")));
  EXPECT_EQ("invalid_order_state", CodeOf(Deliver("W1", "O1", {{"V1", 10}})));
  ASSERT_EQ("ok", CodeOf(Accept("W1", "O1")));
  EXPECT_EQ("invalid_order_state", CodeOf(Accept("W1", "O1")));
  ASSERT_EQ("ok", CodeOf(Deliver("W1", "O1", {{"V1", 10}})));
  EXPECT_EQ("invalid_order_state", CodeOf(Deliver("W1", "O1", {{"V1", 10}})));
  ASSERT_EQ("ok", CodeOf(Rate("R1", "O1", 3)));
  EXPECT_EQ("invalid_order_state", CodeOf(Rate("R1", "O1", 3)));
  EXPECT_EQ("duplicate_id", CodeOf(PlaceOrder("R1", "O1", "R1")));
}

TEST_F(DomainOrderTest, OrdersBelongToTheResidentsCommunity) {
  EXPECT_EQ("ok", CodeOf(PlaceOrder("S1", "O1", "R1"))) << "staff may order for a resident";
  EXPECT_EQ("xishan", state_.orders.at("O1").community_id);
  EXPECT_EQ("not_permitted", CodeOf(PlaceOrder("R2", "O2", "R1")));
  EXPECT_EQ("not_permitted", CodeOf(PlaceOrder("S3", "O2", "R1"))) << "staff of another community";
  EXPECT_EQ("community_mismatch", CodeOf(Exec("R1", "yangjiamen", [](auto b) {
              auto o = b.initPlaceOrder();
              o.setOrderId("O2");
              o.setResidentId("R1");
              o.setService("repair");
            })));
  EXPECT_EQ("invalid_text", CodeOf(Exec("R1", "",
                                        [](auto b) {
                                          auto o = b.initPlaceOrder();
                                          o.setOrderId("O2");
                                          o.setResidentId("R1");
                                        })))
      << "the service asked for is required";
}

TEST_F(DomainOrderTest, OnlyStaffOfTheCommunityDispatchAndOnlyToASocialWorker) {
  ASSERT_EQ("ok", CodeOf(PlaceOrder("R1", "O1", "R1")));
  EXPECT_EQ("not_permitted", CodeOf(Dispatch("S3", "O1", "W1")));
  EXPECT_EQ("not_permitted", CodeOf(Dispatch("W1", "O1", "W1")));
  EXPECT_EQ("role_required", CodeOf(Dispatch("S1", "O1", "V1")));
  EXPECT_EQ("unknown_member", CodeOf(Dispatch("S1", "O1", "W404")));
  EXPECT_EQ("ok", CodeOf(Dispatch("S1", "O1", "W1")));
}

TEST_F(DomainOrderTest, OnlyTheDispatchedSocialWorkerAccepts) {
  ASSERT_EQ("ok", CodeOf(PlaceOrder("R1", "O1", "R1")));
  ASSERT_EQ("ok", CodeOf(Dispatch("S1", "O1", "W1")));
  EXPECT_EQ("not_permitted", CodeOf(Accept("W2", "O1")));
  EXPECT_EQ("not_permitted", CodeOf(Accept("S1", "O1")));
  EXPECT_EQ("ok", CodeOf(Accept("W1", "O1")));
}

TEST_F(DomainOrderTest, DeliveryListsDistinctRegisteredVolunteersWithMinutes) {
  ASSERT_EQ("ok", CodeOf(PlaceOrder("R1", "O1", "R1")));
  ASSERT_EQ("ok", CodeOf(Dispatch("S1", "O1", "W1")));
  ASSERT_EQ("ok", CodeOf(Accept("W1", "O1")));
  EXPECT_EQ("not_permitted", CodeOf(Deliver("W2", "O1", {{"V1", 10}})));
  EXPECT_EQ("not_permitted", CodeOf(Deliver("V1", "O1", {{"V1", 10}})));
  EXPECT_EQ("role_required", CodeOf(Deliver("W1", "O1", {{"R1", 10}})));
  EXPECT_EQ("unknown_member", CodeOf(Deliver("W1", "O1", {{"V404", 10}})));
  EXPECT_EQ("invalid_amount", CodeOf(Deliver("W1", "O1", {{"V1", 0}})));
  EXPECT_EQ("invalid_amount", CodeOf(Deliver("W1", "O1", {{"V1", -5}})));
  EXPECT_EQ("amount_too_large", CodeOf(Deliver("W1", "O1", {{"V1", 10081}})));
  EXPECT_EQ("duplicate_volunteer", CodeOf(Deliver("W1", "O1", {{"V1", 10}, {"V1", 10}})));
  EXPECT_EQ(0, Minutes("V1"));
  // A volunteer from another community may serve; staff may report the delivery.
  EXPECT_EQ("ok", CodeOf(Deliver("S2", "O1", {{"V1", 10080}, {"V9", 30}})));
  EXPECT_EQ(30, Minutes("V9"));
}

TEST_F(DomainOrderTest, CancelOnlyBeforeDeliveryByTheResidentOrStaff) {
  ASSERT_EQ("ok", CodeOf(PlaceOrder("R1", "O1", "R1")));
  EXPECT_EQ("not_permitted", CodeOf(Cancel("R2", "O1", "not mine")));
  EXPECT_EQ("ok", CodeOf(Cancel("R1", "O1", "no longer needed")));
  EXPECT_EQ("invalid_order_state", CodeOf(Cancel("R1", "O1", "again")));
  EXPECT_EQ("invalid_order_state", CodeOf(Dispatch("S1", "O1", "W1")));
  ASSERT_EQ("ok", CodeOf(PlaceOrder("R1", "O2", "R1")));
  ASSERT_EQ("ok", CodeOf(Dispatch("S1", "O2", "W1")));
  ASSERT_EQ("ok", CodeOf(Accept("W1", "O2")));
  EXPECT_EQ("ok", CodeOf(Cancel("S2", "O2", "volunteer unavailable")));
  DeliveredOrder("O3", {{"V1", 10}});
  EXPECT_EQ("invalid_order_state", CodeOf(Cancel("R1", "O3", "too late")));
}

TEST_F(DomainOrderTest, OnlyTheResidentWhoPlacedRatesWithinTheWindow) {
  DeliveredOrder("O1", {{"V1", 60}});
  EXPECT_EQ("not_permitted", CodeOf(Rate("R2", "O1", 5)));
  EXPECT_EQ("not_permitted", CodeOf(Rate("S1", "O1", 5)));
  EXPECT_EQ("invalid_rating", CodeOf(Rate("R1", "O1", 0)));
  Advance(72 * kHourUs);
  EXPECT_EQ("ok", CodeOf(Rate("R1", "O1", 2))) << "the window's last instant counts";
  DeliveredOrder("O2", {{"V1", 60}});
  Advance(72 * kHourUs + 1);
  EXPECT_EQ("rating_window_passed", CodeOf(Rate("R1", "O2", 5)));
}

TEST_F(DomainOrderTest, RatingOneHoldsPointsUntilASocialWorkerReviews) {
  DeliveredOrder("O1", {{"V1", 60}});
  ASSERT_EQ("ok", CodeOf(Rate("R1", "O1", 1)));
  EXPECT_EQ((std::vector<std::string>{"orderRated", "pointsHeld"}), LastKinds());
  EXPECT_EQ(0, Points("V1"));
  EXPECT_EQ(10, Balance("held:O1", Unit::POINTS));
  EXPECT_EQ("not_permitted", CodeOf(Review("S1", "O1", true, ""))) << "staff do not review";
  EXPECT_EQ("not_permitted", CodeOf(Review("W9", "O1", true, ""))) << "another community's";
  EXPECT_EQ("ok", CodeOf(Review("W2", "O1", true, "")));
  EXPECT_EQ(std::vector<std::string>{"heldPointsApproved"}, LastKinds());
  EXPECT_EQ(10, Points("V1"));
  EXPECT_EQ(0, Balance("held:O1", Unit::POINTS));
  EXPECT_EQ("invalid_order_state", CodeOf(Review("W1", "O1", true, "")));
}

TEST_F(DomainOrderTest, RejectedHeldPointsAreNeverIssued) {
  DeliveredOrder("O1", {{"V1", 60}, {"V2", 30}});
  ASSERT_EQ("ok", CodeOf(Rate("R1", "O1", 1)));
  EXPECT_EQ("reason_required", CodeOf(Review("W1", "O1", false, "")));
  ASSERT_EQ("ok", CodeOf(Review("W1", "O1", false, "service not delivered")));
  EXPECT_EQ(std::vector<std::string>{"heldPointsRejected"}, LastKinds());
  EXPECT_EQ(0, Points("V1"));
  EXPECT_EQ(0, Balance("held:O1", Unit::POINTS));
  EXPECT_EQ(0, Balance("issuance:xishan", Unit::POINTS));
  EXPECT_EQ(60, Minutes("V1")) << "service time stays: it never decreases";
  EXPECT_EQ(domain::OrderStatus::kClosed, state_.orders.at("O1").status);
}

TEST_F(DomainOrderTest, CloseOverdueCreditsOnlyUnratedOrdersPastTheWindow) {
  DeliveredOrder("O1", {{"V1", 60}});
  DeliveredOrder("O2", {{"V2", 60}});
  ASSERT_EQ("ok", CodeOf(Rate("R1", "O2", 1)));
  Advance(kHourUs);
  DeliveredOrder("O3", {{"V1", 30}});
  ASSERT_EQ("ok", CodeOf(PlaceOrder("R9", "O9", "R9")));
  ASSERT_EQ("ok", CodeOf(CloseOverdue("xishan")));
  EXPECT_TRUE(last_events_.empty()) << "nothing is overdue yet: zero events is a valid result";
  Advance(72 * kHourUs);  // O1 is now past its window, O3 is at its last instant
  ASSERT_EQ("ok", CodeOf(CloseOverdue("xishan")));
  ASSERT_EQ(std::vector<std::string>{"pointsCredited"}, LastKinds());
  const ledger::DecodedEvent credited_event = LastEvent();
  auto credited = credited_event.event().getBody().getPointsCredited();
  EXPECT_EQ("O1", std::string(credited.getOrderId().cStr()));
  EXPECT_EQ(schema::CloseCause::OVERDUE, credited.getCause());
  EXPECT_EQ(10, Points("V1"));
  EXPECT_EQ("invalid_order_state", CodeOf(Rate("R1", "O1", 5)));
  EXPECT_EQ(domain::OrderStatus::kHeld, state_.orders.at("O2").status);
  Advance(1);
  ASSERT_EQ("ok", CodeOf(CloseOverdue("xishan")));
  EXPECT_EQ(std::vector<std::string>{"pointsCredited"}, LastKinds());
  EXPECT_EQ(15, Points("V1"));
  EXPECT_EQ("missing_community", CodeOf(CloseOverdue("")));
  EXPECT_EQ("unknown_community", CodeOf(CloseOverdue("nanhu")));
}

TEST_F(DomainOrderTest, CloseOverdueIsBoundedAndOldestFirst) {
  ASSERT_EQ("ok", CodeOf(SetRules("xishan", 10, 240, 0, 3600)));
  const size_t orders = domain::kCloseOverdueOrdersMax + 3;
  for (size_t i = 0; i < orders; ++i) {
    DeliveredOrder("O" + std::to_string(orders - i), {{"V1", 6}});
    Advance(1);
  }
  ASSERT_EQ("ok", CodeOf(CloseOverdue("xishan")));
  ASSERT_EQ(domain::kCloseOverdueOrdersMax, last_events_.size());
  EXPECT_EQ("O" + std::to_string(orders),
            std::string(LastEvent().event().getBody().getPointsCredited().getOrderId().cStr()));
  ASSERT_EQ("ok", CodeOf(CloseOverdue("xishan")));
  EXPECT_EQ(3u, last_events_.size());
  EXPECT_EQ(static_cast<int64_t>(orders), Points("V1"));
}

}  // namespace
}  // namespace mulin::testing
