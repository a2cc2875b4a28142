#include "ledger/command_decode.h"

#include <capnp/any.h>
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
// capnp::canonicalize makes the canonical copy, walks it again to assert that it is canonical, and
// copies it into a second array; the walk and the second copy were a third of decoding a
// redemption (callgrind: 10.1k of its instructions before, 6.9k after). This makes the same copy
// once, into space the thread keeps, and hashes it where it lies: the bytes capnp::canonicalize
// returns (command_decode_test compares them).
//
// The space is not sized by walking the command first (`totalSize()`, 0.8k instructions of a
// redemption's decoding): every object the copy reads is counted against the reader's traversal
// limit, and the copy holds no more than it read, so `traversal_limit_words` and the root pointer
// always fit. A builder assumes zeroed space (text padding and absent fields are not written): the
// space stays zeroed between commands, each copy clearing the words it wrote, and a copy that
// fails part-way, on a malformed command, all of them.
ContentHash HashCommand(schema::Command::Reader command, size_t traversal_limit_words) {
  thread_local kj::Array<capnp::word> scratch;  // all zero between calls
  const size_t words = traversal_limit_words + 1;
  if (scratch.size() < words) {
    scratch = kj::heapArray<capnp::word>(words);
    std::memset(scratch.begin(), 0, scratch.asBytes().size());
  }
  kj::ArrayPtr<const capnp::byte> canonical;
  try {
    capnp::FlatMessageBuilder copy(scratch.slice(0, words));
    copy.getRoot<capnp::AnyPointer>().setCanonicalAs<schema::Command>(command);
    canonical = copy.getSegmentsForOutput()[0].asBytes();
  } catch (...) {
    std::memset(scratch.begin(), 0, words * sizeof(capnp::word));
    throw;
  }
  ContentHash hash;
  crypto_generichash(hash.data(), hash.size(), canonical.begin(), canonical.size(), nullptr, 0);
  std::memset(scratch.begin(), 0, canonical.size());  // the copy's one segment starts there
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
                 out->hash = HashCommand(out->command, options.traversalLimitInWords);
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
