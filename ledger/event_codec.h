// Encoding and decoding of Event payloads (ledger/schema/event.capnp) at the log's boundary.
//
// Stored bytes are untrusted: decoding applies explicit Cap'n Proto limits, turns KJ exceptions
// into kCorruption, and refuses union members this build does not know.
// Thread-safety: pure functions; a DecodedEvent is owned by one thread at a time.
#ifndef MULIN_LEDGER_EVENT_CODEC_H_
#define MULIN_LEDGER_EVENT_CODEC_H_

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/schema/event.capnp.h"
#include "ledger/status.h"

namespace mulin::ledger {

// Nesting in our schema is shallow (Event → body → list → struct); anything deeper is hostile.
inline constexpr int kEventNestingMax = 16;
// A MallocMessageBuilder grows each new segment, so even a payload at kRecordPayloadBytesMax has a
// handful of segments; a table claiming more is damaged or hostile.
inline constexpr uint64_t kEventSegmentsMax = 64;

// The highest Event.body member this build knows.
inline constexpr schema::Event::Body::Which kLastKnownEventKind =
    schema::Event::Body::CREDENTIAL_REVOKED;

// A decoded event that owns its (aligned copy of the) bytes.
class DecodedEvent {
 public:
  schema::Event::Reader event() const { return event_; }

 private:
  friend Result<DecodedEvent> DecodeEvent(std::string_view payload, uint64_t seq);
  // The reader and, right after it, the aligned copy of the payload it reads: one allocation an
  // event instead of two (event_codec.cc).
  struct Block;
  struct BlockDeleter {
    void operator()(Block* block) const;
  };
  std::unique_ptr<Block, BlockDeleter> block_;
  schema::Event::Reader event_;
};

// Decodes and checks one payload: a message within limits whose every known field reads without
// an exception (pointers in bounds and of the right kind, text NUL-terminated), a known body kind,
// and (when seq != 0) an envelope seq equal to `seq`. Errors are kCorruption naming seq. Callers
// may read the event many times over (up to a generous traversal budget) without exceptions.
Result<DecodedEvent> DecodeEvent(std::string_view payload, uint64_t seq);

// Runs every check of DecodeEvent on one payload after another, reusing one aligned buffer, for
// scans that look at every record (Verify) and need no reader afterwards.
// Thread-safety: one thread at a time per checker.
class EventChecker {
 public:
  // The same checks and errors as DecodeEvent; on success, the event's recordedAtUs.
  Result<int64_t> Check(std::string_view payload, uint64_t seq);

 private:
  // Grows to the largest payload seen. A kj::Array, as capnp::word is neither copyable nor
  // movable and so cannot be a std::vector element (GCC lets it pass, clang does not).
  kj::Array<capnp::word> words_;
};

// Serialises a built message as a payload for EventLog::Append.
std::string EncodeMessage(capnp::MessageBuilder& message);

// A short name for an event kind: "pointsRedeemed", "saleRecorded", ...
const char* EventKindName(schema::Event::Body::Which kind);

}  // namespace mulin::ledger

#endif  // MULIN_LEDGER_EVENT_CODEC_H_
