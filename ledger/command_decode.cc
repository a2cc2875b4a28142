#include "ledger/command_decode.h"

#include <capnp/message.h>
#include <kj/exception.h>
#include <sodium.h>

#include <cstring>

#include "ledger/receipt_index.h"

namespace mulin::ledger {
namespace {

// The request key scopes a client's request id to its actor: two terminals may both use "r-1".
std::string RequestKey(schema::Command::Reader command) {
  std::string key(command.getActorId().cStr(), command.getActorId().size());
  key.push_back('\x1f');
  key.append(command.getRequestId().cStr(), command.getRequestId().size());
  return key;
}

// BLAKE2b-256 over the canonical form, so that equal content hashes equally however it was built.
ContentHash HashCommand(schema::Command::Reader command) {
  kj::Array<capnp::word> canonical = capnp::canonicalize(command);
  ContentHash hash;
  crypto_generichash(hash.data(), hash.size(), canonical.asBytes().begin(),
                     canonical.asBytes().size(), nullptr, 0);
  return hash;
}

}  // namespace

Status DecodeCommand(const std::string& bytes, DecodedCommand* out) {
  if (bytes.empty() || bytes.size() > kCommandBytesMax || bytes.size() % sizeof(capnp::word)) {
    return Status::InvalidArgument("command of " + std::to_string(bytes.size()) +
                                   " bytes is not a message within the " +
                                   std::to_string(kCommandBytesMax) + "-byte limit");
  }
  out->words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(out->words.begin(), bytes.data(), bytes.size());
  capnp::ReaderOptions options;
  options.traversalLimitInWords = out->words.size() * 4 + 64;
  options.nestingLimit = kCommandNestingMax;
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&] {
                 out->reader = std::make_unique<capnp::FlatArrayMessageReader>(out->words, options);
                 out->command = out->reader->getRoot<schema::Command>();
                 out->hash = HashCommand(out->command);
               })) {
    return Status::InvalidArgument("malformed command: " +
                                   std::string(exception->getDescription().cStr()));
  }
  if (out->command.getRequestId().size() == 0 || out->command.getActorId().size() == 0) {
    return Status::InvalidArgument("every command needs a request id and an actor id");
  }
  out->key = RequestKey(out->command);
  out->receipt_key = ReceiptKeyOf(out->command);
  if (out->key.size() > kRequestKeyBytesMax) {
    return Status::InvalidArgument("actor id and request id together exceed " +
                                   std::to_string(kRequestKeyBytesMax) + " bytes");
  }
  return Status::Ok();
}

}  // namespace mulin::ledger
