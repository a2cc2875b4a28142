// Goal: an event whose pointers share an object, so that it reads larger than it is, is refused
// by DecodeEvent and by Verify's checker, with a Corruption naming the seq: a reader DecodeEvent
// hands out must never run out of its traversal budget while projections read it. The checking
// walk counts the words it reaches as Cap'n Proto's totalSize() does, on every kind of event and
// on pointers this build has no field for.
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>

#include "ledger/event_check.h"
#include "ledger/event_codec.h"
#include "ledger/record_format.h"
#include "tests/projections/random_stream.h"

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

uint32_t SlotOf(const char* field) {
  return capnp::Schema::from<schema::Event>()
      .getFieldByName(field)
      .getProto()
      .getSlot()
      .getOffset();
}

// `payload` (one segment) with the root's pointer `from` aimed at the text of its pointer `to`.
std::string Sharing(std::string payload, uint32_t from, uint32_t to) {
  EXPECT_EQ(0u, GetFixed32(payload.data()));  // one segment: the table is one word
  const uint64_t root = GetFixed64(payload.data() + 8);
  const int64_t root_offset = static_cast<int32_t>(static_cast<uint32_t>(root)) >> 2;
  const int64_t pointers_at = 2 + root_offset + static_cast<int64_t>((root >> 32) & 0xffff);
  const int64_t to_at = pointers_at + to;
  const int64_t from_at = pointers_at + from;
  const uint64_t target = GetFixed64(payload.data() + 8 * to_at);
  const int64_t target_offset = static_cast<int32_t>(static_cast<uint32_t>(target)) >> 2;
  // A list pointer's offset counts from the word after the pointer.
  const int64_t shared_offset = target_offset + to_at - from_at;
  const uint64_t shared = (target & 0xffffffff00000000u) |
                          (static_cast<uint32_t>(shared_offset * 4) & 0xfffffffcu) | 1u;
  std::memcpy(payload.data() + 8 * from_at, &shared, sizeof(shared));
  return payload;
}

std::string RequestIdSharingTheActorId(const std::string& payload) {
  return Sharing(payload, SlotOf("requestId"), SlotOf("actorId"));
}

kj::Array<capnp::word> Words(const std::string& payload) {
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(payload.size() / 8);
  std::memcpy(words.begin(), payload.data(), payload.size());
  return words;
}

std::string RequestIdAsRead(const std::string& payload) {
  kj::Array<capnp::word> words = Words(payload);
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

uint64_t WalkedWords(kj::ArrayPtr<const capnp::word> words) {
  capnp::FlatArrayMessageReader reader(words);
  return internal::ReadEveryPointer(reader.getRoot<capnp::AnyStruct>());
}

uint64_t TotalWords(kj::ArrayPtr<const capnp::word> words) {
  capnp::FlatArrayMessageReader reader(words);
  return reader.getRoot<capnp::AnyStruct>().totalSize().wordCount;
}

TEST(LogSharedObjectsTest, TheCheckingWalkCountsWhatTotalSizeCounts) {
  testing::RandomStream stream(11);
  std::map<int, int> kinds;
  for (const std::string& payload : stream.Next(4000)) {
    kj::Array<capnp::word> words = Words(payload);
    capnp::FlatArrayMessageReader reader(words);
    ++kinds[static_cast<int>(reader.getRoot<schema::Event>().getBody().which())];
    ASSERT_EQ(TotalWords(words), WalkedWords(words)) << payload.size();
  }
  EXPECT_GE(kinds.size(), 15u);  // the stream's events are of many kinds
}

// `payload` with `extra` more pointers at the end of the root's pointer section, all null, built
// in `message`.
std::string WithMorePointers(const std::string& payload, uint32_t extra,
                             capnp::MallocMessageBuilder* message) {
  kj::Array<capnp::word> words = Words(payload);
  capnp::FlatArrayMessageReader reader(words);
  const capnp::AnyStruct::Reader known = reader.getRoot<capnp::AnyStruct>();
  const auto data_words = static_cast<uint32_t>(known.getDataSection().size() / 8);
  const uint32_t pointers = known.getPointerSection().size();
  capnp::AnyStruct::Builder root =
      message->getRoot<capnp::AnyPointer>().initAsAnyStruct(data_words, pointers + extra);
  std::memcpy(root.getDataSection().begin(), known.getDataSection().begin(), data_words * 8);
  for (uint32_t i = 0; i < pointers; ++i) {
    root.getPointerSection()[i].set(known.getPointerSection()[i]);
  }
  return EncodeMessage(*message);
}

TEST(LogSharedObjectsTest, PointersOfANewerSchemaAreWalkedAndCounted) {
  const std::string known = Event("T1");
  const uint32_t pointers = [&] {
    kj::Array<capnp::word> words = Words(known);
    capnp::FlatArrayMessageReader reader(words);
    return reader.getRoot<capnp::AnyStruct>().getPointerSection().size();
  }();
  // Two more pointers than this build knows: a text and a list of structs.
  capnp::MallocMessageBuilder message;
  WithMorePointers(known, 2, &message);
  auto root = message.getRoot<capnp::AnyPointer>().getAs<capnp::AnyStruct>();
  root.getPointerSection()[pointers].setAs<capnp::Text>("a field of a newer schema");
  root.getPointerSection()[pointers + 1].initAsListOfAnyStruct(1, 1, 3);
  const std::string newer = EncodeMessage(message);
  EXPECT_EQ(TotalWords(Words(newer)), WalkedWords(Words(newer)));
  // The root's two more pointers, the text's 4 words, and the list's tag and 3 elements of 2 words.
  EXPECT_EQ(WalkedWords(Words(known)) + 2 + 4 + 7, WalkedWords(Words(newer)));
  EXPECT_TRUE(DecodeEvent(newer, kSeq).ok());

  // A newer pointer aimed at the actor id's text: the event reads larger than it is.
  capnp::MallocMessageBuilder longer;
  const std::string spare = WithMorePointers(Event(std::string(64, 'a')), 1, &longer);
  const std::string shared = Sharing(spare, pointers, SlotOf("actorId"));
  EXPECT_EQ(TotalWords(Words(shared)), WalkedWords(Words(shared)));
  EXPECT_EQ(WalkedWords(Words(spare)) + 9, WalkedWords(Words(shared)));  // 65 bytes: 9 words
  Result<DecodedEvent> decoded = DecodeEvent(shared, kSeq);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(std::string::npos, decoded.status().message().find("pointers share objects"))
      << decoded.status().ToString();
}

}  // namespace
}  // namespace mulin::ledger
