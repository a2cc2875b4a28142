// The capabilities of the terminal service (ledger/schema/service.capnp): a Gateway that checks
// credentials and hands out Terminal, Auditor or Operator capabilities bound to one subject.
//
// All of them run on the service's KJ event loop thread and never block it: commands go to the
// Writer's queue and their results come back through the loop's inbox (tools/rpc/loop_inbox.h);
// state look-ups are queued reads on the writer thread. Ownership: the capabilities borrow the
// Writer, the inbox and the EventLog, which outlive the RPC system (serve_command.cc tears the RPC
// system down first).
#ifndef MULIN_TOOLS_MULIN_SERVICE_H_
#define MULIN_TOOLS_MULIN_SERVICE_H_

#include <capnp/capability.h>

#include <string>

#include "ledger/event_log.h"
#include "ledger/schema/service.capnp.h"
#include "ledger/writer.h"
#include "tools/rpc/loop_inbox.h"

namespace mulin::service {

// Pages of Auditor.events are bounded so one call cannot ask for the whole log at once.
inline constexpr uint32_t kEventsPageMax = 1000;

// Limits for messages from untrusted peers (each connection's ReaderOptions). A command is at most
// 64 KiB; nothing a client sends legitimately comes near 1 MiB. A larger message drops its
// connection, and only that one. tests/fuzz/rpc_fuzz.cc reads peer bytes with the same limits.
inline constexpr uint64_t kPeerMessageWordsMax = 1024 * 1024 / sizeof(capnp::word);
inline constexpr int kPeerNestingMax = 32;

// Counters for the service's closing log line and for tests.
struct ServiceStats {
  uint64_t sessions_opened = 0;
  uint64_t logins_refused = 0;
  uint64_t commands_rejected = 0;
};

// The ledger behind one event loop's capabilities: the writer, and the inbox on that loop that
// its answers come back through.
struct Backend {
  ledger::Writer* writer;
  rpc::LoopInbox* answers;
};

// The bootstrap capability. `stats` is owned by the caller and touched only on the loop thread.
capnp::Capability::Client NewGateway(Backend backend, const ledger::EventLog* log,
                                     ServiceStats* stats);

// BLAKE2b-256 of a credential secret as the ledger stores it.
std::string HashSecret(const std::string& secret);

}  // namespace mulin::service

#endif  // MULIN_TOOLS_MULIN_SERVICE_H_
