#include "ledger/event_codec.h"

#include <capnp/dynamic.h>
#include <capnp/schema.h>
#include <kj/exception.h>

#include <cstring>

#include "ledger/record_format.h"

namespace mulin::ledger {
namespace {

// Slack over the message's own size in the checking pass: the root pointer and list tags that the
// read limiter counts besides the objects themselves.
constexpr uint64_t kTraversalSlackWords = 64;
// Callers may read a decoded event this many times over (projections and the writer read fields
// more than once); the checking pass has proved one full read costs no more than the message.
constexpr uint64_t kEventReadPassesMax = 1024;

void ReadPointers(capnp::DynamicStruct::Reader reader);

// Reads a value the way a caller's getter would: `get` has already bounds-checked the pointer and,
// for text, its NUL terminator; structs and lists of pointers are walked further.
void ReadValue(const capnp::DynamicValue::Reader& value) {
  switch (value.getType()) {
    case capnp::DynamicValue::STRUCT:
      ReadPointers(value.as<capnp::DynamicStruct>());
      break;
    case capnp::DynamicValue::LIST: {
      capnp::DynamicList::Reader list = value.as<capnp::DynamicList>();
      switch (list.getSchema().whichElementType()) {
        case capnp::schema::Type::TEXT:
        case capnp::schema::Type::DATA:
        case capnp::schema::Type::LIST:
        case capnp::schema::Type::STRUCT:
        case capnp::schema::Type::ANY_POINTER:
          for (capnp::DynamicValue::Reader element : list) ReadValue(element);
          break;
        default:
          break;  // lists of numbers and enums: any bits are a value
      }
      break;
    }
    case capnp::DynamicValue::ANY_POINTER:
      (void)value.as<capnp::AnyPointer>().targetSize();
      break;
    default:
      break;
  }
}

void ReadPointers(capnp::DynamicStruct::Reader reader) {
  auto read_field = [&reader](capnp::StructSchema::Field field) {
    switch (field.getType().which()) {
      case capnp::schema::Type::TEXT:
      case capnp::schema::Type::DATA:
      case capnp::schema::Type::LIST:
      case capnp::schema::Type::STRUCT:  // also groups, such as Event.body
      case capnp::schema::Type::ANY_POINTER:
        ReadValue(reader.get(field));
        break;
      default:
        break;  // data fields: any bits are a value
    }
  };
  for (capnp::StructSchema::Field field : reader.getSchema().getNonUnionFields()) {
    read_field(field);
  }
  KJ_IF_MAYBE (field, reader.which()) {
    read_field(*field);
  }
}

// The checking pass: a reader whose traversal budget is one honest read of the message. Reading
// every known field the way callers do makes malformed pointers, pointers of the wrong kind and
// text without its NUL fail here; totalSize() also walks pointers this build has no field for, as
// a copy of the event would. An amplified message (objects reached more than once) runs out of
// budget. Throws kj::Exception on any of these.
void CheckMessage(kj::ArrayPtr<const capnp::word> words) {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = 2 * words.size() + kTraversalSlackWords;
  options.nestingLimit = kEventNestingMax;
  capnp::FlatArrayMessageReader reader(words, options);
  schema::Event::Reader event = reader.getRoot<schema::Event>();
  (void)event.totalSize();
  ReadPointers(capnp::toDynamic(event));
}

}  // namespace

Result<DecodedEvent> DecodeEvent(std::string_view payload, uint64_t seq) {
  auto where = [seq] { return "record " + std::to_string(seq) + ": "; };
  if (payload.size() % sizeof(capnp::word) != 0 || payload.empty()) {
    return Status::Corruption(where() + "payload of " + std::to_string(payload.size()) +
                                  " bytes is not a whole number of words",
                              seq);
  }
  // The segment count is the first u32 of the table, minus one (it wraps for 0xffffffff).
  const uint64_t segments = uint64_t{GetFixed32(payload.data())} + 1;
  if (segments > kEventSegmentsMax) {
    return Status::Corruption(where() + "segment table claims " + std::to_string(segments) +
                                  " segments (at most " + std::to_string(kEventSegmentsMax) + ")",
                              seq);
  }
  DecodedEvent decoded;
  // Stored bytes carry no alignment guarantee; Cap'n Proto readers need 8-byte alignment.
  decoded.words_ = kj::heapArray<capnp::word>(payload.size() / sizeof(capnp::word));
  std::memcpy(decoded.words_.begin(), payload.data(), payload.size());
  capnp::ReaderOptions options;
  options.traversalLimitInWords =
      (decoded.words_.size() + kTraversalSlackWords) * kEventReadPassesMax;
  options.nestingLimit = kEventNestingMax;
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
                 CheckMessage(decoded.words_);
                 decoded.reader_ =
                     std::make_unique<capnp::FlatArrayMessageReader>(decoded.words_, options);
                 decoded.event_ = decoded.reader_->getRoot<schema::Event>();
               })) {
    return Status::Corruption(
        where() + "undecodable event: " + std::string(exception->getDescription().cStr()), seq);
  }
  const auto kind = decoded.event_.getBody().which();
  if (static_cast<uint16_t>(kind) > static_cast<uint16_t>(kLastKnownEventKind)) {
    return Status::Corruption(where() + "unknown event kind " +
                                  std::to_string(static_cast<uint16_t>(kind)) +
                                  " (written by a newer version of mulin?)",
                              seq);
  }
  if (seq != 0 && decoded.event_.getSeq() != seq) {
    return Status::Corruption(
        where() + "envelope says seq " + std::to_string(decoded.event_.getSeq()), seq);
  }
  return decoded;
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
