// Encoding and decoding of Event payloads (ledger/schema/event.capnp) at the log's boundary.
//
// Stored bytes are untrusted: decoding applies explicit Cap'n Proto limits, turns KJ exceptions into
// kCorruption, and refuses union members this build does not know.
// Thread-safety: pure functions; a DecodedEvent is owned by one thread at a time.
#ifndef MULIN_LEDGER_EVENT_CODEC_H_
#define MULIN_LEDGER_EVENT_CODEC_H_

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <memory>
#include <string>
#include <string_view>

#include "ledger/schema/event.capnp.h"
#include "ledger/status.h"

namespace mulin::ledger {

// Nesting in our schema is shallow (Event → body → list → struct); anything deeper is hostile.
inline constexpr int kEventNestingMax = 16;

// The highest Event.body member this build knows.
inline constexpr schema::Event::Body::Which kLastKnownEventKind =
    schema::Event::Body::CREDENTIAL_REVOKED;

// A decoded event that owns its (aligned copy of the) bytes.
class DecodedEvent {
 public:
  schema::Event::Reader event() const { return event_; }

 private:
  friend Result<DecodedEvent> DecodeEvent(std::string_view payload, uint64_t seq);
  kj::Array<capnp::word> words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
  schema::Event::Reader event_;
};

// Decodes and checks one payload: a single-segment-or-more message within limits, a known body
// kind, and (when seq != 0) an envelope seq equal to `seq`. Errors are kCorruption naming seq.
Result<DecodedEvent> DecodeEvent(std::string_view payload, uint64_t seq);

// Serialises a built message as a payload for EventLog::Append.
std::string EncodeMessage(capnp::MessageBuilder& message);

// A short name for an event kind: "pointsRedeemed", "saleRecorded", ...
const char* EventKindName(schema::Event::Body::Which kind);

}  // namespace mulin::ledger

#endif  // MULIN_LEDGER_EVENT_CODEC_H_
