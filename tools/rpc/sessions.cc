#include "tools/rpc/sessions.h"

#include <capnp/rpc-twoparty.h>
#include <spdlog/spdlog.h>

#include "tools/rpc/buffered_stream.h"

namespace mulin::rpc {
namespace {

struct Session {
  Session(kj::Own<kj::AsyncIoStream> s, capnp::Capability::Client bootstrap,
          capnp::ReaderOptions options)
      : stream(kj::heap<BufferedStream>(kj::mv(s))),
        network(*stream, capnp::rpc::twoparty::Side::SERVER, options),
        rpc(capnp::makeRpcServer(network, kj::mv(bootstrap))) {}
  kj::Own<kj::AsyncIoStream> stream;
  capnp::TwoPartyVatNetwork network;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc;
};

}  // namespace

void Sessions::Errors::taskFailed(kj::Exception&& exception) {
  spdlog::info("session ended with error: {}", exception.getDescription().cStr());
}

Sessions::Sessions() : tasks_(errors_) {}
Sessions::~Sessions() = default;

kj::Promise<void> Sessions::Accept(kj::ConnectionReceiver& listener,
                                   capnp::Capability::Client bootstrap,
                                   capnp::ReaderOptions options) {
  return listener.accept().then(
      [this, &listener, bootstrap, options](kj::Own<kj::AsyncIoStream>&& stream) mutable {
        const uint64_t id = next_id_++;
        spdlog::info("connection {} opened", id);
        auto session = kj::heap<Session>(kj::mv(stream), bootstrap, options);
        auto& network = session->network;
        tasks_.add(network.onDisconnect().attach(kj::mv(session)).then([id] {
          spdlog::info("connection {} closed", id);
        }));
        return Accept(listener, kj::mv(bootstrap), options);
      });
}

}  // namespace mulin::rpc
