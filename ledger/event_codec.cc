#include "ledger/event_codec.h"

#include <capnp/schema.h>
#include <kj/exception.h>

#include <cstring>
#include <new>

#include "ledger/event_check.h"
#include "ledger/record_format.h"

namespace mulin::ledger {
namespace {

// Slack over the message's own size in the checking pass: the root pointer and list tags that the
// read limiter counts besides the objects themselves.
constexpr uint64_t kTraversalSlackWords = 64;
// Callers may read a decoded event this many times over (projections and the writer read fields
// more than once); the checking pass has proved one full read costs no more than the message.
constexpr uint64_t kEventReadPassesMax = 1024;

std::string Where(uint64_t seq) { return "record " + std::to_string(seq) + ": "; }

// Checks that need only the bytes: whole words, and a segment table within the limit.
Status CheckFraming(std::string_view payload, uint64_t seq) {
  if (payload.size() % sizeof(capnp::word) != 0 || payload.empty()) {
    return Status::Corruption(Where(seq) + "payload of " + std::to_string(payload.size()) +
                                  " bytes is not a whole number of words",
                              seq);
  }
  // The segment count is the first u32 of the table, minus one (it wraps for 0xffffffff).
  const uint64_t segments = uint64_t{GetFixed32(payload.data())} + 1;
  if (segments > kEventSegmentsMax) {
    return Status::Corruption(Where(seq) + "segment table claims " + std::to_string(segments) +
                                  " segments (at most " + std::to_string(kEventSegmentsMax) + ")",
                              seq);
  }
  return Status::Ok();
}

// The checking pass, on aligned `words`: a reader whose traversal budget is two honest reads of
// the message. Reading every known pointer the way callers' getters do (ledger/event_check.h)
// makes malformed pointers, pointers of the wrong kind and text without its NUL fail here; the
// same walk goes through pointers this build has no field for, as a copy of the event would, and
// counts the words of every object it reaches. An amplified message (objects reached more than
// once) is refused by that count, so that one full read of an event that passes costs no more than
// the message: an event whose objects come to more than it is a Corruption, and a heavily
// amplified one runs out of this small budget before that is known. Then the body kind must be
// known and the envelope seq (when seq != 0) equal to `seq`. Returns the recorded time.
Result<int64_t> CheckWords(kj::ArrayPtr<const capnp::word> words, uint64_t seq) {
  uint16_t kind = 0;
  uint64_t envelope_seq = 0;
  int64_t recorded_at_us = 0;
  uint64_t object_words = 0;
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
                 capnp::ReaderOptions options;
                 options.traversalLimitInWords = 2 * words.size() + kTraversalSlackWords;
                 options.nestingLimit = kEventNestingMax;
                 capnp::FlatArrayMessageReader reader(words, options);
                 const capnp::AnyStruct::Reader root = reader.getRoot<capnp::AnyStruct>();
                 object_words = internal::ReadEveryPointer(root);
                 if (object_words > words.size()) return;
                 // The root as an Event, without reading its pointer again (it was checked).
                 schema::Event::Reader event = root.as<schema::Event>();
                 kind = static_cast<uint16_t>(event.getBody().which());
                 envelope_seq = event.getSeq();
                 recorded_at_us = event.getRecordedAtUs();
               })) {
    return Status::Corruption(
        Where(seq) + "undecodable event: " + std::string(exception->getDescription().cStr()), seq);
  }
  if (object_words > words.size()) {
    return Status::Corruption(Where(seq) + "undecodable event: its objects come to " +
                                  std::to_string(object_words) + " words in a message of " +
                                  std::to_string(words.size()) + " (pointers share objects)",
                              seq);
  }
  if (kind > static_cast<uint16_t>(kLastKnownEventKind)) {
    return Status::Corruption(Where(seq) + "unknown event kind " + std::to_string(kind) +
                                  " (written by a newer version of mulin?)",
                              seq);
  }
  if (seq != 0 && envelope_seq != seq) {
    return Status::Corruption(Where(seq) + "envelope says seq " + std::to_string(envelope_seq),
                              seq);
  }
  return recorded_at_us;
}

}  // namespace

// A decoded event's reader, followed in the same allocation by the words it reads. Each decoded
// event used to take two allocations (the words, then the reader) and free both: about 470 of the
// 8.8k instructions an event of the fold's reading thread (callgrind).
struct DecodedEvent::Block {
  Block(kj::ArrayPtr<const capnp::word> words, const capnp::ReaderOptions& options)
      : reader(words, options) {}
  capnp::FlatArrayMessageReader reader;
};

namespace {

// Raw memory for a Block and `words` words after it; freed as raw memory until a Block lives in it.
struct RawDeleter {
  void operator()(void* raw) const { ::operator delete(raw); }
};

}  // namespace

void DecodedEvent::BlockDeleter::operator()(Block* block) const {
  block->~Block();
  ::operator delete(block);
}

Result<DecodedEvent> DecodeEvent(std::string_view payload, uint64_t seq) {
  MULIN_RETURN_IF_ERROR(CheckFraming(payload, seq));
  // Stored bytes carry no alignment guarantee; Cap'n Proto readers need 8-byte alignment.
  static_assert(sizeof(DecodedEvent::Block) % alignof(capnp::word) == 0,
                "the words after a Block must be aligned for Cap'n Proto");
  const size_t word_count = payload.size() / sizeof(capnp::word);
  std::unique_ptr<void, RawDeleter> raw(
      ::operator new(sizeof(DecodedEvent::Block) + payload.size()));
  capnp::word* words =
      reinterpret_cast<capnp::word*>(static_cast<char*>(raw.get()) + sizeof(DecodedEvent::Block));
  std::memcpy(words, payload.data(), payload.size());
  const kj::ArrayPtr<const capnp::word> message(words, word_count);
  Result<int64_t> checked = CheckWords(message, seq);
  if (!checked.ok()) return checked.status();
  // The checks proved one full read costs no more than the message; callers get many reads.
  capnp::ReaderOptions options;
  options.traversalLimitInWords = (word_count + kTraversalSlackWords) * kEventReadPassesMax;
  options.nestingLimit = kEventNestingMax;
  DecodedEvent decoded;
  decoded.block_.reset(new (raw.get()) DecodedEvent::Block(message, options));
  raw.release();  // the Block owns it now
  decoded.event_ = decoded.block_->reader.getRoot<schema::Event>();
  return decoded;
}

Result<int64_t> EventChecker::Check(std::string_view payload, uint64_t seq) {
  MULIN_RETURN_IF_ERROR(CheckFraming(payload, seq));
  const size_t words = payload.size() / sizeof(capnp::word);
  if (words_.size() < words) words_ = kj::heapArray<capnp::word>(words);
  std::memcpy(words_.begin(), payload.data(), payload.size());
  return CheckWords(kj::ArrayPtr<const capnp::word>(words_.begin(), words), seq);
}

std::string EncodeMessage(capnp::MessageBuilder& message) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  kj::ArrayPtr<const char> bytes = words.asChars();
  return std::string(bytes.begin(), bytes.size());
}

const char* EventKindName(schema::Event::Body::Which kind) {
  using W = schema::Event::Body::Which;
  switch (kind) {
    case W::COMMUNITY_REGISTERED:
      return "communityRegistered";
    case W::MEMBER_REGISTERED:
      return "memberRegistered";
    case W::MERCHANT_REGISTERED:
      return "merchantRegistered";
    case W::PROJECT_REGISTERED:
      return "projectRegistered";
    case W::TERMINAL_REGISTERED:
      return "terminalRegistered";
    case W::RULES_CHANGED:
      return "rulesChanged";
    case W::ORDER_PLACED:
      return "orderPlaced";
    case W::ORDER_DISPATCHED:
      return "orderDispatched";
    case W::ORDER_ACCEPTED:
      return "orderAccepted";
    case W::ORDER_DELIVERED:
      return "orderDelivered";
    case W::ORDER_RATED:
      return "orderRated";
    case W::ORDER_CANCELLED:
      return "orderCancelled";
    case W::POINTS_CREDITED:
      return "pointsCredited";
    case W::POINTS_HELD:
      return "pointsHeld";
    case W::HELD_POINTS_APPROVED:
      return "heldPointsApproved";
    case W::HELD_POINTS_REJECTED:
      return "heldPointsRejected";
    case W::POINTS_REDEEMED:
      return "pointsRedeemed";
    case W::REDEMPTION_REVERSED:
      return "redemptionReversed";
    case W::SALE_RECORDED:
      return "saleRecorded";
    case W::SALE_REVERSED:
      return "saleReversed";
    case W::PAYOUT_REQUESTED:
      return "payoutRequested";
    case W::PAYOUT_APPROVED:
      return "payoutApproved";
    case W::PAYOUT_REJECTED:
      return "payoutRejected";
    case W::ADJUSTMENT:
      return "adjustment";
    case W::CREDENTIAL_ISSUED:
      return "credentialIssued";
    case W::CREDENTIAL_REVOKED:
      return "credentialRevoked";
  }
  return "unknown";
}

}  // namespace mulin::ledger
