// What the service tests connect with: a credential, a client holding a logged-in session, and a
// connection made once before client threads start.
#ifndef MULIN_TESTS_TOOLS_SERVICE_CLIENT_H_
#define MULIN_TESTS_TOOLS_SERVICE_CLIENT_H_

#include <capnp/ez-rpc.h>
#include <kj/async-io.h>

#include <cstdint>
#include <string>

#include "ledger/schema/service.capnp.h"

namespace mulin::testing {

struct Credential {
  std::string id;
  std::string secret;
};

// A connected client holding a logged-in session.
class Client {
 public:
  Client(const std::string& address, const Credential& credential)
      : rpc_(address), response_(Login(credential)) {}

  kj::WaitScope& ws() { return rpc_.getWaitScope(); }
  schema::Session::Reader session() { return response_.getSession(); }

  struct Outcome {
    bool ok;
    std::string code, reason_code;
    bool duplicate;
  };
  Outcome Redeem(const std::string& request_id, const std::string& volunteer, int64_t points) {
    auto req = session().getTerminal().redeemRequest();
    req.setRequestId(request_id);
    req.setRedemptionId(request_id);
    req.setVolunteerId(volunteer);
    req.setPoints(points);
    auto response = req.send().wait(ws());
    auto o = response.getOutcome();
    return Outcome{o.getOk(), o.getCode(), o.getReasonCode(), o.getDuplicate()};
  }

 private:
  capnp::Response<schema::Gateway::LoginResults> Login(const Credential& credential) {
    auto req = rpc_.getMain<schema::Gateway>().loginRequest();
    req.setCredentialId(credential.id);
    req.setSecret(credential.secret);
    return req.send().wait(rpc_.getWaitScope());
  }

  capnp::EzRpcClient rpc_;
  capnp::Response<schema::Gateway::LoginResults> response_;
};

// Connects to `address` once and hangs up. The first connection a process makes builds kj's tables
// of address ranges (function-local statics of kj::_::CidrRange); Debian's libkj is not built with
// ThreadSanitizer, which cannot see their guard and reports client threads that connect at once
// as racing on them. Connecting once on the test's own thread builds them before any other starts.
inline void ConnectOnce(const std::string& address) {
  auto io = kj::setupAsyncIo();
  kj::Own<kj::NetworkAddress> parsed =
      io.provider->getNetwork().parseAddress(address).wait(io.waitScope);
  parsed->connect().wait(io.waitScope);
}

}  // namespace mulin::testing

#endif  // MULIN_TESTS_TOOLS_SERVICE_CLIENT_H_
