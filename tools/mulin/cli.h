// Shared pieces of the `mulin` program: global options, exit codes, opening a ledger, printing.
#ifndef MULIN_TOOLS_MULIN_CLI_H_
#define MULIN_TOOLS_MULIN_CLI_H_

#include <CLI/CLI.hpp>
#include <capnp/compat/json.h>

#include <memory>
#include <string>

#include "ledger/event_log.h"
#include "ledger/status.h"
#include "ledger/store.h"

namespace mulin::cli {

// Exit codes (contract, DESIGN §5).
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;      // operational error: I/O, cannot open
inline constexpr int kExitUsage = 2;      // usage error
inline constexpr int kExitIntegrity = 3;  // integrity problem found
inline constexpr int kExitRejected = 4;   // command rejected by the ledger's rules

struct Globals {
  std::string db = "./mulin-data";  // --db, or MULIN_DB
};

// An open ledger: the store and its log, opened together and closed in the right order.
struct Ledger {
  std::unique_ptr<ledger::Store> store;
  std::unique_ptr<ledger::EventLog> log;
};

// Opens the ledger for reading without taking the writer's lock (works beside `mulin serve`).
Result<Ledger> OpenForRead(const Globals& globals, bool check_head = true);

// Maps a status to an exit code: corruption → 3, rejected/conflict → 4, invalid input → 2, else 1.
int ExitCodeFor(const Status& status);

// Prints "mulin: <what>: <status>" on stderr and returns its exit code.
int Fail(const std::string& what, const Status& status);

// True when stderr is a terminal (progress lines are drawn only then).
bool StderrIsTerminal();

// Encodes a report struct with Cap'n Proto's JSON codec, one line.
template <typename Reader>
std::string ToJson(Reader reader) {
  capnp::JsonCodec codec;
  return std::string(codec.encode(reader).cStr());
}

void AddLogCommands(CLI::App& app, const Globals& globals, int* exit_code);

}  // namespace mulin::cli

#endif  // MULIN_TOOLS_MULIN_CLI_H_
