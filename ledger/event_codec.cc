#include "ledger/event_codec.h"

#include <capnp/schema.h>
#include <kj/exception.h>

#include <cstring>

namespace mulin::ledger {

Result<DecodedEvent> DecodeEvent(std::string_view payload, uint64_t seq) {
  const std::string where = "record " + std::to_string(seq) + ": ";
  if (payload.size() % sizeof(capnp::word) != 0 || payload.empty()) {
    return Status::Corruption(where + "payload of " + std::to_string(payload.size()) +
                                  " bytes is not a whole number of words",
                              seq);
  }
  DecodedEvent decoded;
  // Stored bytes carry no alignment guarantee; Cap'n Proto readers need 8-byte alignment.
  decoded.words_ = kj::heapArray<capnp::word>(payload.size() / sizeof(capnp::word));
  std::memcpy(decoded.words_.begin(), payload.data(), payload.size());
  capnp::ReaderOptions options;
  // A well-formed message is read once: its words bound the traversal honestly.
  options.traversalLimitInWords = decoded.words_.size() * 2 + 64;
  options.nestingLimit = kEventNestingMax;
  KJ_IF_MAYBE(exception, kj::runCatchingExceptions([&]() {
                decoded.reader_ =
                    std::make_unique<capnp::FlatArrayMessageReader>(decoded.words_, options);
                decoded.event_ = decoded.reader_->getRoot<schema::Event>();
                // Touch every field once so that malformed pointers fail here, not in a caller.
                capnp::MessageSize size = decoded.event_.totalSize();
                (void)size;
              })) {
    return Status::Corruption(where + "undecodable event: " +
                                  std::string(exception->getDescription().cStr()),
                              seq);
  }
  const auto kind = decoded.event_.getBody().which();
  if (static_cast<uint16_t>(kind) > static_cast<uint16_t>(kLastKnownEventKind)) {
    return Status::Corruption(
        where + "unknown event kind " + std::to_string(static_cast<uint16_t>(kind)) +
            " (written by a newer version of mulin?)",
        seq);
  }
  if (seq != 0 && decoded.event_.getSeq() != seq) {
    return Status::Corruption(where + "envelope says seq " +
                                  std::to_string(decoded.event_.getSeq()),
                              seq);
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
    case W::COMMUNITY_REGISTERED: return "communityRegistered";
    case W::MEMBER_REGISTERED: return "memberRegistered";
    case W::MERCHANT_REGISTERED: return "merchantRegistered";
    case W::PROJECT_REGISTERED: return "projectRegistered";
    case W::TERMINAL_REGISTERED: return "terminalRegistered";
    case W::RULES_CHANGED: return "rulesChanged";
    case W::ORDER_PLACED: return "orderPlaced";
    case W::ORDER_DISPATCHED: return "orderDispatched";
    case W::ORDER_ACCEPTED: return "orderAccepted";
    case W::ORDER_DELIVERED: return "orderDelivered";
    case W::ORDER_RATED: return "orderRated";
    case W::ORDER_CANCELLED: return "orderCancelled";
    case W::POINTS_CREDITED: return "pointsCredited";
    case W::POINTS_HELD: return "pointsHeld";
    case W::HELD_POINTS_APPROVED: return "heldPointsApproved";
    case W::HELD_POINTS_REJECTED: return "heldPointsRejected";
    case W::POINTS_REDEEMED: return "pointsRedeemed";
    case W::REDEMPTION_REVERSED: return "redemptionReversed";
    case W::SALE_RECORDED: return "saleRecorded";
    case W::SALE_REVERSED: return "saleReversed";
    case W::PAYOUT_REQUESTED: return "payoutRequested";
    case W::PAYOUT_APPROVED: return "payoutApproved";
    case W::PAYOUT_REJECTED: return "payoutRejected";
    case W::ADJUSTMENT: return "adjustment";
    case W::CREDENTIAL_ISSUED: return "credentialIssued";
    case W::CREDENTIAL_REVOKED: return "credentialRevoked";
  }
  return "unknown";
}

}  // namespace mulin::ledger
