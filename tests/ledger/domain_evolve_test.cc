// Goal: Evolve refuses every event that does not follow the state (seq gap, clock going back,
// unbalanced or overflowing postings, a constrained balance below zero, an entity in the wrong
// state) — EvolveChecked with Corruption and the state untouched, Evolve by stopping the process.
#include <capnp/serialize.h>

#include <cstring>
#include <limits>
#include <string>

#include "tests/support/domain_fixture.h"

namespace mulin::testing {
namespace {

using Body = schema::Event::Body;

class DomainEvolveTest : public DomainFixture {
 protected:
  void SetUp() override { BuildWorld(); }

  // An event that would be next (seq and clock following the state) unless told otherwise.
  std::unique_ptr<capnp::MallocMessageBuilder> NextEvent(
      const std::string& community, const std::function<void(Body::Builder)>& fill) {
    auto message = std::make_unique<capnp::MallocMessageBuilder>();
    auto event = message->initRoot<schema::Event>();
    event.setSeq(state_.last_seq + 1);
    event.setRecordedAtUs(state_.last_recorded_at_us);
    event.setActorId("test");
    event.setCommunityId(community);
    event.setRequestId("req");
    fill(event.getBody());
    return message;
  }

  // EvolveChecked refuses `message` as corruption and leaves the state as it was.
  void ExpectRefused(capnp::MallocMessageBuilder& message, const std::string& why) {
    const domain::State before = state_;
    Status status = domain::EvolveChecked(&state_, message.getRoot<schema::Event>().asReader());
    EXPECT_TRUE(status.IsCorruption()) << why << ": " << status.message();
    EXPECT_TRUE(state_ == before) << why;
  }
};

TEST_F(DomainEvolveTest, SeqMustFollowAndTheClockNeverGoesBack) {
  auto gap = NextEvent("xishan", [](auto b) { b.initOrderPlaced().setOrderId("O1"); });
  gap->getRoot<schema::Event>().setSeq(state_.last_seq + 2);
  ExpectRefused(*gap, "seq gap");
  auto replayed = NextEvent("xishan", [](auto b) { b.initOrderPlaced().setOrderId("O1"); });
  replayed->getRoot<schema::Event>().setSeq(state_.last_seq);
  ExpectRefused(*replayed, "seq repeated");
  auto back = NextEvent("xishan", [](auto b) { b.initOrderPlaced().setOrderId("O1"); });
  back->getRoot<schema::Event>().setRecordedAtUs(state_.last_recorded_at_us - 1);
  ExpectRefused(*back, "clock backwards");
  auto fine = NextEvent("xishan", [](auto b) { b.initOrderPlaced().setOrderId("O1"); });
  EXPECT_TRUE(domain::EvolveChecked(&state_, fine->getRoot<schema::Event>().asReader()).ok());
}

TEST_F(DomainEvolveTest, BalancesMustBalanceStayInRangeAndNotGoBelowZero) {
  auto overdraw = NextEvent("yangjiamen", [](auto b) {
    auto r = b.initPointsRedeemed();
    r.setRedemptionId("RD1");
    r.setVolunteerId("V1");
    r.setMerchantId("M1");
    r.setPoints(1);
  });
  ExpectRefused(*overdraw, "volunteer below zero");
  auto unbalanced = NextEvent("xishan", [](auto b) {
    auto a = b.initAdjustment();
    a.setAccountId("project:P1");
    a.setUnit(Unit::FEN);
    a.setDelta(std::numeric_limits<int64_t>::min());
  });
  ExpectRefused(*unbalanced, "postings do not sum to zero");
  auto unknown_unit = NextEvent("xishan", [](auto b) {
    auto a = b.initAdjustment();
    a.setAccountId("project:P1");
    a.setUnit(static_cast<Unit>(5));
    a.setDelta(1);
  });
  ExpectRefused(*unknown_unit, "unknown unit");
  auto large = [this] {
    return NextEvent("xishan", [](auto b) {
      auto a = b.initAdjustment();
      a.setAccountId("project:P1");
      a.setUnit(Unit::FEN);
      a.setDelta(std::numeric_limits<int64_t>::max());
    });
  };
  auto first = large();
  ASSERT_TRUE(domain::EvolveChecked(&state_, first->getRoot<schema::Event>().asReader()).ok());
  auto second = large();
  ExpectRefused(*second, "balance overflow");
}

TEST_F(DomainEvolveTest, EntitiesMustExistAndBeInTheRightState) {
  auto unknown_order = NextEvent("xishan", [](auto b) {
    auto d = b.initOrderDispatched();
    d.setOrderId("O404");
    d.setSocialWorkerId("W1");
  });
  ExpectRefused(*unknown_order, "unknown order");
  auto unknown_community = NextEvent("nanhu", [](auto b) {
    auto m = b.initMemberRegistered();
    m.setMemberId("X1");
    m.initRoles(1).set(0, Role::RESIDENT);
  });
  ExpectRefused(*unknown_community, "member of an unknown community");
  auto duplicate = NextEvent("xishan", [](auto b) { b.initCommunityRegistered(); });
  ExpectRefused(*duplicate, "community registered twice");
  ASSERT_EQ("ok", CodeOf(PlaceOrder("R1", "O1", "R1")));
  auto early = NextEvent("xishan", [](auto b) { b.initOrderAccepted().setOrderId("O1"); });
  ExpectRefused(*early, "accepted before dispatch");
  auto elsewhere = NextEvent("yangjiamen", [](auto b) {
    auto d = b.initOrderDispatched();
    d.setOrderId("O1");
    d.setSocialWorkerId("W1");
  });
  ExpectRefused(*elsewhere, "order event of another community");
  auto reversal = NextEvent("yangjiamen", [](auto b) {
    auto r = b.initRedemptionReversed();
    r.setRedemptionId("RD404");
    r.setMerchantId("M1");
    r.setVolunteerId("V1");
  });
  ExpectRefused(*reversal, "reversal of an unknown redemption");
}

TEST_F(DomainEvolveTest, UnreadableEventsAreCorruptionNotACrash) {
  // An Event whose seq and clock follow the state but whose communityId points far outside the
  // message: the first read of that field throws inside EvolveChecked.
  const uint64_t far_text = 1 | (uint64_t{1000} << 2) | (uint64_t{2} << 32) | (uint64_t{5} << 35);
  const uint64_t words[] = {
      uint64_t{5} << 32,                      // segment table: one segment of 5 words
      uint64_t{2} << 32 | uint64_t{2} << 48,  // root: struct of 2 data words, 2 pointers
      state_.last_seq + 1,                    // seq
      static_cast<uint64_t>(state_.last_recorded_at_us),
      0,          // actorId: null
      far_text};  // communityId: out of bounds
  kj::Array<capnp::word> array = kj::heapArray<capnp::word>(sizeof(words) / sizeof(words[0]));
  std::memcpy(array.asBytes().begin(), words, sizeof(words));
  capnp::FlatArrayMessageReader reader(array);
  const domain::State before = state_;
  Status status = domain::EvolveChecked(&state_, reader.getRoot<schema::Event>());
  EXPECT_TRUE(status.IsCorruption()) << status.message();
  EXPECT_NE(std::string::npos, status.message().find("decode")) << status.message();
  EXPECT_TRUE(state_ == before);
}

TEST_F(DomainEvolveTest, EvolveStopsTheProcessOnAnEventThatDoesNotApply) {
  auto gap = NextEvent("xishan", [](auto b) { b.initOrderPlaced().setOrderId("O1"); });
  gap->getRoot<schema::Event>().setSeq(state_.last_seq + 5);
  EXPECT_DEATH(domain::Evolve(&state_, gap->getRoot<schema::Event>().asReader()),
               "invariant violated");
}

// The writer reads an event Decide built without bounds checks when it lies in one segment, and
// through the builder when it outgrew its first: either way it reads the event as built.
TEST_F(DomainEvolveTest, BuiltEventsReadAsBuiltInOneSegmentOrSeveral) {
  for (const unsigned first_segment_words : {1024u, 4u}) {
    capnp::MallocMessageBuilder message(first_segment_words, capnp::AllocationStrategy::FIXED_SIZE);
    auto event = message.initRoot<schema::Event>();
    event.setSeq(7);
    event.setActorId("a-volunteer-whose-id-is-longer-than-four-words");
    event.setCommunityId("xishan");
    auto redeemed = event.getBody().initPointsRedeemed();
    redeemed.setRedemptionId("RD1");
    redeemed.setPoints(40);
    const auto segments = message.getSegmentsForOutput();
    ASSERT_EQ(segments.size() > 1, first_segment_words == 4u);
    const schema::Event::Reader read = domain::BuiltEvent(message);
    EXPECT_EQ(kj::str(read), kj::str(message.getRoot<schema::Event>().asReader()));
    EXPECT_EQ(read.getSeq(), 7u);
    EXPECT_EQ(read.getBody().getPointsRedeemed().getPoints(), 40);
    const capnp::Text::Reader actor = read.getActorId();
    EXPECT_EQ(std::string(actor.cStr()), "a-volunteer-whose-id-is-longer-than-four-words");
    // Read where it was built, not from a copy.
    bool in_a_segment = false;
    for (const auto& segment : segments) {
      in_a_segment |=
          actor.begin() >= segment.asChars().begin() && actor.end() <= segment.asChars().end();
    }
    EXPECT_TRUE(in_a_segment);
  }
}

TEST_F(DomainEvolveTest, DecideRefusesAContextThatDoesNotFollowTheState) {
  capnp::MallocMessageBuilder message;
  auto command = message.initRoot<schema::Command>();
  command.setRequestId("r");
  command.setActorId("operator");
  command.setCommunityId("nanhu");
  command.getBody().initRegisterCommunity();
  domain::Decision wrong_seq = domain::Decide(state_, command.asReader(),
                                              domain::DecideContext{now_us_, state_.last_seq + 2});
  EXPECT_EQ(Code::kInvalidArgument, wrong_seq.status.code());
  EXPECT_TRUE(wrong_seq.events.empty());
  domain::Decision clock_back =
      domain::Decide(state_, command.asReader(),
                     domain::DecideContext{state_.last_recorded_at_us - 1, state_.last_seq + 1});
  EXPECT_EQ(Code::kInvalidArgument, clock_back.status.code());
  domain::Decision fine = domain::Decide(state_, command.asReader(),
                                         domain::DecideContext{now_us_ + 5, state_.last_seq + 1});
  ASSERT_TRUE(fine.status.ok());
  ASSERT_EQ(1u, fine.events.size());
  auto event = fine.events[0]->getRoot<schema::Event>();
  EXPECT_EQ(state_.last_seq + 1, event.getSeq());
  EXPECT_EQ(now_us_ + 5, event.getRecordedAtUs());
  EXPECT_EQ("r", std::string(event.getRequestId().cStr()));
  EXPECT_EQ("nanhu", std::string(event.getCommunityId().cStr()));
}

}  // namespace
}  // namespace mulin::testing
