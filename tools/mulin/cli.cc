#include "tools/mulin/cli.h"

#include <sodium.h>
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

Result<WriteLedger> OpenForWrite(const Globals& globals, const ledger::WriterOptions& options) {
  WriteLedger out;
  Result<std::unique_ptr<ledger::Store>> store =
      ledger::Store::Open(globals.db, ledger::StoreOptions());
  if (!store.ok()) return store.status();
  out.store = std::move(store).value();
  Result<std::unique_ptr<ledger::EventLog>> log = ledger::EventLog::Open(out.store.get());
  if (!log.ok()) return log.status();
  out.log = std::move(log).value();
  Result<std::unique_ptr<ledger::Writer>> writer =
      ledger::Writer::Open(out.store.get(), out.log.get(), options);
  if (!writer.ok()) return writer.status();
  out.writer = std::move(writer).value();
  return out;
}

std::string NewRequestId() {
  unsigned char bytes[8];
  randombytes_buf(bytes, sizeof(bytes));
  return "cli-" + ledger::HexEncode(bytes, sizeof(bytes));
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<uint8_t>(text[i]);
    size_t extra = 0;
    uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      code = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      code = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= extra; ++k) {
      if (i + k >= text.size()) return false;
      const auto cc = static_cast<uint8_t>(text[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      code = (code << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMinForLength[extra] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
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
