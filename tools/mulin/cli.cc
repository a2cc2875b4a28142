#include "tools/mulin/cli.h"

#include <unistd.h>

#include <iostream>

namespace mulin::cli {

Result<Ledger> OpenForRead(const Globals& globals, bool check_head) {
  ledger::StoreOptions store_options;
  store_options.read_only = true;
  Result<std::unique_ptr<ledger::Store>> store = ledger::Store::Open(globals.db, store_options);
  if (!store.ok()) return store.status();
  ledger::EventLog::Options log_options;
  log_options.check_head = check_head;
  Result<std::unique_ptr<ledger::EventLog>> log =
      ledger::EventLog::Open(store.value().get(), log_options);
  if (!log.ok()) return log.status();
  Ledger ledger;
  ledger.store = std::move(store).value();
  ledger.log = std::move(log).value();
  return ledger;
}

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case Code::kOk:
      return kExitOk;
    case Code::kCorruption:
      return kExitIntegrity;
    case Code::kRejected:
    case Code::kConflict:
      return kExitRejected;
    case Code::kInvalidArgument:
      return kExitUsage;
    default:
      return kExitError;
  }
}

int Fail(const std::string& what, const Status& status) {
  std::cerr << "mulin: " << what << ": " << status.ToString() << "\n";
  return ExitCodeFor(status);
}

bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

}  // namespace mulin::cli
