// Goal: an event whose pointers share an object, so that it reads larger than it is, is refused
// by DecodeEvent and by Verify's checker, with a Corruption naming the seq: a reader DecodeEvent
// hands out must never run out of its traversal budget while projections read it.
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "ledger/event_codec.h"
#include "ledger/record_format.h"

namespace mulin::ledger {
namespace {

constexpr uint64_t kSeq = 7;

std::string Event(const std::string& actor) {
  capnp::MallocMessageBuilder message;
  auto event = message.initRoot<schema::Event>();
  event.setSeq(kSeq);
  event.setRecordedAtUs(7000000);
  event.setActorId(actor);
  event.setCommunityId("yangjiamen");
  event.setRequestId("r");
  auto body = event.getBody().initPointsRedeemed();
  body.setRedemptionId("RD7");
  body.setVolunteerId("V7");
  body.setMerchantId("M01");
  body.setTerminalId("T1");
  body.setPoints(10);
  return EncodeMessage(message);
}

// `payload` (one segment) with its request id's pointer aimed at the actor id's text.
std::string RequestIdSharingTheActorId(std::string payload) {
  EXPECT_EQ(0u, GetFixed32(payload.data()));  // one segment: the table is one word
  const uint64_t root = GetFixed64(payload.data() + 8);
  const int64_t root_offset = static_cast<int32_t>(static_cast<uint32_t>(root)) >> 2;
  const int64_t pointers_at = 2 + root_offset + static_cast<int64_t>((root >> 32) & 0xffff);
  auto pointer_of = [&](const char* field) {
    return pointers_at + capnp::Schema::from<schema::Event>()
                             .getFieldByName(field)
                             .getProto()
                             .getSlot()
                             .getOffset();
  };
  const int64_t actor_at = pointer_of("actorId");
  const int64_t request_at = pointer_of("requestId");
  const uint64_t actor = GetFixed64(payload.data() + 8 * actor_at);
  const int64_t actor_offset = static_cast<int32_t>(static_cast<uint32_t>(actor)) >> 2;
  // A list pointer's offset counts from the word after the pointer.
  const int64_t shared_offset = actor_offset + actor_at - request_at;
  const uint64_t shared =
      (actor & 0xffffffff00000000u) | (static_cast<uint32_t>(shared_offset * 4) & 0xfffffffcu) | 1u;
  std::memcpy(payload.data() + 8 * request_at, &shared, sizeof(shared));
  return payload;
}

std::string RequestIdAsRead(const std::string& payload) {
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(payload.size() / 8);
  std::memcpy(words.begin(), payload.data(), payload.size());
  capnp::FlatArrayMessageReader reader(words);
  return reader.getRoot<schema::Event>().getRequestId();
}

TEST(LogSharedObjectsTest, AnEventThatReadsLargerThanItIsIsCorruption) {
  const std::string actor(64, 'a');
  const std::string honest = Event(actor);
  ASSERT_TRUE(DecodeEvent(honest, kSeq).ok());
  const std::string shared = RequestIdSharingTheActorId(honest);
  ASSERT_EQ(actor, RequestIdAsRead(shared));  // the patch did what it says

  Result<DecodedEvent> decoded = DecodeEvent(shared, kSeq);
  ASSERT_FALSE(decoded.ok());
  EXPECT_TRUE(decoded.status().IsCorruption());
  EXPECT_EQ(kSeq, decoded.status().seq());
  EXPECT_NE(std::string::npos, decoded.status().message().find("pointers share objects"))
      << decoded.status().ToString();

  EventChecker checker;
  EXPECT_TRUE(checker.Check(honest, kSeq).ok());
  Result<int64_t> checked = checker.Check(shared, kSeq);
  ASSERT_FALSE(checked.ok());
  EXPECT_TRUE(checked.status().IsCorruption());
  EXPECT_EQ(decoded.status().message(), checked.status().message());
}

TEST(LogSharedObjectsTest, SharingThatStaysWithinTheMessageIsRead) {
  // Aimed at a one-word actor id, the request id's own word is left unread: the event still reads
  // no larger than it is, and every read of it stays within budget.
  const std::string shared = RequestIdSharingTheActorId(Event("T1"));
  ASSERT_EQ("T1", RequestIdAsRead(shared));
  Result<DecodedEvent> decoded = DecodeEvent(shared, kSeq);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ("T1", std::string(decoded->event().getRequestId().cStr()));
}

}  // namespace
}  // namespace mulin::ledger
