// Fuzz target: the bytes of a stored record, as a failing disk or a forger may leave them.
// DecodeRecord and DecodeEvent must answer ok or an error, never crash, hang or read out of bounds;
// an event they accept must then be usable by every reader of stored events: the JSON export, the
// postings, and EvolveChecked (which must refuse what does not apply rather than abort).
//
// The first input byte picks how the rest is used: as a whole record read as seq 1 to 4 (the
// checksum rarely holds, which tests the framing checks); as a payload framed with a correct
// checksum (which gets past the frame to the event decoder); or as a payload decoded directly.
#include <capnp/compat/json.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/domain/evolve.h"
#include "ledger/domain/postings.h"
#include "ledger/domain/state.h"
#include "ledger/event_codec.h"
#include "ledger/record_format.h"

namespace {

void UseEvent(const mulin::ledger::DecodedEvent& decoded) {
  auto event = decoded.event();
  capnp::JsonCodec codec;
  // DecodeEvent promises reads without exceptions; a throw here escapes and fails the run.
  const kj::String json = codec.encode(event);
  (void)json;
  (void)mulin::ledger::EventKindName(event.getBody().which());
  (void)mulin::domain::Postings(event);
  mulin::domain::State state;
  mulin::domain::EvolveChecked(&state, event).IgnoreError();
}

void DecodePayload(std::string_view payload, uint64_t seq) {
  mulin::Result<mulin::ledger::DecodedEvent> event = mulin::ledger::DecodeEvent(payload, seq);
  if (event.ok()) UseEvent(*event);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0] % 3;
  const uint64_t seq = 1 + (data[0] >> 2) % 4;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (mode == 0) {
    mulin::Result<mulin::ledger::RecordView> view = mulin::ledger::DecodeRecord(seq, rest);
    if (view.ok()) DecodePayload(view->payload, seq);
  } else if (mode == 1) {
    if (rest.size() > mulin::ledger::kRecordPayloadBytesMax) return 0;
    std::string record;
    mulin::ledger::EncodeRecord(seq, rest, mulin::ledger::kGenesisChain, &record);
    mulin::Result<mulin::ledger::RecordView> view = mulin::ledger::DecodeRecord(seq, record);
    // A record framed by EncodeRecord always reads back, byte for byte.
    if (!view.ok() || view->payload != rest) __builtin_trap();
    DecodePayload(view->payload, seq);
  } else {
    DecodePayload(rest, 0);
  }
  return 0;
}
