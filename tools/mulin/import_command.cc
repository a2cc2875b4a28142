// `mulin import FILE`: JSON lines, one command a line, through the same writer as every command.
#include <capnp/compat/json.h>
#include <kj/exception.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <mutex>
#include <vector>

#include "ledger/event_codec.h"
#include "ledger/schema/command.capnp.h"
#include "tools/mulin/cli.h"
#include "tools/mulin/json_check.h"

namespace mulin::cli {
namespace {

// A JSON line holds one command; a few KiB in practice. Longer lines are refused, not parsed.
constexpr size_t kImportLineBytesMax = 64 * 1024;
// Lines in flight before waiting for results: enough to keep the writer's groups full.
constexpr size_t kImportWindowCommands = 4096;

Result<std::string> ParseLine(const capnp::JsonCodec& codec, const std::string& line) {
  if (line.size() > kImportLineBytesMax) {
    return Status::InvalidArgument("line of " + std::to_string(line.size()) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(kImportLineBytesMax));
  }
  if (line.find_first_not_of(" \t\r") == std::string::npos) {
    return Status::InvalidArgument("empty line (one JSON command per line)");
  }
  if (!IsValidUtf8(line)) return Status::InvalidArgument("not valid UTF-8");
  capnp::MallocMessageBuilder json;
  capnp::MallocMessageBuilder message;
  Status checked;
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&] {
                 auto value = json.initRoot<capnp::json::Value>();
                 codec.decodeRaw(kj::ArrayPtr<const char>(line.data(), line.size()), value);
                 checked =
                     CheckJsonFields(value.asReader(), capnp::Schema::from<schema::Command>());
                 if (checked.ok()) {
                   codec.decode(value.asReader(), message.initRoot<schema::Command>());
                 }
               })) {
    return Status::InvalidArgument("malformed JSON command: " +
                                   std::string(exception->getDescription().cStr()));
  }
  if (!checked.ok()) return checked;
  return ledger::EncodeMessage(message);
}

// Collects results of commands submitted asynchronously, and lets the reader wait for room.
class Outcomes {
 public:
  void Expect(size_t line) {
    std::lock_guard<std::mutex> lock(mu_);
    ++in_flight_;
    (void)line;
  }
  void Record(size_t line, const ledger::CommandResult& result) {
    std::lock_guard<std::mutex> lock(mu_);
    if (result.duplicate) ++duplicates_;
    if (result.status.ok()) {
      ++accepted_;
    } else {
      failures_.emplace_back(line, result.status.ToString());
    }
    --in_flight_;
    cv_.notify_all();
  }
  void WaitBelow(size_t limit) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ < limit; });
  }
  int Report() {
    WaitBelow(1);
    std::sort(failures_.begin(), failures_.end());
    for (const auto& [line, reason] : failures_) {
      std::cerr << "line " << line << ": " << reason << "\n";
    }
    std::cout << "imported: " << accepted_ << " accepted (" << duplicates_
              << " already done earlier), " << failures_.size() << " not accepted\n";
    return failures_.empty() ? kExitOk : kExitRejected;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t in_flight_ = 0;
  size_t accepted_ = 0;
  size_t duplicates_ = 0;
  std::vector<std::pair<size_t, std::string>> failures_;
};

int RunImport(const Globals& globals, const std::string& path) {
  std::ifstream file;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) return Fail("import", Status::IoError("cannot read " + path));
  }
  std::istream& in = path == "-" ? std::cin : file;
  Result<WriteLedger> ledger = OpenForWrite(globals);
  if (!ledger.ok()) return Fail("import", ledger.status());
  capnp::JsonCodec codec;
  Outcomes outcomes;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    Result<std::string> command = ParseLine(codec, line);
    outcomes.Expect(number);
    if (!command.ok()) {
      outcomes.Record(number, ledger::CommandResult{command.status(), 0, 0, false});
      continue;
    }
    outcomes.WaitBelow(kImportWindowCommands);
    ledger->writer->Submit(std::move(command).value(),
                           [&outcomes, number](const ledger::CommandResult& result) {
                             outcomes.Record(number, result);
                           });
  }
  // Every submitted line is answered before `outcomes` goes out of scope.
  const int exit_code = outcomes.Report();
  if (in.bad()) return Fail("import", Status::IoError("reading " + path + " failed"));
  return exit_code;
}

}  // namespace

void AddImportCommand(CLI::App& app, const Globals& globals, int* exit_code) {
  auto path = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "import",
      "Apply a file of JSON lines, one Command (ledger/schema/command.capnp) per line; each line "
      "is validated like any command. Rejected or malformed lines are reported with their line "
      "number and append nothing; exit 4 if any.");
  sub->add_option("FILE", *path, "JSON-lines file, or - for stdin")->required();
  sub->footer(
      "Example line:\n  {\"requestId\":\"r-1\",\"actorId\":\"YJ-T01\",\"body\":{\"redeem\":"
      "{\"redemptionId\":\"RD1\",\"volunteerId\":\"XS-V001\",\"terminalId\":\"YJ-T01\","
      "\"points\":\"30\"}}}\nUnknown fields are refused, not ignored.");
  sub->callback([&globals, exit_code, path] { *exit_code = RunImport(globals, *path); });
}

}  // namespace mulin::cli
