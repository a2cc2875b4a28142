// mulin: the command-line program of the Mulin ledger (DESIGN §5).
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "tools/mulin/cli.h"

int main(int argc, char** argv) {
  if (sodium_init() < 0) {
    std::cerr << "mulin: libsodium failed to initialise\n";
    return mulin::cli::kExitError;
  }
  CLI::App app{
      "mulin: an event-sourced ledger for community volunteer points and community funds.\n"
      "Every fact is an event in an append-only, hash-chained RocksDB log; balances and\n"
      "statements are rebuilt from it. Exit codes: 0 ok, 1 error, 2 usage, 3 integrity\n"
      "problem found, 4 command rejected."};
  app.require_subcommand(1);
  mulin::cli::Globals globals;
  if (const char* env = std::getenv("MULIN_DB"); env != nullptr && *env != '\0') {
    globals.db = env;
  }
  app.add_option("--db", globals.db, "Ledger directory (default ./mulin-data, or env MULIN_DB)");

  int exit_code = mulin::cli::kExitOk;
  mulin::cli::AddLogCommands(app, globals, &exit_code);
  mulin::cli::AddReadCommands(app, globals, &exit_code);
  mulin::cli::AddWriteCommands(app, globals, &exit_code);
  mulin::cli::AddDemoCommand(app, globals, &exit_code);
  mulin::cli::AddServeCommand(app, globals, &exit_code);
  mulin::cli::AddTerminalCommand(app, &exit_code);
  mulin::cli::AddKeygenCommand(app, &exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? mulin::cli::kExitOk : mulin::cli::kExitUsage;
  }
  return exit_code;
}
