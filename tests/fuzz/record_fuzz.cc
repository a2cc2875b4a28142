// Fuzz target: the bytes of a stored record, as a failing disk or a forger may leave them.
// DecodeRecord and DecodeEvent must answer ok or an error, never crash, hang or read out of bounds;
// an event they accept must then be usable by every reader of stored events: the JSON export, the
// postings, and EvolveChecked (which must refuse what does not apply rather than abort).
//
// Whatever the outcome, the checking pass's one walk must count the words that Cap'n Proto's
// totalSize() counts, wherever both finish.
//
// The first input byte picks how the rest is used: as a whole record read as seq 1 to 4 (the
// checksum rarely holds, which tests the framing checks); as a payload framed with a correct
// checksum (which gets past the frame to the event decoder); or as a payload decoded directly.
#include <capnp/compat/json.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "ledger/domain/evolve.h"
#include "ledger/domain/postings.h"
#include "ledger/domain/state.h"
#include "ledger/event_check.h"
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

void CompareWordCounts(std::string_view payload) {
  if (payload.empty() || payload.size() % sizeof(capnp::word) != 0) return;
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(payload.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), payload.data(), payload.size());
  // The checking pass's limits: with Cap'n Proto's defaults an amplified input walks megabytes.
  capnp::ReaderOptions options;
  options.traversalLimitInWords = 2 * words.size() + 64;
  options.nestingLimit = mulin::ledger::kEventNestingMax;
  uint64_t walked = 0;
  uint64_t counted = 0;
  const bool walk_ok =
      kj::runCatchingExceptions([&] {
        capnp::FlatArrayMessageReader reader(words, options);
        walked = mulin::ledger::internal::ReadEveryPointer(reader.getRoot<capnp::AnyStruct>());
      }) == nullptr;
  const bool count_ok = kj::runCatchingExceptions([&] {
                          capnp::FlatArrayMessageReader reader(words, options);
                          counted = reader.getRoot<capnp::AnyStruct>().totalSize().wordCount;
                        }) == nullptr;
  if (walk_ok && count_ok && walked != counted) __builtin_trap();
}

void DecodePayload(std::string_view payload, uint64_t seq) {
  CompareWordCounts(payload);
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
