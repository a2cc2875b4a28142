// The floor of rpc_bench: a server that speaks the terminal service's RPC and answers every
// redemption at once, with no ledger behind it. Its clients and their calls are the benchmark's
// own, so what it costs per call is what Cap'n Proto RPC and loopback TCP cost on this machine
// before `mulin serve` does any work: a bound on the rate over RPC that no ledger can pass here.
//
// It runs in a process of its own (this program again, in the internal mode --floor-serve PORT),
// one KJ event loop serving its connections with the same code as `mulin serve`
// (tools/rpc/sessions.h: buffered reads), so that its CPU is measured as the server's is.
#ifndef MULIN_BENCH_RPC_FLOOR_H_
#define MULIN_BENCH_RPC_FLOOR_H_

#include <kj/async-io.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "bench/bench_util.h"
#include "ledger/schema/service.capnp.h"
#include "tests/support/server_process.h"
#include "tools/rpc/sessions.h"

namespace mulin::bench {

// The answer a redemption gets from `mulin serve` when it lands, in the same fields and sizes.
class FloorTerminal final : public schema::Terminal::Server {
 public:
  kj::Promise<void> redeem(RedeemContext context) override {
    auto outcome = context.getResults(capnp::MessageSize{64, 0}).initOutcome();
    outcome.setOk(true);
    outcome.setCode("ok");
    outcome.setReasonCode("");
    outcome.setMessage("");
    outcome.setFirstSeq(++seq_);
    outcome.setEventCount(1);
    return kj::READY_NOW;
  }

 private:
  uint64_t seq_ = 0;
};

// Any credential opens a terminal session.
class FloorGateway final : public schema::Gateway::Server {
 public:
  kj::Promise<void> login(LoginContext context) override {
    auto session = context.getResults().initSession();
    session.setRole(schema::CredentialRole::TERMINAL);
    session.setSubjectId(context.getParams().getCredentialId());
    session.setTerminal(kj::heap<FloorTerminal>());
    return kj::READY_NOW;
  }
};

// The --floor-serve mode: serves on 127.0.0.1:port until killed.
[[noreturn]] inline void FloorServe(int port) {
  spdlog::set_level(spdlog::level::warn);  // no line per connection
  auto io = kj::setupAsyncIo();
  auto listener = io.provider->getNetwork()
                      .parseAddress("127.0.0.1", static_cast<kj::uint>(port))
                      .wait(io.waitScope)
                      ->listen();
  mulin::rpc::Sessions sessions;
  sessions.Accept(*listener, kj::heap<FloorGateway>(), capnp::ReaderOptions()).wait(io.waitScope);
  std::abort();  // accepts until killed
}

// The floor server as a child process of this program.
class FloorProcess {
 public:
  FloorProcess() {
    const int port = mulin::testing::FreeLoopbackPort();
    const std::string self = "/proc/" + std::to_string(getpid()) + "/exe";
    const std::string port_text = std::to_string(port);
    char* const argv[] = {const_cast<char*>(self.c_str()), const_cast<char*>("--floor-serve"),
                          const_cast<char*>(port_text.c_str()), nullptr};
    Must(posix_spawn(&pid_, self.c_str(), nullptr, nullptr, argv, environ) == 0,
         "cannot start the floor server");
    for (int waited_ms = 0; !mulin::testing::CanConnect(port); waited_ms += 10) {
      Must(waited_ms < 10000, "the floor server did not start listening");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    address_ = "127.0.0.1:" + port_text;
  }
  ~FloorProcess() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  FloorProcess(const FloorProcess&) = delete;
  FloorProcess& operator=(const FloorProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& address() const { return address_; }

 private:
  pid_t pid_ = -1;
  std::string address_;
};

}  // namespace mulin::bench

#endif  // MULIN_BENCH_RPC_FLOOR_H_
