// `mulin serve [--listen ADDR]`: the terminal service (DESIGN §6) on a KJ event loop, with the
// writer on its own thread. SIGTERM (or SIGINT): stop accepting, finish the commands already
// queued, deliver their answers, close.
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <fstream>

#include "tools/mulin/cli.h"
#include "tools/mulin/projection_follower.h"
#include "tools/mulin/service.h"
#include "tools/rpc/loop_inbox.h"
#include "tools/rpc/sessions.h"

namespace mulin::cli {
namespace {

constexpr uint kDefaultPort = 7411;
// After the writer stops, time for the event loop to hand the last answers to their peers.
constexpr uint kDrainMs = 200;

int RunServe(const Globals& globals, const std::string& listen) {
  // Signals must be captured before any thread starts (RocksDB's and the writer's included).
  kj::UnixEventPort::captureSignal(SIGTERM);
  kj::UnixEventPort::captureSignal(SIGINT);
  auto io = kj::setupAsyncIo();
  Result<WriteLedger> ledger = OpenForWrite(globals);
  if (!ledger.ok()) return Fail("serve", ledger.status());
  service::ServiceStats stats;
  kj::Own<kj::ConnectionReceiver> listener;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                 auto address = io.provider->getNetwork()
                                    .parseAddress(listen, kDefaultPort)
                                    .wait(io.waitScope);
                 listener = address->listen();
               })) {
    return Fail("serve",
                Status::IoError("cannot listen on " + listen + ": " + e->getDescription().cStr()));
  }
  const std::string serving_path = globals.db + "/" + ledger::kServingFile;
  std::ofstream(serving_path, std::ios::trunc) << listen << "\n";
  spdlog::info("serving ledger {} on {} (head seq {})", globals.db, listen,
               ledger->log->head().seq);
  ProjectionFollower follower(ledger->store.get(), ledger->log.get());
  follower.Start();
  rpc::Sessions sessions;
  // Declared after the sessions, so destroyed before them: its last answers fulfil promises the
  // sessions' calls still hold.
  rpc::LoopInbox answers;
  capnp::Capability::Client gateway = service::NewGateway(
      service::Backend{ledger->writer.get(), &answers}, ledger->log.get(), &stats);
  capnp::ReaderOptions limits;
  limits.traversalLimitInWords = service::kPeerMessageWordsMax;
  limits.nestingLimit = service::kPeerNestingMax;
  auto accepting =
      sessions.Accept(*listener, gateway, limits).eagerlyEvaluate([](kj::Exception&& e) {
        spdlog::error("accept failed: {}", e.getDescription().cStr());
      });
  io.unixEventPort.onSignal(SIGTERM)
      .exclusiveJoin(io.unixEventPort.onSignal(SIGINT))
      .wait(io.waitScope);
  spdlog::info("stopping: no new connections; finishing queued commands");
  accepting = nullptr;
  listener = nullptr;
  ledger->writer->Stop();
  follower.Stop();
  io.provider->getTimer().afterDelay(kDrainMs * kj::MILLISECONDS).wait(io.waitScope);
  std::remove(serving_path.c_str());
  const ledger::WriterStats written = ledger->writer->stats();
  spdlog::info(
      "stopped: {} sessions, {} logins refused, {} commands not accepted, head seq {}; the writer "
      "decided {} commands in {} synced groups",
      stats.sessions_opened, stats.logins_refused, stats.commands_rejected, ledger->log->head().seq,
      written.commands, written.groups);
  return kExitOk;
}

}  // namespace

void AddServeCommand(CLI::App& app, const Globals& globals, int* exit_code) {
  auto listen = std::make_shared<std::string>("127.0.0.1:7411");
  CLI::App* serve = app.add_subcommand(
      "serve",
      "Run the terminal service (Cap'n Proto RPC): terminals, auditors and operators log in with "
      "credentials from `mulin issue-credential`. SIGTERM stops it cleanly.");
  serve->add_option("--listen", *listen, "Address to bind (default 127.0.0.1:7411, loopback only)");
  serve->callback([&globals, exit_code, listen] { *exit_code = RunServe(globals, *listen); });
}

}  // namespace mulin::cli
