// `mulin terminal --server ADDR --credential FILE balance|redeem|reverse|sale ...`: a merchant's
// terminal as a command line, over the terminal service's RPC.
#include <capnp/ez-rpc.h>

#include <fstream>
#include <iostream>

#include "ledger/schema/service.capnp.h"
#include "tools/mulin/cli.h"

namespace mulin::cli {
namespace {

struct TerminalArgs {
  std::string server = "127.0.0.1:7411";
  std::string credential_file;
  std::string request_id;
  std::string volunteer;
  std::string id;  // redemption or sale id
  int64_t points = 0;
  int64_t gross_fen = 0;
  std::string reason;
};

Result<std::pair<std::string, std::string>> ReadCredential(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  if (!file || !std::getline(file, line)) {
    return Status::InvalidArgument("cannot read a credential from " + path);
  }
  const size_t colon = line.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == line.size()) {
    return Status::InvalidArgument(path +
                                   " does not hold ID:SECRET as `mulin issue-credential` "
                                   "writes it");
  }
  return std::make_pair(line.substr(0, colon), line.substr(colon + 1));
}

template <typename Response>
int ReportOutcome(Response&& response, const std::string& request_id) {
  schema::Outcome::Reader outcome = response.getOutcome();
  if (!outcome.getOk()) {
    std::cerr << "mulin: terminal: " << outcome.getCode().cStr();
    if (outcome.getReasonCode().size() > 0)
      std::cerr << " (" << outcome.getReasonCode().cStr() << ")";
    std::cerr << ": " << outcome.getMessage().cStr() << " [request " << request_id << "]\n";
    const std::string code = outcome.getCode().cStr();
    return code == "rejected" || code == "conflict" ? kExitRejected
           : code == "invalid argument"             ? kExitUsage
                                                    : kExitError;
  }
  std::cout << (outcome.getDuplicate() ? "already done" : "ok") << " (request " << request_id
            << "): seq " << outcome.getFirstSeq() << "\n";
  return kExitOk;
}

int RunTerminal(const std::string& action, const TerminalArgs& args) {
  Result<std::pair<std::string, std::string>> credential = ReadCredential(args.credential_file);
  if (!credential.ok()) return Fail("terminal", credential.status());
  const std::string request_id = args.request_id.empty() ? NewRequestId() : args.request_id;
  if (action != "balance" && args.request_id.empty()) {
    std::cerr << "request id " << request_id << " (retry with --request-id " << request_id
              << " if the answer is lost)\n";
  }
  int exit_code = kExitError;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                 capnp::EzRpcClient client(args.server, 7411);
                 auto& ws = client.getWaitScope();
                 auto login = client.getMain<schema::Gateway>().loginRequest();
                 login.setCredentialId(credential->first);
                 login.setSecret(credential->second);
                 // The response owns the message the session's capabilities are read from.
                 auto response = login.send().wait(ws);
                 auto session = response.getSession();
                 if (!session.isTerminal()) {
                   std::cerr << "mulin: terminal: this credential is not a terminal's\n";
                   exit_code = kExitUsage;
                   return;
                 }
                 auto terminal = session.getTerminal();
                 if (action == "balance") {
                   auto req = terminal.balanceRequest();
                   req.setVolunteerId(args.volunteer);
                   auto reply = req.send().wait(ws);
                   std::cout << args.volunteer << ": " << reply.getPoints() << " points\n";
                   exit_code = kExitOk;
                 } else if (action == "redeem") {
                   auto req = terminal.redeemRequest();
                   req.setRequestId(request_id);
                   req.setRedemptionId(args.id.empty() ? request_id : args.id);
                   req.setVolunteerId(args.volunteer);
                   req.setPoints(args.points);
                   exit_code = ReportOutcome(req.send().wait(ws), request_id);
                 } else if (action == "reverse") {
                   auto req = terminal.reverseRequest();
                   req.setRequestId(request_id);
                   req.setRedemptionId(args.id);
                   req.setReason(args.reason);
                   exit_code = ReportOutcome(req.send().wait(ws), request_id);
                 } else {
                   auto req = terminal.recordSaleRequest();
                   req.setRequestId(request_id);
                   req.setSaleId(args.id.empty() ? request_id : args.id);
                   req.setGrossFen(args.gross_fen);
                   exit_code = ReportOutcome(req.send().wait(ws), request_id);
                 }
               })) {
    return Fail("terminal", Status::IoError(e->getDescription().cStr()));
  }
  return exit_code;
}

}  // namespace

void AddTerminalCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<TerminalArgs>();
  CLI::App* terminal = app.add_subcommand(
      "terminal", "A merchant's redemption terminal over the terminal service (`mulin serve`)");
  terminal->add_option("--server", args->server, "Service address (default 127.0.0.1:7411)");
  terminal
      ->add_option("--credential", args->credential_file,
                   "File holding ID:SECRET from `mulin issue-credential -o FILE`")
      ->required();
  terminal->add_option("--request-id", args->request_id,
                       "Idempotency key; retry a lost answer with the same one (default: new, "
                       "printed)");
  terminal->require_subcommand(1);
  CLI::App* balance = terminal->add_subcommand("balance", "A volunteer's points");
  balance->add_option("VOLUNTEER", args->volunteer, "Volunteer id")->required();
  CLI::App* redeem = terminal->add_subcommand("redeem", "Redeem a volunteer's points here");
  redeem->add_option("VOLUNTEER", args->volunteer, "Volunteer id")->required();
  redeem->add_option("POINTS", args->points, "Points (> 0)")->required();
  redeem->add_option("--redemption", args->id, "Redemption id (default: the request id)");
  CLI::App* reverse = terminal->add_subcommand("reverse",
                                               "Reverse one of this merchant's "
                                               "redemptions");
  reverse->add_option("REDEMPTION", args->id, "Redemption id")->required();
  reverse->add_option("--reason", args->reason, "Why (required)")->required();
  CLI::App* sale = terminal->add_subcommand("sale", "Record a market sale of this merchant");
  sale->add_option("GROSS_FEN", args->gross_fen, "Sale amount in fen")->required();
  sale->add_option("--sale", args->id, "Sale id (default: the request id)");
  for (CLI::App* sub : {balance, redeem, reverse, sale}) {
    sub->callback([sub, args, exit_code] { *exit_code = RunTerminal(sub->get_name(), *args); });
  }
}

}  // namespace mulin::cli
