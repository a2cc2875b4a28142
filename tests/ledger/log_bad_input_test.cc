// Goal: hostile or damaged bytes — an unknown event kind, a cut frame, a frame with a valid
// checksum but impossible fields, garbage and truncated Cap'n Proto messages, absurd segment
// tables, single-bit damage anywhere in a message — give a Corruption naming the seq, never a crash
// and never an event that throws when read; oversized records are refused with nothing appended.
#include <capnp/compat/json.h>
#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <gtest/gtest.h>
#include <kj/exception.h>
#include <xxhash.h>

#include <random>

#include "ledger/event_codec.h"
#include "ledger/record_format.h"
#include "tests/support/events.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ledger.h"

namespace mulin::ledger {
namespace {

using mulin::testing::RedemptionPayload;
using mulin::testing::RedemptionPayloads;
using mulin::testing::TempDir;
using mulin::testing::TestLedger;

// The payload of a single-segment Event message with its body discriminant set to `kind`, found
// from the schema: the union's discriminant offset inside the root struct's data section.
std::string WithEventKind(std::string payload, uint16_t kind) {
  const uint32_t discriminant_offset =
      capnp::Schema::from<schema::Event::Body>().getProto().getStruct().getDiscriminantOffset();
  EXPECT_EQ(0u, GetFixed32(payload.data()));  // one segment
  const uint64_t root = GetFixed64(payload.data() + 8);
  EXPECT_EQ(0u, root & 3);  // a struct pointer
  const int32_t offset_words = static_cast<int32_t>(static_cast<uint32_t>(root)) >> 2;
  const size_t at = 8 + 8 * static_cast<size_t>(1 + offset_words) + 2 * discriminant_offset;
  payload.at(at) = static_cast<char>(kind & 0xff);
  payload.at(at + 1) = static_cast<char>(kind >> 8);
  return payload;
}

// Replaces a record's checksum with the right one for its (modified) bytes, as a forger would.
std::string Reseal(uint64_t seq, std::string record) {
  record.resize(record.size() - 8);
  const uint64_t checksum = XXH3_64bits_withSeed(record.data(), record.size(), seq);
  PutFixed64(&record, checksum);
  return record;
}

// Reads every field of a decoded event through the dynamic API, as the JSON export does. Returns
// the description of the exception that reading threw, or "" when it read cleanly.
std::string ReadEverything(const DecodedEvent& decoded) {
  std::string thrown;
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
                 capnp::JsonCodec codec;
                 (void)codec.encode(decoded.event());
               })) {
    thrown = exception->getDescription().cStr();
  }
  return thrown;
}

void ExpectCorruption(std::string_view payload, uint64_t seq, const std::string& what = "") {
  Result<DecodedEvent> decoded = DecodeEvent(payload, seq);
  ASSERT_FALSE(decoded.ok());
  EXPECT_TRUE(decoded.status().IsCorruption()) << decoded.status().ToString();
  EXPECT_EQ(seq, decoded.status().seq());
  EXPECT_NE(std::string::npos, decoded.status().message().find(what))
      << decoded.status().ToString();
}

class LogBadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ledger_.Open().ok());
    ASSERT_TRUE(ledger_.AppendRedemptions(4).ok());
  }

  // Stores `payload` at the next seq with a correct frame and chain, as a buggy writer would, then
  // expects Verify to name that seq and say `what`.
  void ExpectStoredPayloadNamed(const std::string& payload, const std::string& what) {
    const uint64_t seq = ledger_.log().head().seq + 1;
    ASSERT_TRUE(ledger_.log().Append({payload}, {}).ok());
    ASSERT_TRUE(ledger_.AppendRedemptions(2).ok());
    Result<VerifyReport> report = ledger_.Verify();
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->problem.IsCorruption()) << report->problem.ToString();
    EXPECT_EQ(seq, report->problem.seq()) << report->problem.ToString();
    EXPECT_NE(std::string::npos, report->problem.message().find(what))
        << report->problem.ToString();
  }

  TempDir dir_;
  TestLedger ledger_{dir_.path()};
};

TEST_F(LogBadInputTest, PatchedDiscriminantRoundTripsForAKnownKind) {
  // The patch itself is right: writing the kind the message already has changes nothing, and
  // writing another known kind is read as that kind.
  const std::string payload = RedemptionPayload(5);
  EXPECT_EQ(payload, WithEventKind(payload, schema::Event::Body::POINTS_REDEEMED));
  Result<DecodedEvent> other =
      DecodeEvent(WithEventKind(payload, schema::Event::Body::SALE_RECORDED), 5);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(schema::Event::Body::SALE_RECORDED, other->event().getBody().which());
}

TEST_F(LogBadInputTest, UnknownEventKindIsAClearCorruption) {
  const uint16_t first_unknown = static_cast<uint16_t>(kLastKnownEventKind) + 1;
  for (uint16_t kind : {first_unknown, uint16_t{1000}, uint16_t{0xffff}}) {
    SCOPED_TRACE("kind " + std::to_string(kind));
    ExpectCorruption(WithEventKind(RedemptionPayload(5), kind), 5,
                     "unknown event kind " + std::to_string(kind));
  }
}

TEST_F(LogBadInputTest, StoredUnknownEventKindIsNamedByVerify) {
  const std::string payload = WithEventKind(RedemptionPayload(5), 0x7fff);
  ExpectStoredPayloadNamed(payload, "unknown event kind");
  // The frame is sound: the log reads the bytes back; only decoding refuses them.
  Result<std::string> stored = ledger_.log().ReadPayload(5);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(payload, *stored);
}

TEST_F(LogBadInputTest, CutFrameIsCorruptionNamingTheSeq) {
  Result<std::string> record = ledger_.ReadRaw(3);
  ASSERT_TRUE(record.ok());
  for (size_t keep :
       {size_t{0}, size_t{7}, kRecordHeaderBytes + kRecordTrailerBytes - 1,
        kRecordHeaderBytes + kRecordTrailerBytes, record->size() / 2, record->size() - 1}) {
    SCOPED_TRACE("kept " + std::to_string(keep) + " bytes");
    Result<RecordView> view = DecodeRecord(3, std::string_view(*record).substr(0, keep));
    EXPECT_TRUE(view.status().IsCorruption());
    EXPECT_EQ(3u, view.status().seq());
    ASSERT_TRUE(ledger_.WriteRaw(3, record->substr(0, keep)).ok());
    EXPECT_EQ(3u, ledger_.log().ReadPayload(3).status().seq());
    Result<VerifyReport> report = ledger_.Verify();
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(3u, report->problem.seq()) << report->problem.ToString();
  }
}

TEST_F(LogBadInputTest, FrameWithValidChecksumButImpossibleFieldsIsCorruption) {
  Result<std::string> record = ledger_.ReadRaw(2);
  ASSERT_TRUE(record.ok());
  std::string newer_version = *record;
  newer_version[0] = static_cast<char>(kRecordVersion + 1);
  EXPECT_NE(std::string::npos,
            DecodeRecord(2, Reseal(2, newer_version)).status().message().find("version 2"));
  // A torn frame sealed again: the size field promises more payload than the record holds.
  const std::string torn = Reseal(2, record->substr(0, record->size() - 16));
  EXPECT_NE(std::string::npos, DecodeRecord(2, torn).status().message().find("does not fit"));
  // A size field over the limit, with a record that really is that long.
  std::string oversized;
  oversized.push_back(static_cast<char>(kRecordVersion));
  oversized.append(3, '\0');
  PutFixed32(&oversized, static_cast<uint32_t>(kRecordPayloadBytesMax + 8));
  oversized.append(kRecordPayloadBytesMax + 8 + kRecordTrailerBytes, '\0');
  oversized = Reseal(2, oversized);
  EXPECT_NE(std::string::npos, DecodeRecord(2, oversized).status().message().find("payload size"));
  for (const std::string& bad : {Reseal(2, newer_version), torn, oversized}) {
    ASSERT_TRUE(ledger_.WriteRaw(2, bad).ok());
    Result<VerifyReport> report = ledger_.Verify();
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->problem.IsCorruption());
    EXPECT_EQ(2u, report->problem.seq()) << report->problem.ToString();
  }
}

TEST_F(LogBadInputTest, PayloadsThatAreNotWholeWordsAreCorruption) {
  ExpectCorruption("", 9, "not a whole number of words");
  const std::string payload = RedemptionPayload(9);
  for (size_t cut = 1; cut < sizeof(capnp::word); ++cut) {
    ExpectCorruption(std::string_view(payload).substr(0, payload.size() - cut), 9, "words");
  }
}

TEST_F(LogBadInputTest, TruncatedMessagesAreCorruption) {
  const std::string payload = RedemptionPayload(9);
  for (size_t keep = sizeof(capnp::word); keep < payload.size(); keep += sizeof(capnp::word)) {
    SCOPED_TRACE("kept " + std::to_string(keep) + " bytes");
    ExpectCorruption(std::string_view(payload).substr(0, keep), 9, "undecodable event");
  }
}

TEST_F(LogBadInputTest, AbsurdSegmentTablesAreCorruption) {
  const std::string body = RedemptionPayload(9).substr(8);
  auto table = [&body](uint32_t count_minus_one, uint32_t first_size, size_t extra_words) {
    std::string out;
    PutFixed32(&out, count_minus_one);
    PutFixed32(&out, first_size);
    out.append(extra_words * 8, '\0');
    return out + body;
  };
  const uint32_t body_words = static_cast<uint32_t>(body.size() / 8);
  // Four billion segments (the count wraps to zero inside Cap'n Proto), and 601 segments of which
  // all but one are empty: Cap'n Proto would read both; the decoder's segment limit refuses them.
  ExpectCorruption(table(0xffffffff, body_words, 0), 9, "segment table claims 4294967296");
  ExpectCorruption(table(600, body_words, 300), 9, "segment table claims 601");
  ExpectCorruption(table(0, 0x7fffffff, 0), 9);      // a segment far longer than the bytes
  ExpectCorruption(table(0, body_words + 1, 0), 9);  // one word longer than the bytes
  ExpectCorruption(table(1, body_words, 0), 9);      // a second segment that is not there
  ExpectCorruption(table(0, 0, 0), 9);               // no root pointer at all
  ExpectStoredPayloadNamed(table(0, 0x7fffffff, 0), "undecodable event");
}

TEST_F(LogBadInputTest, GarbageWordsAreCorruptionNeverACrash) {
  std::mt19937_64 random(20240607);
  for (int round = 0; round < 2000; ++round) {
    std::string garbage((1 + random() % 64) * 8, '\0');
    for (char& c : garbage) c = static_cast<char>(random());
    // A plausible segment table half of the time, so the pointers behind it are tried too.
    if (round % 2 == 0) {
      garbage.replace(0, 8, std::string(8, '\0'));
      garbage[4] = static_cast<char>(garbage.size() / 8 - 1);
    }
    Result<DecodedEvent> decoded = DecodeEvent(garbage, 1);
    if (decoded.ok()) {
      EXPECT_EQ("", ReadEverything(*decoded)) << "round " << round;
    } else {
      EXPECT_TRUE(decoded.status().IsCorruption()) << decoded.status().ToString();
    }
  }
  ExpectStoredPayloadNamed(std::string(64, '\x5a'), "record 5");
}

TEST_F(LogBadInputTest, SingleBitDamageNeverYieldsAnEventThatThrowsWhenRead) {
  // Every bit of a valid message flipped in turn: DecodeEvent either refuses it or hands out an
  // event that every later read can walk without an exception.
  for (const std::string& payload : {RedemptionPayload(9), mulin::testing::SalePayload(9, 777)}) {
    int refused = 0;
    for (size_t bit = 0; bit < payload.size() * 8; ++bit) {
      const std::string damaged =
          mulin::testing::FlipByte(payload, bit / 8, static_cast<uint8_t>(1u << (bit % 8)));
      Result<DecodedEvent> decoded = DecodeEvent(damaged, 0);
      if (!decoded.ok()) {
        EXPECT_TRUE(decoded.status().IsCorruption());
        ++refused;
        continue;
      }
      EXPECT_EQ("", ReadEverything(*decoded)) << "bit " << bit << " of " << payload.size() * 8;
    }
    EXPECT_GT(refused, 0);
  }
}

// Fills every pointer field of `target` (recursively, two elements per list) with distinct text
// "t<n>~" and data, so that each text's NUL terminator can be found in the encoded bytes.
void FillPointers(capnp::DynamicStruct::Builder target, int* texts) {
  auto next_text = [texts] { return "t" + std::to_string((*texts)++) + "~"; };
  for (capnp::StructSchema::Field field : target.getSchema().getFields()) {
    if (field.getProto().isGroup()) continue;  // Event.body: the caller picks its member
    const capnp::Type type = field.getType();
    if (type.isText()) {
      target.set(field, capnp::Text::Reader(next_text()));
    } else if (type.isData()) {
      target.set(field, capnp::Data::Reader(reinterpret_cast<const kj::byte*>("\x01\x02"), 2));
    } else if (type.isStruct()) {
      FillPointers(target.init(field).as<capnp::DynamicStruct>(), texts);
    } else if (type.isList()) {
      capnp::DynamicList::Builder list = target.init(field, 2).as<capnp::DynamicList>();
      for (uint32_t i = 0; i < list.size(); ++i) {
        const capnp::Type element = type.asList().getElementType();
        if (element.isStruct()) FillPointers(list[i].as<capnp::DynamicStruct>(), texts);
        if (element.isText()) list.set(i, capnp::Text::Reader(next_text()));
      }
    }
  }
}

TEST_F(LogBadInputTest, EveryTextOfEveryEventKindIsCheckedForItsTerminator) {
  // The checking pass follows a plan derived from the schema; this proves the plan reaches every
  // text of every event kind, in envelopes, bodies, nested structs and list elements.
  int checked = 0;
  for (capnp::StructSchema::Field member :
       capnp::Schema::from<schema::Event::Body>().getUnionFields()) {
    SCOPED_TRACE(member.getProto().getName().cStr());
    capnp::MallocMessageBuilder message;
    capnp::DynamicStruct::Builder event = capnp::toDynamic(message.initRoot<schema::Event>());
    int texts = 0;
    FillPointers(event, &texts);  // the envelope's texts
    FillPointers(
        event.get("body").as<capnp::DynamicStruct>().init(member).as<capnp::DynamicStruct>(),
        &texts);
    const std::string payload = EncodeMessage(message);
    ASSERT_TRUE(DecodeEvent(payload, 0).ok()) << DecodeEvent(payload, 0).status().ToString();
    for (int n = 0; n < texts; ++n) {
      const std::string marker = "t" + std::to_string(n) + "~";
      const size_t at = payload.find(marker + '\0');
      ASSERT_NE(std::string::npos, at) << marker;
      std::string damaged = payload;
      damaged[at + marker.size()] = 'X';
      Result<DecodedEvent> decoded = DecodeEvent(damaged, 0);
      EXPECT_TRUE(decoded.status().IsCorruption()) << marker << " of " << texts;
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
}

TEST_F(LogBadInputTest, DecodedEventCanBeReadManyTimes) {
  // Projections and the writer read an event's fields more than once; the decoder's traversal
  // budget must not run out on an honest event.
  Result<DecodedEvent> decoded = DecodeEvent(RedemptionPayload(9), 9);
  ASSERT_TRUE(decoded.ok());
  for (int pass = 0; pass < 100; ++pass) {
    ASSERT_EQ("", ReadEverything(*decoded)) << "pass " << pass;
  }
}

// The largest payload the log takes: a decodable event of exactly kRecordPayloadBytesMax bytes.
std::string EventOfExactlyTheLimit(uint64_t seq) {
  for (size_t text_bytes = kRecordPayloadBytesMax - 512;; ++text_bytes) {
    // One segment big enough for all of it, so that the size grows one word per eight bytes.
    capnp::MallocMessageBuilder message(kRecordPayloadBytesMax / sizeof(capnp::word));
    auto event = message.initRoot<schema::Event>();
    event.setSeq(seq);
    event.setRecordedAtUs(static_cast<int64_t>(seq) * 1000000);
    event.getBody().initOrderCancelled().setReason(std::string(text_bytes, 'r'));
    std::string payload = EncodeMessage(message);
    if (payload.size() >= kRecordPayloadBytesMax) return payload;
  }
}

// A decoded event owns its reader and the words it reads in one allocation: moving the event (as
// vectors of decoded records do when they grow) must leave it readable, at any payload size.
TEST_F(LogBadInputTest, DecodedEventsStayReadableWhenMoved) {
  std::vector<DecodedEvent> events;
  for (uint64_t seq = 1; seq <= 200; ++seq) {
    const std::string payload = RedemptionPayload(seq);
    Result<DecodedEvent> decoded = DecodeEvent(payload, seq);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    events.push_back(std::move(decoded).value());  // grows the vector: earlier events move
  }
  for (uint64_t seq = 1; seq <= events.size(); ++seq) {
    const DecodedEvent& event = events[seq - 1];
    EXPECT_EQ(seq, event.event().getSeq());
    EXPECT_EQ("", ReadEverything(event)) << "seq " << seq;
  }
  // And one at the log's largest payload.
  Result<DecodedEvent> largest = DecodeEvent(EventOfExactlyTheLimit(7), 7);
  ASSERT_TRUE(largest.ok()) << largest.status().ToString();
  DecodedEvent moved = std::move(largest).value();
  EXPECT_EQ(7u, moved.event().getSeq());
  EXPECT_EQ("", ReadEverything(moved));
}

TEST_F(LogBadInputTest, PayloadAtTheLimitIsTakenAndOneWordMoreIsRefused) {
  const std::string at_limit = EventOfExactlyTheLimit(5);
  ASSERT_EQ(kRecordPayloadBytesMax, at_limit.size());
  ASSERT_TRUE(ledger_.log().Append({at_limit}, {}).ok());
  const Head before = ledger_.log().head();
  std::vector<std::string> batch = RedemptionPayloads(6, 2);
  batch.push_back(at_limit + std::string(8, '\0'));
  EXPECT_EQ(Code::kInvalidArgument, ledger_.log().Append(batch, {}).code());
  EXPECT_EQ(before, ledger_.log().head());
  // The refusal left no trace: the next append continues at seq 6 and the log verifies.
  ASSERT_TRUE(ledger_.AppendRedemptions(2).ok());
  ASSERT_TRUE(ledger_.Open().ok());
  EXPECT_EQ(7u, ledger_.log().head().seq);
  Result<VerifyReport> report = ledger_.Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->problem.ok()) << report->problem.ToString();
  Result<std::string> read = ledger_.log().ReadPayload(5);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(at_limit, *read);
}

TEST_F(LogBadInputTest, TooManyRecordsOrAnEmptyRequestIdAppendNothing) {
  const Head before = ledger_.log().head();
  const std::vector<std::string> too_many(kAppendRecordsMax + 1, RedemptionPayload(5));
  EXPECT_EQ(Code::kInvalidArgument, ledger_.log().Append(too_many, {}).code());
  RequestEntry empty_key;
  EXPECT_EQ(Code::kInvalidArgument,
            ledger_.log().Append(RedemptionPayloads(5, 1), {empty_key}).code());
  EXPECT_EQ(before, ledger_.log().head());
  ASSERT_TRUE(ledger_.Open().ok());
  EXPECT_EQ(before, ledger_.log().head());
  Result<std::optional<RequestRecord>> found = ledger_.log().FindRequest("");
  EXPECT_TRUE(!found.ok() || !found->has_value());
}

}  // namespace
}  // namespace mulin::ledger
