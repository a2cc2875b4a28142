// Shared pieces of the `mulin` program: global options, exit codes, opening a ledger, printing.
#ifndef MULIN_TOOLS_MULIN_CLI_H_
#define MULIN_TOOLS_MULIN_CLI_H_

#include <capnp/compat/json.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "ledger/event_log.h"
#include "ledger/status.h"
#include "ledger/store.h"
#include "ledger/writer.h"

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

// An open ledger with its writer, for the commands that append.
struct WriteLedger {
  std::unique_ptr<ledger::Store> store;
  std::unique_ptr<ledger::EventLog> log;
  std::unique_ptr<ledger::Writer> writer;  // declared last: stopped and destroyed first
};

// Opens (creating when missing) the ledger for writing. kBusy when `mulin serve` holds it.
Result<WriteLedger> OpenForWrite(const Globals& globals,
                                 const ledger::WriterOptions& options = ledger::WriterOptions());

// A fresh random request id, "cli-" and 16 hex digits.
std::string NewRequestId();

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool IsValidUtf8(std::string_view text);

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
void AddReadCommands(CLI::App& app, const Globals& globals, int* exit_code);
void AddWriteCommands(CLI::App& app, const Globals& globals, int* exit_code);
void AddImportCommand(CLI::App& app, const Globals& globals, int* exit_code);
void AddIssueCredentialCommand(CLI::App& app, const Globals& globals, int* exit_code);
void AddDemoCommand(CLI::App& app, const Globals& globals, int* exit_code);
void AddServeCommand(CLI::App& app, const Globals& globals, int* exit_code);
void AddTerminalCommand(CLI::App& app, int* exit_code);
void AddKeygenCommand(CLI::App& app, int* exit_code);

// Signed checkpoints (signing_commands.cc): writes the head signed with the secret key at
// `key_path` to `output` (stdout when empty), and reads back the head a signed checkpoint holds
// once its signature verifies with the public key (kCorruption when it does not).
int RunSignedCheckpoint(const Globals& globals, const std::string& key_path,
                        const std::string& output);
Result<ledger::Head> ReadSignedCheckpoint(const std::string& checkpoint_path,
                                          const std::string& public_key_path);

}  // namespace mulin::cli

#endif  // MULIN_TOOLS_MULIN_CLI_H_
