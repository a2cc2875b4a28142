// Fuzz target: the bytes a peer sends to `mulin serve`, read as the service reads them: a stream of
// Cap'n Proto messages under the service's ReaderOptions, each an rpc::Message whose call
// parameters are then read as every method of the service would read them. Reading must end in a
// value or a KJ exception (the service then drops that connection), never a crash, a hang or an
// allocation beyond the limits.
#include <capnp/rpc.capnp.h>
#include <capnp/serialize.h>
#include <kj/io.h>

#include <cstdint>

#include "ledger/event_codec.h"
#include "tools/mulin/service.h"

namespace {

// A peer's stream holds many messages; a bound keeps one input's work finite.
constexpr int kMessagesMax = 64;

template <typename Params>
void ReadAs(capnp::AnyPointer::Reader content) {
  const kj::String text = kj::str(content.getAs<Params>());
  (void)text;
}

// Reads a call's parameters as each method of service.capnp would.
void ReadParams(capnp::AnyPointer::Reader content) {
  using namespace mulin::schema;  // NOLINT(build/namespaces): the service's generated types
  ReadAs<Gateway::LoginParams>(content);
  ReadAs<Terminal::BalanceParams>(content);
  ReadAs<Terminal::RedeemParams>(content);
  ReadAs<Terminal::ReverseParams>(content);
  ReadAs<Terminal::RecordSaleParams>(content);
  ReadAs<Auditor::EventsParams>(content);
  // Operator.execute copies the command into a message of its own for the writer.
  capnp::MallocMessageBuilder copy;
  copy.setRoot(content.getAs<Operator::ExecuteParams>().getCommand());
  const std::string bytes = mulin::ledger::EncodeMessage(copy);
  (void)bytes;
}

void ReadMessage(capnp::rpc::Message::Reader message) {
  const kj::String text = kj::str(message);
  (void)text;
  if (message.isCall()) ReadParams(message.getCall().getParams().getContent());
  if (message.isReturn() && message.getReturn().isResults()) {
    ReadParams(message.getReturn().getResults().getContent());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  capnp::ReaderOptions options;  // as AcceptLoop gives every connection
  options.traversalLimitInWords = mulin::service::kPeerMessageWordsMax;
  options.nestingLimit = mulin::service::kPeerNestingMax;
  kj::ArrayInputStream input(kj::arrayPtr(data, size));
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&] {
                 for (int i = 0; i < kMessagesMax && input.tryGetReadBuffer().size() > 0; ++i) {
                   capnp::InputStreamMessageReader reader(input, options);
                   ReadMessage(reader.getRoot<capnp::rpc::Message>());
                 }
               })) {
    // Refused: the service drops the connection that sent it.
  }
  return 0;
}
