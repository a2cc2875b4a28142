// A command as the writer takes it: decoded within explicit limits from untrusted bytes, with its
// request key (idempotency) and content hash, and the receipt it names. Decoding is a pure
// function of the bytes, so it runs on the submitting thread, not the writer's.
// Thread-safety: a DecodedCommand is owned by one thread at a time.
#ifndef MULIN_LEDGER_COMMAND_DECODE_H_
#define MULIN_LEDGER_COMMAND_DECODE_H_

#include <capnp/serialize.h>

#include <memory>
#include <string>

#include "ledger/event_log.h"
#include "ledger/schema/command.capnp.h"
#include "ledger/status.h"

namespace mulin::ledger {

// A command is a few hundred bytes; a delivery with many volunteers a few KiB.
inline constexpr size_t kCommandBytesMax = 64 * 1024;
inline constexpr int kCommandNestingMax = 16;

struct DecodedCommand {
  kj::Array<capnp::word> words;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader;
  schema::Command::Reader command;
  std::string key;
  std::string receipt_key;  // the redemption or sale it names, or ""
  ContentHash hash;
};

// Commands come from outside (CLI, import, RPC): decodes `bytes` within explicit limits and
// touches every pointer once (canonicalize), so that a malformed message fails here and nowhere
// later. Errors are kInvalidArgument with a message for the sender.
Status DecodeCommand(const std::string& bytes, DecodedCommand* out);

}  // namespace mulin::ledger

#endif  // MULIN_LEDGER_COMMAND_DECODE_H_
