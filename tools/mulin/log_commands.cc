// The integrity commands: verify, checkpoint, export (DESIGN §4–§5).
#include <capnp/message.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>

#include "ledger/event_codec.h"
#include "ledger/schema/report.capnp.h"
#include "ledger/verify.h"
#include "tools/mulin/cli.h"
#include "tools/mulin/export_csv.h"

namespace mulin::cli {
namespace {

struct VerifyArgs {
  std::string expect;         // SEQ:HASH
  std::string expect_signed;  // a signed checkpoint file, checked with public_key
  std::string public_key;
  bool json = false;
};

Result<ledger::Head> ParseCheckpoint(const std::string& text) {
  const size_t colon = text.find(':');
  ledger::Head head;
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument("--expect takes SEQ:HASH, as `mulin checkpoint` prints it");
  }
  const std::string seq_text = text.substr(0, colon);
  if (seq_text.find_first_not_of("0123456789") != std::string::npos || seq_text.size() > 19) {
    return Status::InvalidArgument("--expect: '" + seq_text + "' is not a sequence number");
  }
  head.seq = std::stoull(seq_text);
  if (!ledger::ParseChainHex(std::string_view(text).substr(colon + 1), &head.chain)) {
    return Status::InvalidArgument("--expect: the hash must be 64 hex digits");
  }
  return head;
}

void FillCheckpoint(const ledger::Head& head, schema::Checkpoint::Builder out) {
  out.setSeq(head.seq);
  out.setChainHash(ledger::HexEncode(head.chain));
}

void DrawProgress(uint64_t checked, uint64_t total) {
  const unsigned percent = total == 0 ? 100 : static_cast<unsigned>(checked * 100 / total);
  std::fprintf(stderr, "\rverify: %llu / %llu records (%u%%)", (unsigned long long)checked,
               (unsigned long long)total, percent);
}

int RunVerify(const Globals& globals, const VerifyArgs& args) {
  ledger::VerifyOptions options;
  if (!args.expect.empty()) {
    Result<ledger::Head> expect = ParseCheckpoint(args.expect);
    if (!expect.ok()) return Fail("verify", expect.status());
    options.expect = *expect;
  }
  if (!args.expect_signed.empty()) {
    Result<ledger::Head> expect = ReadSignedCheckpoint(args.expect_signed, args.public_key);
    if (!expect.ok()) return Fail("verify", expect.status());
    options.expect = *expect;
  }
  Result<Ledger> ledger = OpenForRead(globals, /*check_head=*/false);
  if (!ledger.ok()) return Fail("verify", ledger.status());
  const bool draw = !args.json && StderrIsTerminal();
  if (draw) options.progress = DrawProgress;
  const auto start = std::chrono::steady_clock::now();
  Result<ledger::VerifyReport> report = ledger::Verify(*ledger->log, options);
  if (draw) std::fprintf(stderr, "\n");
  if (!report.ok()) return Fail("verify", report.status());
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
  const Status& problem = report->problem;
  if (args.json) {
    capnp::MallocMessageBuilder message;
    auto out = message.initRoot<schema::VerifyReport>();
    out.setOk(problem.ok());
    FillCheckpoint(report->head, out.initHead());
    out.setRecordsChecked(report->records_checked);
    out.setFirstBadSeq(problem.ok() ? 0 : problem.seq());
    out.setProblem(problem.ok() ? "" : problem.message());
    out.setExpectChecked(report->expect_checked);
    out.setElapsedMs(static_cast<uint64_t>(elapsed_ms));
    std::cout << ToJson(out.asReader()) << "\n";
  } else if (problem.ok()) {
    const double seconds = static_cast<double>(elapsed_ms) / 1000.0;
    std::printf("ok: %llu records verified, head %llu:%s (%.2f s)\n",
                (unsigned long long)report->records_checked, (unsigned long long)report->head.seq,
                ledger::HexEncode(report->head.chain).c_str(), seconds);
    if (options.expect) {
      std::printf("checkpoint %llu holds: history up to it is unchanged\n",
                  (unsigned long long)options.expect->seq);
    }
  } else {
    std::printf("FAILED: %s\nfirst bad seq: %llu\n", problem.message().c_str(),
                (unsigned long long)problem.seq());
  }
  return problem.ok() ? kExitOk : kExitIntegrity;
}

int RunCheckpoint(const Globals& globals, bool json) {
  Result<Ledger> ledger = OpenForRead(globals);
  if (!ledger.ok()) return Fail("checkpoint", ledger.status());
  const ledger::Head head = ledger->log->head();
  if (json) {
    capnp::MallocMessageBuilder message;
    auto out = message.initRoot<schema::Checkpoint>();
    FillCheckpoint(head, out);
    std::cout << ToJson(out.asReader()) << "\n";
  } else {
    std::cout << "seq:   " << head.seq << "\nchain: " << ledger::HexEncode(head.chain)
              << "\n\nKeep this line; `mulin verify --expect` proves history up to it unchanged:\n"
              << head.seq << ":" << ledger::HexEncode(head.chain) << "\n";
  }
  return kExitOk;
}

struct ExportArgs {
  std::string format;
  uint64_t from_seq = 1;
  uint64_t to_seq = 0;
  std::string output;
};

int RunExport(const Globals& globals, const ExportArgs& args) {
  Result<Ledger> ledger = OpenForRead(globals);
  if (!ledger.ok()) return Fail("export", ledger.status());
  std::ofstream file;
  if (!args.output.empty()) {
    file.open(args.output, std::ios::binary | std::ios::trunc);
    if (!file) return Fail("export", Status::IoError("cannot write " + args.output));
  }
  std::ostream& out = args.output.empty() ? std::cout : file;
  capnp::JsonCodec codec;
  std::unique_ptr<projections::CsvWriter> csv;
  if (args.format == "csv") {
    csv = std::make_unique<projections::CsvWriter>(&out);
    WriteEventCsvHeader(csv.get());
  }
  uint64_t exported = 0;
  auto cursor = ledger->log->NewCursor(args.from_seq, args.to_seq);
  for (; cursor->Valid(); cursor->Next()) {
    if (args.format == "capnp") {
      // The payload is already one unpacked message: the stream `capnp decode` reads.
      out.write(cursor->payload().data(), static_cast<std::streamsize>(cursor->payload().size()));
    } else {
      Result<ledger::DecodedEvent> event = ledger::DecodeEvent(cursor->payload(), cursor->seq());
      if (!event.ok()) return Fail("export", event.status());
      if (csv) {
        WriteEventCsvRows(event->event(), csv.get());
      } else {
        out << codec.encode(event->event()).cStr() << "\n";
      }
    }
    ++exported;
  }
  if (!cursor->status().ok()) return Fail("export", cursor->status());
  out.flush();
  if (!out) return Fail("export", Status::IoError("write failed"));
  std::cerr << "exported " << exported << " events\n";
  return kExitOk;
}

}  // namespace

void AddLogCommands(CLI::App& app, const Globals& globals, int* exit_code) {
  auto verify_args = std::make_shared<VerifyArgs>();
  CLI::App* verify = app.add_subcommand(
      "verify",
      "Check every record's checksum, the whole hash chain and the head; names the first bad "
      "seq. Exit 0 clean, 3 on any problem.");
  verify->add_option("--expect", verify_args->expect,
                     "A checkpoint SEQ:HASH from `mulin checkpoint`: prove history up to it is "
                     "unchanged");
  CLI::Option* expect_signed = verify->add_option(
      "--expect-signed", verify_args->expect_signed,
      "A signed checkpoint from `mulin checkpoint --sign`: check its signature, then prove "
      "history up to it is unchanged");
  CLI::Option* public_key = verify->add_option("--public-key", verify_args->public_key,
                                               "The signer's public key (from `mulin keygen`)");
  expect_signed->needs(public_key)->excludes("--expect");
  public_key->needs(expect_signed);
  verify->add_flag("--json", verify_args->json, "Machine-readable report on stdout");
  verify->callback(
      [&globals, exit_code, verify_args] { *exit_code = RunVerify(globals, *verify_args); });

  auto checkpoint_json = std::make_shared<bool>(false);
  CLI::App* checkpoint = app.add_subcommand(
      "checkpoint", "Print the head: seq and chain hash (keep it to verify later)");
  checkpoint->add_flag("--json", *checkpoint_json, "Machine-readable output");
  auto sign_key = std::make_shared<std::string>();
  auto signed_output = std::make_shared<std::string>();
  CLI::Option* sign = checkpoint->add_option(
      "--sign", *sign_key,
      "Secret key from `mulin keygen`: write a signed checkpoint (seq, chain hash, time, "
      "Ed25519 signature) that `mulin verify --expect-signed` checks");
  checkpoint->add_option("-o,--output", *signed_output, "Write the signed checkpoint here")
      ->needs(sign);
  sign->excludes("--json");
  checkpoint->callback([&globals, exit_code, checkpoint_json, sign_key, signed_output] {
    *exit_code = sign_key->empty() ? RunCheckpoint(globals, *checkpoint_json)
                                   : RunSignedCheckpoint(globals, *sign_key, *signed_output);
  });

  auto export_args = std::make_shared<ExportArgs>();
  CLI::App* exp = app.add_subcommand(
      "export",
      "Write events in seq order. capnp: a stream of Event messages that `capnp decode "
      "ledger/schema/event.capnp Event` reads; jsonl: one JSON object per line");
  exp->add_option("--format", export_args->format,
                  "capnp, jsonl, or csv (one row per posting, for spreadsheets)")
      ->required()
      ->check(CLI::IsMember({"capnp", "jsonl", "csv"}));
  exp->add_option("--from-seq", export_args->from_seq, "First seq (default 1)")
      ->check(CLI::PositiveNumber);
  exp->add_option("--to-seq", export_args->to_seq, "Last seq (default: the head)");
  exp->add_option("-o,--output", export_args->output, "Output file (default stdout)");
  exp->callback(
      [&globals, exit_code, export_args] { *exit_code = RunExport(globals, *export_args); });
}

}  // namespace mulin::cli
