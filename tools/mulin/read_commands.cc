// The read commands (DESIGN §5): balance, history, fund, service and reconcile; and
// `projections`, which shows and maintains the stored projections.
//
// Read commands open the ledger read-only, so they work beside `mulin serve`. When the stored
// projections lag the head they are caught up in memory, over the stored rows; when they cannot
// be used at all (a checkpoint that names another history) the answer comes from a rebuild and a
// warning says to run `mulin reconcile`.
#include "tools/mulin/read_commands.h"

#include <capnp/message.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>

#include "ledger/receipt_check.h"
#include "ledger/receipt_index.h"
#include "projections/as_of.h"
#include "projections/engine.h"
#include "projections/reconcile.h"
#include "projections/render.h"
#include "projections/schema/read_report.capnp.h"
#include "projections/standard.h"
#include "tools/mulin/cli.h"

namespace mulin::cli {
namespace {

namespace proj = mulin::projections;

// The account kinds a bare id may name, in the order they are shown (ledger/domain/postings.h).
constexpr const char* kAccountKinds[] = {"volunteer", "merchant", "fund",        "project",
                                         "issuance",  "service",  "adjustments", "held"};
constexpr size_t kTopVolunteersDefault = 10;

// A read-only ledger and its stored projections, brought up to the head in memory.
struct View {
  Ledger ledger;
  std::unique_ptr<proj::RocksRowStore> stored;
  std::unique_ptr<proj::RowStore> rows;
  proj::StandardProjections set;
};

Result<std::unique_ptr<View>> OpenView(const Globals& globals,
                                       const std::vector<std::string_view>& names) {
  auto view = std::make_unique<View>();
  Result<Ledger> ledger = OpenForRead(globals);
  if (!ledger.ok()) return ledger.status();
  view->ledger = std::move(ledger).value();
  ledger::Store* store = view->ledger.store.get();
  view->stored = std::make_unique<proj::RocksRowStore>(*store, rocksdb::WriteOptions(), true);
  std::vector<proj::Projection*> needed;
  for (std::string_view name : names) needed.push_back(view->set.Find(name));
  auto overlay = std::make_unique<proj::OverlayRowStore>(view->stored.get());
  proj::CatchUpOptions options;
  ProgressLine progress("catching up projections", StderrIsTerminal());
  options.progress = progress.Callback();
  auto stats = proj::Engine(overlay.get(), needed).CatchUp(*view->ledger.log, options);
  if (stats.ok()) {
    view->rows = std::move(overlay);
    return view;
  }
  if (!stats.status().IsCorruption()) return stats.status();
  std::cerr << "mulin: warning: the stored projections cannot be used (" << stats.status().message()
            << "); answering from a rebuild. Run `mulin reconcile`, then `mulin projections "
               "rebuild`.\n";
  auto scratch = std::make_unique<proj::MemoryRowStore>();
  auto rebuilt = proj::Engine(scratch.get(), needed).CatchUp(*view->ledger.log, options);
  if (!rebuilt.ok()) return rebuilt.status();
  view->rows = std::move(scratch);
  return view;
}

// The accounts an id names: itself when it is an account id ("fund:xishan"), else every
// "<kind>:<id>" that has postings.
Result<std::vector<std::string>> ResolveAccounts(const proj::RowStore& rows,
                                                 const std::string& id) {
  std::vector<std::string> candidates;
  if (id.find(':') != std::string::npos) {
    candidates.push_back(id);
  } else {
    for (const char* kind : kAccountKinds) candidates.push_back(std::string(kind) + ":" + id);
  }
  std::vector<std::string> out;
  for (const std::string& account : candidates) {
    Result<std::vector<proj::Balance>> balances = proj::ReadAccountBalances(rows, account);
    if (!balances.ok()) return balances.status();
    if (!balances->empty()) out.push_back(account);
  }
  if (out.empty()) {
    return Status::NotFound("no postings for '" + id +
                            "' (give a member, merchant, community or project id, or an "
                            "account id such as fund:xishan)");
  }
  return out;
}

// Parses an optional TIME option; `fallback` when it was not given.
Result<int64_t> TimeOption(const std::string& name, const std::string& text, int64_t fallback) {
  if (text.empty()) return fallback;
  Result<int64_t> parsed = proj::ParseTime(text);
  if (!parsed.ok()) return Status::InvalidArgument(name + ": " + parsed.status().message());
  return parsed;
}

Result<std::pair<int64_t, int64_t>> Period(const std::string& from, const std::string& to) {
  Result<int64_t> from_us = TimeOption("--from", from, proj::kTimeMin);
  if (!from_us.ok()) return from_us.status();
  Result<int64_t> to_us = TimeOption("--to", to, proj::kTimeMax);
  if (!to_us.ok()) return to_us.status();
  if (*from_us >= *to_us) return Status::InvalidArgument("--from must be before --to");
  return std::make_pair(*from_us, *to_us);
}

int RunBalance(const Globals& globals, const std::string& id) {
  Result<std::unique_ptr<View>> view = OpenView(globals, {proj::kBalancesName});
  if (!view.ok()) return Fail("balance", view.status());
  Result<std::vector<std::string>> accounts = ResolveAccounts(*(*view)->rows, id);
  if (!accounts.ok()) return Fail("balance", accounts.status());
  for (const std::string& account : *accounts) {
    Result<std::vector<proj::Balance>> balances =
        proj::ReadAccountBalances(*(*view)->rows, account);
    if (!balances.ok()) return Fail("balance", balances.status());
    proj::WriteBalancesText(*balances, std::cout);
  }
  std::cout << "(through seq " << (*view)->ledger.log->head().seq << ")\n";
  return kExitOk;
}

struct HistoryArgs {
  std::string id;
  std::string from;
  std::string to;
  bool csv = false;
};

int RunHistory(const Globals& globals, const HistoryArgs& args) {
  Result<std::pair<int64_t, int64_t>> period = Period(args.from, args.to);
  if (!period.ok()) return Fail("history", period.status());
  Result<std::unique_ptr<View>> view = OpenView(globals, {proj::kBalancesName, proj::kAuditName});
  if (!view.ok()) return Fail("history", view.status());
  const proj::RowStore& rows = *(*view)->rows;
  Result<std::vector<std::string>> accounts = ResolveAccounts(rows, args.id);
  if (!accounts.ok()) return Fail("history", accounts.status());
  std::optional<proj::CsvWriter> csv;
  if (args.csv) {
    csv.emplace(&std::cout);
    proj::WriteHistoryCsvHeader(&*csv);
  }
  for (const std::string& account : *accounts) {
    if (!args.csv) proj::WriteHistoryTextHeader(account, std::cout);
    Status scan = proj::ScanAuditTrail(rows, account, period->first, period->second,
                                       [&](const proj::AuditEntry& entry) {
                                         if (args.csv) {
                                           proj::WriteHistoryCsvRow(entry, &*csv);
                                         } else {
                                           proj::WriteHistoryTextRow(entry, std::cout);
                                         }
                                         return true;
                                       });
    if (!scan.ok()) return Fail("history", scan);
  }
  std::cout.flush();
  return std::cout ? kExitOk : Fail("history", Status::IoError("writing stdout failed"));
}

struct FundArgs {
  std::string community;
  std::string as_of;
  uint64_t at_seq = 0;
  bool at_seq_given = false;
  std::string from;
  std::string to;
  bool csv = false;
};

// Fund rows as of a past seq, folded into scratch memory; the stored rows are not used.
int RunFundAsOf(const Globals& globals, const FundArgs& args, std::pair<int64_t, int64_t> period) {
  Result<Ledger> ledger = OpenForRead(globals);
  if (!ledger.ok()) return Fail("fund", ledger.status());
  const uint64_t head = ledger->log->head().seq;
  uint64_t seq = args.at_seq;
  if (!args.as_of.empty()) {
    Result<int64_t> as_of_us = TimeOption("--as-of", args.as_of, proj::kTimeMax);
    if (!as_of_us.ok()) return Fail("fund", as_of_us.status());
    Result<uint64_t> before = proj::SeqBefore(*ledger->log, *as_of_us);
    if (!before.ok()) return Fail("fund", before.status());
    seq = *before;
    period.second = std::min(period.second, *as_of_us);
    if (period.first >= period.second) {
      return Fail("fund", Status::InvalidArgument("--from must be before --as-of"));
    }
  } else if (seq > head) {
    return Fail("fund", Status::InvalidArgument("--at-seq " + std::to_string(seq) +
                                                " is past the head " + std::to_string(head)));
  }
  proj::MemoryRowStore scratch;
  proj::FundStatementProjection fund;
  ProgressLine progress("building the statement as of seq " + std::to_string(seq),
                        StderrIsTerminal());
  Status built = proj::BuildAsOf(*ledger->log, seq, {&fund}, &scratch, progress.Callback());
  if (!built.ok()) return Fail("fund", built);
  auto statement = proj::BuildFundStatement(scratch, args.community, period.first, period.second);
  if (!statement.ok()) return Fail("fund", statement.status());
  if (args.csv) {
    proj::WriteFundStatementCsv(*statement, std::cout);
  } else {
    proj::WriteFundStatementText(*statement, seq, std::cout);
  }
  return kExitOk;
}

int RunFund(const Globals& globals, const FundArgs& args) {
  Result<std::pair<int64_t, int64_t>> period = Period(args.from, args.to);
  if (!period.ok()) return Fail("fund", period.status());
  if (!args.as_of.empty() || args.at_seq_given) return RunFundAsOf(globals, args, *period);
  Result<std::unique_ptr<View>> view = OpenView(globals, {proj::kFundName});
  if (!view.ok()) return Fail("fund", view.status());
  auto statement =
      proj::BuildFundStatement(*(*view)->rows, args.community, period->first, period->second);
  if (!statement.ok()) return Fail("fund", statement.status());
  if (args.csv) {
    proj::WriteFundStatementCsv(*statement, std::cout);
  } else {
    proj::WriteFundStatementText(*statement, (*view)->ledger.log->head().seq, std::cout);
  }
  return kExitOk;
}

int RunService(const Globals& globals, const std::string& community, size_t top) {
  Result<std::unique_ptr<View>> view = OpenView(globals, {proj::kOrdersName});
  if (!view.ok()) return Fail("service", view.status());
  auto summary = proj::ReadServiceSummary(*(*view)->rows, community, top);
  if (!summary.ok()) return Fail("service", summary.status());
  proj::WriteServiceSummaryText(*summary, std::cout);
  return kExitOk;
}

void PrintReconcileJson(const proj::ReconcileReport& report, const ledger::ReceiptCheck& receipts,
                        uint64_t elapsed_ms) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<schema::ReconcileReport>();
  out.setOk(report.ok() && receipts.problem.ok());
  out.setReceiptsChecked(receipts.receipts);
  out.setReceiptsThroughSeq(receipts.through_seq);
  out.setReceiptsProblem(receipts.problem.ok() ? "" : receipts.problem.message());
  out.initHead().setSeq(report.head.seq);
  out.getHead().setChainHash(ledger::HexEncode(report.head.chain));
  out.setEventsReplayed(report.events_replayed);
  out.setRowsCompared(report.rows_compared);
  out.setChainOk(report.chain.ok());
  out.setChainProblem(report.chain.ok() ? "" : report.chain.message());
  auto list = out.initDifferences(static_cast<unsigned>(report.differences.size()));
  for (unsigned i = 0; i < report.differences.size(); ++i) {
    const proj::Difference& d = report.differences[i];
    list[i].setWhere(d.where);
    list[i].setSubject(d.subject);
    list[i].setExpected(d.expected);
    list[i].setFound(d.found);
  }
  out.setDifferencesTotal(report.differences_total);
  out.setElapsedMs(elapsed_ms);
  std::cout << ToJson(out.asReader()) << "\n";
}

int RunReconcile(const Globals& globals, bool json, size_t differences_max) {
  const auto start = std::chrono::steady_clock::now();
  Result<Ledger> ledger = OpenForRead(globals, /*check_head=*/false);
  if (!ledger.ok()) return Fail("reconcile", ledger.status());
  ledger::Store* store = ledger->store.get();
  proj::RocksRowStore stored(*store, rocksdb::WriteOptions(), true);
  proj::ReconcileOptions options;
  options.differences_max = differences_max;
  std::optional<ProgressLine> progress;
  std::string phase;
  if (!json && StderrIsTerminal()) {
    options.progress = [&](const char* now, uint64_t done, uint64_t total) {
      if (phase != now) progress.emplace(std::string("reconcile: ") + now, true);
      phase = now;
      progress->Draw(done, total);
    };
  }
  Result<proj::ReconcileReport> report = proj::Reconcile(*ledger->log, stored, options);
  progress.reset();
  if (!report.ok()) return Fail("reconcile", report.status());
  // The writer decides on its receipt index (unused ids, single reversals): it must say what the
  // log says, up to the seq it covers.
  Result<ledger::ReceiptCheck> receipts = ledger::CheckReceiptIndex(store, *ledger->log);
  if (!receipts.ok()) return Fail("reconcile", receipts.status());
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
  if (json) {
    PrintReconcileJson(*report, *receipts, static_cast<uint64_t>(elapsed_ms));
  } else {
    proj::WriteReconcileText(*report, std::cout);
    if (!receipts->indexed) {
      std::cout << "receipt index: not built yet (the next write to this ledger builds it)\n";
    } else if (receipts->problem.ok()) {
      std::cout << "receipt index: " << receipts->receipts
                << " redemptions and sales match the log up to seq " << receipts->through_seq
                << "\n";
    } else {
      std::cout << "receipt index: FAILED: " << receipts->problem.message() << "\n"
                << "first bad seq: " << receipts->problem.seq() << "\n";
    }
  }
  return report->ok() && receipts->problem.ok() ? kExitOk : kExitIntegrity;
}

}  // namespace

void AddReadCommands(CLI::App& app, const Globals& globals, int* exit_code) {
  auto id = std::make_shared<std::string>();
  CLI::App* balance = app.add_subcommand(
      "balance", "Balances of an account: points, service minutes or yuan, whatever applies");
  balance->add_option("ID", *id, "Member, merchant, community or project id, or an account id")
      ->required();
  balance->callback([&globals, exit_code, id] { *exit_code = RunBalance(globals, *id); });

  auto history = std::make_shared<HistoryArgs>();
  CLI::App* hist = app.add_subcommand(
      "history",
      "An account's audit trail: each posting with seq, time, event, counterparty "
      "and running balance");
  hist->add_option("ID", history->id, "Member, merchant, community or project id, or account id")
      ->required();
  hist->add_option("--from", history->from, "From TIME (ISO 8601 with offset, or a date)");
  hist->add_option("--to", history->to, "Up to, not including, TIME");
  hist->add_flag("--csv", history->csv, "CSV for spreadsheets (UTF-8 with BOM)");
  hist->callback([&globals, exit_code, history] { *exit_code = RunHistory(globals, *history); });

  auto fund = std::make_shared<FundArgs>();
  CLI::App* fund_cmd = app.add_subcommand(
      "fund",
      "A community fund's statement: contributions by merchant, sale reversals, payouts "
      "by project, opening and closing balance; as of any past moment");
  fund_cmd->add_option("COMMUNITY", fund->community, "Community id")->required();
  CLI::Option* as_of =
      fund_cmd->add_option("--as-of", fund->as_of, "As of TIME: events recorded before it");
  CLI::Option* at_seq = fund_cmd->add_option("--at-seq", fund->at_seq, "As of seq N");
  as_of->excludes(at_seq);
  fund_cmd->add_option("--from", fund->from, "Period from TIME (default: the beginning)");
  fund_cmd->add_option("--to", fund->to, "Period up to, not including, TIME (default: now)");
  fund_cmd->add_flag("--csv", fund->csv, "CSV for spreadsheets (UTF-8 with BOM)");
  fund_cmd->callback([&globals, exit_code, fund, at_seq] {
    fund->at_seq_given = at_seq->count() > 0;
    *exit_code = RunFund(globals, *fund);
  });

  auto community = std::make_shared<std::string>();
  auto top = std::make_shared<size_t>(kTopVolunteersDefault);
  CLI::App* service = app.add_subcommand(
      "service", "A community's orders by state, ratings, and top volunteers by minutes");
  service->add_option("COMMUNITY", *community, "Community id")->required();
  service->add_option("--top", *top, "Volunteers listed (default 10)");
  service->callback([&globals, exit_code, community, top] {
    *exit_code = RunService(globals, *community, *top);
  });

  auto json = std::make_shared<bool>(false);
  auto max_differences = std::make_shared<size_t>(proj::kDifferencesListedMax);
  CLI::App* reconcile = app.add_subcommand(
      "reconcile",
      "Rebuild every projection from the log in scratch space, compare with the "
      "stored ones, check the invariants and the chain, and check the writer's receipt index "
      "(redemptions and sales by id) against the log. Exit 0 agree, 3 otherwise");
  reconcile->add_flag("--json", *json, "Machine-readable report on stdout");
  reconcile->add_option("--max-differences", *max_differences,
                        "Differences listed (all are counted; default 10000)");
  reconcile->callback([&globals, exit_code, json, max_differences] {
    *exit_code = RunReconcile(globals, *json, *max_differences);
  });

  AddProjectionsCommand(app, globals, exit_code);
}

}  // namespace mulin::cli
