// `mulin issue-credential`: a random secret for a terminal, auditor or operator of the terminal
// service, shown once (or written to a file); the ledger records only its hash, as an event, so
// issuance and revocation are auditable like everything else.
#include <sodium.h>

#include <fstream>
#include <iostream>

#include "ledger/event_codec.h"
#include "ledger/schema/command.capnp.h"
#include "tools/mulin/cli.h"
#include "tools/mulin/service.h"

namespace mulin::cli {
namespace {

constexpr size_t kSecretBytes = 32;

struct CredentialArgs {
  std::string credential_id;
  std::string role;
  std::string subject;
  std::string output;
  std::string request_id;
};

int RunIssueCredential(const Globals& globals, const CredentialArgs& args) {
  unsigned char secret[kSecretBytes];
  randombytes_buf(secret, sizeof(secret));
  const std::string secret_hex = ledger::HexEncode(secret, sizeof(secret));
  const std::string hash = service::HashSecret(secret_hex);
  sodium_memzero(secret, sizeof(secret));
  capnp::MallocMessageBuilder message;
  auto command = message.initRoot<schema::Command>();
  command.setRequestId(args.request_id.empty() ? NewRequestId() : args.request_id);
  command.setActorId("operator");
  auto body = command.getBody().initIssueCredential();
  body.setCredentialId(args.credential_id);
  body.setRole(args.role == "terminal"  ? schema::CredentialRole::TERMINAL
               : args.role == "auditor" ? schema::CredentialRole::AUDITOR
                                        : schema::CredentialRole::OPERATOR);
  body.setSubjectId(args.subject);
  body.setSecretHash(
      capnp::Data::Reader(reinterpret_cast<const kj::byte*>(hash.data()), hash.size()));
  Result<WriteLedger> ledger = OpenForWrite(globals);
  if (!ledger.ok()) return Fail("issue-credential", ledger.status());
  ledger::CommandResult result = ledger->writer->Execute(ledger::EncodeMessage(message));
  if (!result.status.ok()) return Fail("issue-credential", result.status);
  const std::string credential = args.credential_id + ":" + secret_hex;
  if (!args.output.empty()) {
    std::ofstream out(args.output, std::ios::trunc);
    out << credential << "\n";
    if (!out) return Fail("issue-credential", Status::IoError("cannot write " + args.output));
    std::cout << "credential " << args.credential_id << " issued; secret written to " << args.output
              << " (keep it private; the ledger stores only its hash)\n";
  } else {
    std::cout << "credential " << args.credential_id << " issued. Secret, shown only now:\n"
              << credential << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddIssueCredentialCommand(CLI::App& app, const Globals& globals, int* exit_code) {
  auto args = std::make_shared<CredentialArgs>();
  CLI::App* issue = app.add_subcommand(
      "issue-credential",
      "Issue a service credential (terminal, auditor or operator): a random secret shown once; "
      "the ledger records only its BLAKE2b hash, as an event");
  issue->add_option("--credential", args->credential_id, "Credential id")->required();
  issue->add_option("--role", args->role, "terminal, auditor or operator")
      ->required()
      ->check(CLI::IsMember({"terminal", "auditor", "operator"}));
  issue->add_option("--subject", args->subject, "Terminal id (terminal role) or holder's name")
      ->required();
  issue->add_option("-o,--output", args->output, "Write the secret to this file instead");
  issue->add_option("--request-id", args->request_id, "Idempotency key");
  issue->callback([&globals, exit_code, args] { *exit_code = RunIssueCredential(globals, *args); });
}

}  // namespace mulin::cli
