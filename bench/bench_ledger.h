// BenchLedger: a fresh ledger in a temporary directory with the cast every benchmark needs: two
// communities, a merchant with kBenchTerminals terminals, kBenchVolunteers volunteers holding
// points enough for any run, and (optionally) terminal credentials with known secrets.
#ifndef MULIN_BENCH_BENCH_LEDGER_H_
#define MULIN_BENCH_BENCH_LEDGER_H_

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "ledger/event_log.h"
#include "ledger/writer.h"
#include "tests/support/commands.h"

namespace mulin::bench {

inline constexpr int kBenchVolunteers = 1000;
inline constexpr int kBenchTerminals = 64;

inline void Must(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "bench: %s\n", what.c_str());
    std::exit(1);
  }
}

struct BenchLedger {
  std::string dir;
  std::unique_ptr<ledger::Store> store;
  std::unique_ptr<ledger::EventLog> log;
  std::unique_ptr<ledger::Writer> writer;
  bool keep = false;  // leave the directory (e.g. for a server to open after Close())
  void Close() {
    writer.reset();
    log.reset();
    store.reset();
  }
  ~BenchLedger() {
    Close();
    if (!keep) std::filesystem::remove_all(dir);
  }
};

// Opens the store and log in l->dir (creating an empty ledger there when none exists).
inline void OpenLog(BenchLedger* l) {
  auto store = ledger::Store::Open(l->dir, ledger::StoreOptions());
  Must(store.ok(), store.status().ToString());
  l->store = std::move(store).value();
  auto log = ledger::EventLog::Open(l->store.get());
  Must(log.ok(), log.status().ToString());
  l->log = std::move(log).value();
}

// Starts a writer on l's open log (loading its snapshot and replaying the tail).
inline void OpenWriter(BenchLedger* l, const ledger::WriterOptions& options = {}) {
  auto writer = ledger::Writer::Open(l->store.get(), l->log.get(), options);
  Must(writer.ok(), writer.status().ToString());
  l->writer = std::move(writer).value();
}

// The ledger already in `dir`, with its writer; left in place when closed.
inline std::unique_ptr<BenchLedger> OpenLedgerAt(const std::string& dir) {
  auto l = std::make_unique<BenchLedger>();
  l->dir = dir;
  l->keep = true;
  OpenLog(l.get());
  OpenWriter(l.get());
  return l;
}

inline std::unique_ptr<BenchLedger> OpenBenchLedger(const std::string& name) {
  auto l = std::make_unique<BenchLedger>();
  l->dir = (std::filesystem::temp_directory_path() / ("mulin-bench-" + name)).string();
  std::filesystem::remove_all(l->dir);
  OpenLog(l.get());
  OpenWriter(l.get());
  using namespace mulin::testing;  // NOLINT: the command builders read like a script
  auto ok = [&](std::string command) {
    auto r = l->writer->Execute(std::move(command));
    Must(r.status.ok(), r.status.ToString());
  };
  ok(RegisterCommunity("c1", "yangjiamen"));
  ok(RegisterCommunity("c2", "xishan"));
  ok(RegisterMember("s1", "xishan", "S1", {schema::Role::STAFF}));
  ok(RegisterMerchant("m", "yangjiamen", "M1"));
  for (int t = 0; t < kBenchTerminals; ++t) {
    ok(RegisterTerminal("t" + std::to_string(t), "yangjiamen", "T" + std::to_string(t), "M1"));
  }
  for (int v = 0; v < kBenchVolunteers; ++v) {
    const std::string id = "V" + std::to_string(v);
    ok(RegisterMember("v" + id, "xishan", id, {schema::Role::VOLUNTEER}));
    ok(Adjust("a" + id, "S1", "xishan", "volunteer:" + id, schema::Unit::POINTS, 1000000000));
  }
  return l;
}

}  // namespace mulin::bench

#endif  // MULIN_BENCH_BENCH_LEDGER_H_
