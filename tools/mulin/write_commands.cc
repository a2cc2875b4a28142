// The command verbs, `mulin import` and `mulin issue-credential`: everything that appends goes
// through the one Writer, as every other caller's commands do.
#include <iostream>
#include <memory>

#include "ledger/event_codec.h"
#include "ledger/writer.h"
#include "tools/mulin/cli.h"
#include "tools/mulin/command_verbs.h"

namespace mulin::cli {
namespace {

void PrintResult(const ledger::CommandResult& result, const std::string& request_id) {
  if (result.duplicate) {
    std::cout << "already done (request " << request_id << "): nothing appended";
  } else {
    std::cout << "ok (request " << request_id << ")";
  }
  if (result.event_count > 0) {
    std::cout << ": seq " << result.first_seq;
    if (result.event_count > 1) std::cout << ".." << result.first_seq + result.event_count - 1;
  }
  std::cout << "\n";
}

struct CommonArgs {
  std::string request_id;
  std::string actor = "operator";
  std::string community;
};

void AddCommonOptions(CLI::App* sub, CommonArgs* common) {
  sub->add_option("--request-id", common->request_id,
                  "Idempotency key: retrying with the same id never applies twice (default: a "
                  "new id, printed)");
  sub->add_option("--actor", common->actor, "Who acts: a member or terminal id (default operator)")
      ->envname("MULIN_ACTOR");
  sub->add_option("--community", common->community, "Community id");
}

int RunVerb(const Globals& globals, const Verb& verb, const CommonArgs& common,
            const std::map<std::string, std::string>& values) {
  capnp::MallocMessageBuilder message;
  auto command = message.initRoot<schema::Command>();
  const std::string request_id = common.request_id.empty() ? NewRequestId() : common.request_id;
  command.setRequestId(request_id);
  command.setActorId(common.actor);
  command.setCommunityId(common.community);
  Status filled = FillBody(verb, values, command);
  if (!filled.ok()) return Fail(verb.name, filled);
  Result<WriteLedger> ledger = OpenForWrite(globals);
  if (!ledger.ok()) return Fail(verb.name, ledger.status());
  ledger::CommandResult result = ledger->writer->Execute(ledger::EncodeMessage(message));
  if (!result.status.ok()) return Fail(verb.name, result.status);
  PrintResult(result, request_id);
  return kExitOk;
}

void AddVerb(CLI::App& app, const Verb& verb, const Globals& globals, int* exit_code) {
  CLI::App* sub = app.add_subcommand(verb.name, verb.help);
  sub->footer(std::string("Example:\n  ") + verb.example);
  auto common = std::make_shared<CommonArgs>();
  AddCommonOptions(sub, common.get());
  auto values = std::make_shared<std::map<std::string, std::string>>();
  for (const VerbOption& option : verb.options) {
    CLI::Option* o = sub->add_option(option.flag, (*values)[option.field], option.help);
    if (option.required) o->required();
  }
  sub->callback([&globals, &verb, exit_code, common, values] {
    std::map<std::string, std::string> given;
    for (const VerbOption& option : verb.options) {
      const std::string& text = values->at(option.field);
      if (!text.empty() || option.required) given[option.field] = text;
    }
    *exit_code = RunVerb(globals, verb, *common, given);
  });
}

}  // namespace

void AddWriteCommands(CLI::App& app, const Globals& globals, int* exit_code) {
  for (const Verb& verb : AllVerbs()) AddVerb(app, verb, globals, exit_code);
  AddImportCommand(app, globals, exit_code);
  AddIssueCredentialCommand(app, globals, exit_code);
}

}  // namespace mulin::cli
