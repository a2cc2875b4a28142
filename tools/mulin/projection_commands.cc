// `mulin projections`: shows the stored projections' checkpoints, and catches them up or rebuilds
// them — the only writes of the read side.
#include <cstdio>
#include <iostream>

#include "projections/engine.h"
#include "projections/standard.h"
#include "tools/mulin/cli.h"
#include "tools/mulin/read_commands.h"

namespace mulin::cli {
namespace {

namespace proj = mulin::projections;

// The stored projections, opened for writing: catching them up and rebuilding them are the only
// writes of the read side.
int RunMaintain(const Globals& globals, const std::vector<std::string>& rebuild) {
  ledger::StoreOptions store_options;
  store_options.create_if_missing = false;
  Result<std::unique_ptr<ledger::Store>> store = ledger::Store::Open(globals.db, store_options);
  if (!store.ok()) return Fail("projections", store.status());
  Result<std::unique_ptr<ledger::EventLog>> log = ledger::EventLog::Open(store->get());
  if (!log.ok()) return Fail("projections", log.status());
  // Not synced: a machine crash may lose the last batches, never tear one, and catching up again
  // redoes exactly what was lost.
  rocksdb::WriteOptions write_options;
  write_options.sync = false;
  proj::RocksRowStore rows(**store, write_options, false);
  proj::StandardProjections set;
  proj::Engine engine(&rows, set.All());
  for (const std::string& name : rebuild) {
    Status dropped = engine.Drop(name);
    if (!dropped.ok()) return Fail("projections", dropped);
  }
  proj::CatchUpOptions options;
  ProgressLine progress("projections", StderrIsTerminal());
  options.progress = progress.Callback();
  auto stats = engine.CatchUp(**log, options);
  if (!stats.ok()) return Fail("projections", stats.status());
  std::cout << "folded " << stats->events << " events into the stored projections; all at seq "
            << (*log)->head().seq << "\n";
  return kExitOk;
}

int RunStatus(const Globals& globals) {
  Result<Ledger> ledger = OpenForRead(globals);
  if (!ledger.ok()) return Fail("projections", ledger.status());
  ledger::Store* store = ledger->store.get();
  proj::RocksRowStore stored(*store, rocksdb::WriteOptions(), true);
  proj::StandardProjections set;
  const uint64_t head = ledger->log->head().seq;
  for (proj::Projection* projection : set.All()) {
    auto checkpoint = proj::Engine(&stored, {}).ReadCheckpoint(projection->name());
    if (!checkpoint.ok()) return Fail("projections", checkpoint.status());
    std::printf(
        "%-10s at seq %llu, %llu behind the head %llu\n", std::string(projection->name()).c_str(),
        static_cast<unsigned long long>(checkpoint->seq),
        static_cast<unsigned long long>(head > checkpoint->seq ? head - checkpoint->seq : 0),
        static_cast<unsigned long long>(head));
  }
  return kExitOk;
}

}  // namespace

void AddProjectionsCommand(CLI::App& app, const Globals& globals, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("projections", "Show or maintain the stored projections (" +
                                                        proj::StandardProjections::Names() + ")");
  cmd->require_subcommand(1);
  cmd->add_subcommand("status", "Each projection's checkpoint and how far it lags the head")
      ->callback([&globals, exit_code] { *exit_code = RunStatus(globals); });
  cmd->add_subcommand("catch-up", "Fold the events the stored projections lack (writes)")
      ->callback([&globals, exit_code] { *exit_code = RunMaintain(globals, {}); });
  auto names = std::make_shared<std::vector<std::string>>();
  CLI::App* rebuild = cmd->add_subcommand(
      "rebuild", "Drop projections and fold them again from seq 1 (writes; default: all)");
  rebuild->add_option("NAME", *names, "Projections to rebuild")
      ->check(CLI::IsMember({std::string(proj::kBalancesName), std::string(proj::kAuditName),
                             std::string(proj::kFundName), std::string(proj::kOrdersName)}));
  rebuild->callback([&globals, exit_code, names] {
    std::vector<std::string> chosen = *names;
    if (chosen.empty()) {
      for (proj::Projection* p : proj::StandardProjections().All()) {
        chosen.emplace_back(p->name());
      }
    }
    *exit_code = RunMaintain(globals, chosen);
  });
}

}  // namespace mulin::cli
