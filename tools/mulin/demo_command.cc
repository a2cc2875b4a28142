// `mulin demo [--seed N] [--fresh]`: builds the pilot communities' quarter into an empty ledger
// through the real write path, then prints what happened and what to try next.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include "ledger/domain/state.h"
#include "ledger/event_codec.h"
#include "tools/mulin/cli.h"
#include "tools/mulin/demo_scenario.h"

namespace mulin::cli {
namespace {

struct DemoArgs {
  uint64_t seed = 1;
  bool fresh = false;
};

// The ledger at `dir` must be empty, or (with --fresh) an earlier demo's, which is then removed.
Status PrepareDirectory(const Globals& globals, bool fresh) {
  if (!std::filesystem::exists(globals.db)) return Status::Ok();
  Result<Ledger> existing = OpenForRead(globals, /*check_head=*/false);
  if (!existing.ok()) {
    return existing.status().IsNotFound() ? Status::Ok() : existing.status();
  }
  const uint64_t events = existing->log->head().seq;
  if (events == 0) return Status::Ok();
  Result<std::string> first = existing->log->ReadPayload(1);
  bool is_demo = false;
  if (first.ok()) {
    Result<ledger::DecodedEvent> event = ledger::DecodeEvent(*first, 1);
    is_demo =
        event.ok() && std::string(event->event().getRequestId().cStr()).rfind("demo-", 0) == 0;
  }
  if (!fresh || !is_demo) {
    return Status::InvalidArgument(
        "ledger " + globals.db + " already holds " + std::to_string(events) +
        " events; the demo builds into an empty ledger: pass --db DIR" +
        (is_demo ? ", or --fresh to replace this earlier demo ledger" : ""));
  }
  existing = Status::NotFound("closed");  // close before removing
  std::error_code error;
  std::filesystem::remove_all(globals.db, error);
  if (error) return Status::IoError("removing " + globals.db + ": " + error.message());
  return Status::Ok();
}

std::string Yuan(int64_t fen) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%lld.%02lld", static_cast<long long>(fen / 100),
                static_cast<long long>(fen % 100));
  return buf;
}

void PrintSummary(const domain::State& state, const DemoScenario& scenario, const Globals& g) {
  std::printf(
      "\nMulin demo: %d simulated days, %llu commands, %llu events, %llu refused on "
      "purpose (an overdraft, a payout approved by its own requester)\n\n",
      kDemoDays, static_cast<unsigned long long>(scenario.commands()),
      static_cast<unsigned long long>(state.last_seq),
      static_cast<unsigned long long>(scenario.rejected_on_purpose()));
  std::printf("%-12s %14s %14s %14s %11s\n", "community", "fund (yuan)", "points earned",
              "orders closed", "avg rating");
  for (const char* c : {"xishan", "nanhu", "yangjiamen"}) {
    uint64_t closed = 0, rated = 0, rating_sum = 0;
    for (const auto& [id, order] : state.orders) {
      if (order.community_id != c) continue;
      if (order.status == domain::OrderStatus::kClosed) ++closed;
      if (order.rating > 0) {
        ++rated;
        rating_sum += order.rating;
      }
    }
    const int64_t earned =
        -domain::BalanceOf(state, std::string("issuance:") + c, schema::Unit::POINTS);
    std::printf("%-12s %14s %14lld %14llu %11.2f\n", c,
                Yuan(domain::BalanceOf(state, std::string("fund:") + c, schema::Unit::FEN)).c_str(),
                static_cast<long long>(earned), static_cast<unsigned long long>(closed),
                rated == 0 ? 0.0 : static_cast<double>(rating_sum) / static_cast<double>(rated));
  }
  int64_t redeemed = 0;
  for (const auto& [id, merchant] : state.merchants) {
    redeemed += domain::BalanceOf(state, "merchant:" + id, schema::Unit::POINTS);
  }
  std::printf("\npoints redeemed at partner merchants (net of reversals): %lld\n",
              static_cast<long long>(redeemed));
  const std::string db = "--db " + g.db;
  std::printf(
      "\nTry next:\n"
      "  mulin %s checkpoint              # the head an auditor keeps\n"
      "  mulin %s verify                  # every checksum and chain link\n"
      "  mulin %s export --format jsonl --from-seq 1 --to-seq 20\n"
      "  mulin %s redeem --actor YJ-T01 --terminal YJ-T01 --redemption MY-1 --volunteer XS-V001 "
      "--points 5\n"
      "  mulin --help                        # every command, with examples\n",
      db.c_str(), db.c_str(), db.c_str(), db.c_str());
}

int RunDemo(const Globals& globals, const DemoArgs& args) {
  Status prepared = PrepareDirectory(globals, args.fresh);
  if (!prepared.ok()) return Fail("demo", prepared);
  int64_t simulated_now_us = kDemoStartUs;
  ledger::WriterOptions options;
  options.clock_us = [&simulated_now_us] { return simulated_now_us; };
  Result<WriteLedger> ledger = OpenForWrite(globals, options);
  if (!ledger.ok()) return Fail("demo", ledger.status());
  DemoScenario scenario(ledger->writer.get(), args.seed, &simulated_now_us);
  const bool draw = StderrIsTerminal();
  Status ran = scenario.Run([draw](int day) {
    if (draw) std::fprintf(stderr, "\rdemo: day %d of %d", day, kDemoDays);
  });
  if (draw) std::fprintf(stderr, "\n");
  if (!ran.ok()) return Fail("demo", ran);
  Status read = ledger->writer->Read(
      [&](const domain::State& state) { PrintSummary(state, scenario, globals); });
  if (!read.ok()) return Fail("demo", read);
  const ledger::Head head = ledger->log->head();
  std::printf("\nhead: %llu:%s\n", static_cast<unsigned long long>(head.seq),
              ledger::HexEncode(head.chain).c_str());
  return kExitOk;
}

}  // namespace

void AddDemoCommand(CLI::App& app, const Globals& globals, int* exit_code) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* demo = app.add_subcommand(
      "demo",
      "Build the three Jiaxing pilot communities' quarter (Xishan, Nanhu, Yangjiamen) into an "
      "empty ledger through the real write path; the same seed gives the same chain head");
  demo->add_option("--seed", args->seed, "Random seed (default 1)");
  demo->add_flag("--fresh", args->fresh, "Replace an earlier demo ledger at --db");
  demo->callback([&globals, exit_code, args] { *exit_code = RunDemo(globals, *args); });
}

}  // namespace mulin::cli
