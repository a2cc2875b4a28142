// Goal: the built `mulin` program keeps the contract of DESIGN §4–§5 for verify, checkpoint and
// export: exit codes 0/1/2/3, the first bad seq in text and JSON output, checkpoints that
// `--expect` accepts, and exports that the stock `capnp decode` tool and a JSON parser read.
#include <capnp/compat/json.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ledger/event_codec.h"
#include "ledger/receipt_index.h"
#include "ledger/schema/event.capnp.h"
#include "ledger/schema/report.capnp.h"
#include "ledger/store.h"
#include "tests/support/events.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ledger.h"

namespace mulin {
namespace {

using mulin::testing::RunOptions;
using mulin::testing::RunResult;
using mulin::testing::TempDir;
using mulin::testing::TestLedger;

constexpr uint64_t kEvents = 40;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++count;
  }
  return count;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ledger_.Open().ok());
    ASSERT_TRUE(ledger_.AppendMixed(kEvents).ok());
    head_ = ledger_.log().head();
    ledger_.Close();
  }

  // Runs `mulin --db <ledger> args...` with no MULIN_DB in its environment.
  RunResult Mulin(std::vector<std::string> args, RunOptions options = RunOptions()) {
    args.insert(args.begin(), {MULIN_BINARY, "--db", ledger_.dir()});
    options.unset_env.push_back("MULIN_DB");
    return mulin::testing::Run(args, options);
  }

  // Damages one byte in the middle of a stored record, as a failing disk would.
  void FlipByteOf(uint64_t seq) {
    ASSERT_TRUE(ledger_.Open().ok());
    Result<std::string> record = ledger_.ReadRaw(seq);
    ASSERT_TRUE(record.ok());
    ASSERT_TRUE(ledger_.WriteRaw(seq, testing::FlipByte(*record, record->size() / 2, 0x04)).ok());
    ledger_.Close();
  }

  template <typename Schema>
  void ParseJson(const std::string& json, capnp::MallocMessageBuilder* message) {
    capnp::JsonCodec codec;
    KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
                   codec.decode(kj::StringPtr(json.c_str()), message->initRoot<Schema>());
                 })) {
      ADD_FAILURE() << "not JSON of " << typeid(Schema).name() << ": " << json << "\n"
                    << exception->getDescription().cStr();
    }
  }

  std::string CheckpointText() {
    return std::to_string(head_.seq) + ":" + ledger::HexEncode(head_.chain);
  }

  TempDir dir_;
  TestLedger ledger_{dir_.Sub("ledger")};
  ledger::Head head_;
};

TEST_F(CliTest, VerifyExitsZeroOnACleanLog) {
  const RunResult run = Mulin({"verify"});
  EXPECT_EQ(0, run.exit_code) << run.out << run.err;
  EXPECT_NE(std::string::npos, run.out.find("ok: 40 records verified, head " + CheckpointText()))
      << run.out;

  const RunResult json = Mulin({"verify", "--json"});
  EXPECT_EQ(0, json.exit_code) << json.err;
  capnp::MallocMessageBuilder message;
  ParseJson<schema::VerifyReport>(json.out, &message);
  auto report = message.getRoot<schema::VerifyReport>().asReader();
  EXPECT_TRUE(report.getOk());
  EXPECT_EQ(kEvents, report.getRecordsChecked());
  EXPECT_EQ(0u, report.getFirstBadSeq());
  EXPECT_EQ(ledger::HexEncode(head_.chain), std::string(report.getHead().getChainHash()));
}

TEST_F(CliTest, VerifyExitsThreeNamingTheFlippedRecord) {
  FlipByteOf(17);
  const RunResult run = Mulin({"verify"});
  EXPECT_EQ(3, run.exit_code) << run.out << run.err;
  EXPECT_NE(std::string::npos, run.out.find("first bad seq: 17")) << run.out;
  EXPECT_NE(std::string::npos, run.out.find("record 17: checksum mismatch")) << run.out;

  const RunResult json = Mulin({"verify", "--json"});
  EXPECT_EQ(3, json.exit_code) << json.err;
  capnp::MallocMessageBuilder message;
  ParseJson<schema::VerifyReport>(json.out, &message);
  auto report = message.getRoot<schema::VerifyReport>().asReader();
  EXPECT_FALSE(report.getOk());
  EXPECT_EQ(17u, report.getFirstBadSeq());
  EXPECT_NE(std::string::npos, std::string(report.getProblem()).find("record 17"));
  EXPECT_EQ(kEvents, report.getHead().getSeq());
}

TEST_F(CliTest, VerifyNamesADeletedLastRecordAndCheckpointRefusesTheLog) {
  ASSERT_TRUE(ledger_.Open().ok());
  ASSERT_TRUE(ledger_.DeleteRaw(kEvents).ok());
  ledger_.Close();
  const RunResult verify = Mulin({"verify"});
  EXPECT_EQ(3, verify.exit_code) << verify.out << verify.err;
  EXPECT_NE(std::string::npos, verify.out.find("first bad seq: 40")) << verify.out;
  const RunResult checkpoint = Mulin({"checkpoint"});
  EXPECT_EQ(3, checkpoint.exit_code) << checkpoint.out << checkpoint.err;
  EXPECT_NE(std::string::npos, checkpoint.err.find("last record is seq 39")) << checkpoint.err;
}

TEST_F(CliTest, CheckpointPrintsTheHeadInTextAndJson) {
  const RunResult text = Mulin({"checkpoint"});
  EXPECT_EQ(0, text.exit_code) << text.err;
  ASSERT_FALSE(Lines(text.out).empty());
  EXPECT_EQ(CheckpointText(), Lines(text.out).back());

  const RunResult json = Mulin({"checkpoint", "--json"});
  EXPECT_EQ(0, json.exit_code) << json.err;
  capnp::MallocMessageBuilder message;
  ParseJson<schema::Checkpoint>(json.out, &message);
  auto checkpoint = message.getRoot<schema::Checkpoint>().asReader();
  EXPECT_EQ(kEvents, checkpoint.getSeq());
  EXPECT_EQ(ledger::HexEncode(head_.chain), std::string(checkpoint.getChainHash()));
}

TEST_F(CliTest, ExpectHoldsForTheCurrentAndAnOlderCheckpoint) {
  const std::string checkpoint = Lines(Mulin({"checkpoint"}).out).back();
  const RunResult now = Mulin({"verify", "--expect", checkpoint});
  EXPECT_EQ(0, now.exit_code) << now.out << now.err;
  EXPECT_NE(std::string::npos, now.out.find("checkpoint 40 holds")) << now.out;
  // The log grows; the old checkpoint still proves history up to it unchanged.
  ASSERT_TRUE(ledger_.Open().ok());
  ASSERT_TRUE(ledger_.AppendMixed(5).ok());
  ledger_.Close();
  const RunResult later = Mulin({"verify", "--json", "--expect", checkpoint});
  EXPECT_EQ(0, later.exit_code) << later.out << later.err;
  capnp::MallocMessageBuilder message;
  ParseJson<schema::VerifyReport>(later.out, &message);
  EXPECT_TRUE(message.getRoot<schema::VerifyReport>().getExpectChecked());
  EXPECT_EQ(45u, message.getRoot<schema::VerifyReport>().getRecordsChecked());
}

TEST_F(CliTest, ExpectWithAWrongHashExitsThree) {
  std::string wrong = CheckpointText();
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  const RunResult run = Mulin({"verify", "--expect", wrong});
  EXPECT_EQ(3, run.exit_code) << run.out << run.err;
  EXPECT_NE(std::string::npos, run.out.find("first bad seq: 40")) << run.out;
  EXPECT_NE(std::string::npos, run.out.find("was rewritten")) << run.out;
}

TEST_F(CliTest, ExpectWithMalformedTextExitsTwo) {
  const std::string hash = ledger::HexEncode(head_.chain);
  for (const std::string& malformed : std::vector<std::string>{
           "40", "abc", ":" + hash, "x40:" + hash, "40:" + hash.substr(1), "40:" + hash + "0",
           "40:" + hash.substr(1) + "g", "99999999999999999999:" + hash}) {
    SCOPED_TRACE(malformed);
    const RunResult run = Mulin({"verify", "--expect", malformed});
    EXPECT_EQ(2, run.exit_code) << run.out << run.err;
    EXPECT_NE(std::string::npos, run.err.find("--expect")) << run.err;
  }
}

TEST_F(CliTest, CapnpExportIsReadByTheStockTool) {
  const std::string file = dir_.Sub("events.bin");
  const RunResult run = Mulin({"export", "--format", "capnp", "-o", file});
  ASSERT_EQ(0, run.exit_code) << run.err;
  EXPECT_NE(std::string::npos, run.err.find("exported 40 events")) << run.err;
  RunOptions from_file;
  from_file.stdin_path = file;
  const RunResult decoded = mulin::testing::Run(
      {MULIN_CAPNP_TOOL, "decode", MULIN_SOURCE_DIR "/ledger/schema/event.capnp", "Event"},
      from_file);
  ASSERT_EQ(0, decoded.exit_code) << decoded.err;
  EXPECT_EQ(kEvents, Count(decoded.out, "( seq = ")) << decoded.out;
  for (uint64_t seq = 1; seq <= kEvents; ++seq) {
    const std::string id = seq % 2 == 1 ? "redemptionId = \"RD" : "saleId = \"S";
    EXPECT_NE(std::string::npos, decoded.out.find("( seq = " + std::to_string(seq) + ","))
        << "seq " << seq;
    EXPECT_NE(std::string::npos, decoded.out.find(id + std::to_string(seq) + "\""))
        << "seq " << seq;
  }
  // Without -o the same bytes go to stdout.
  EXPECT_EQ(ReadFile(file), Mulin({"export", "--format", "capnp"}).out);
}

TEST_F(CliTest, CapnpExportOfARangeHoldsExactlyThatRange) {
  const std::string file = dir_.Sub("range.bin");
  ASSERT_EQ(0,
            Mulin({"export", "--format", "capnp", "--from-seq", "5", "--to-seq", "9", "-o", file})
                .exit_code);
  RunOptions from_file;
  from_file.stdin_path = file;
  const RunResult decoded = mulin::testing::Run(
      {MULIN_CAPNP_TOOL, "decode", MULIN_SOURCE_DIR "/ledger/schema/event.capnp", "Event"},
      from_file);
  ASSERT_EQ(0, decoded.exit_code) << decoded.err;
  EXPECT_EQ(5u, Count(decoded.out, "( seq = "));
  EXPECT_NE(std::string::npos, decoded.out.find("( seq = 5,"));
  EXPECT_NE(std::string::npos, decoded.out.find("( seq = 9,"));
  EXPECT_EQ(std::string::npos, decoded.out.find("( seq = 10,"));
}

TEST_F(CliTest, JsonlExportHasOneParsableLinePerEvent) {
  const RunResult run = Mulin({"export", "--format", "jsonl"});
  ASSERT_EQ(0, run.exit_code) << run.err;
  const std::vector<std::string> lines = Lines(run.out);
  ASSERT_EQ(kEvents, lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    capnp::MallocMessageBuilder message;
    ParseJson<schema::Event>(lines[i], &message);
    auto event = message.getRoot<schema::Event>().asReader();
    EXPECT_EQ(i + 1, event.getSeq());
    EXPECT_EQ(
        i % 2 == 0 ? schema::Event::Body::POINTS_REDEEMED : schema::Event::Body::SALE_RECORDED,
        event.getBody().which());
  }
  EXPECT_EQ(10u,
            Lines(Mulin({"export", "--format", "jsonl", "--from-seq", "11", "--to-seq", "20"}).out)
                .size());
}

TEST_F(CliTest, ExportOfADamagedLogExitsThreeNamingTheSeq) {
  FlipByteOf(17);
  for (const char* format : {"jsonl", "capnp"}) {
    SCOPED_TRACE(format);
    const RunResult run = Mulin({"export", "--format", format, "-o", dir_.Sub("out")});
    EXPECT_EQ(3, run.exit_code) << run.err;
    EXPECT_NE(std::string::npos, run.err.find("record 17")) << run.err;
  }
}

TEST_F(CliTest, UnknownEventKindIsReportedNotACrash) {
  // A record written by a newer mulin: a correct frame and chain around an event kind this build
  // does not know (the body discriminant patched past the last known kind).
  std::string payload = testing::RedemptionPayload(kEvents + 1);
  const uint32_t offset =
      capnp::Schema::from<schema::Event::Body>().getProto().getStruct().getDiscriminantOffset();
  const size_t at = 16 + 2 * offset;  // segment table, root pointer (offset 0), then data
  payload.at(at) = static_cast<char>(0x7f);
  ASSERT_TRUE(ledger_.Open().ok());
  ASSERT_TRUE(ledger_.log().Append({payload}, {}).ok());
  ledger_.Close();
  const RunResult verify = Mulin({"verify"});
  EXPECT_EQ(3, verify.exit_code) << verify.out << verify.err;
  EXPECT_NE(std::string::npos, verify.out.find("unknown event kind")) << verify.out;
  EXPECT_NE(std::string::npos, verify.out.find("first bad seq: 41")) << verify.out;
  const RunResult jsonl = Mulin({"export", "--format", "jsonl"});
  EXPECT_EQ(3, jsonl.exit_code) << jsonl.err;
  EXPECT_NE(std::string::npos, jsonl.err.find("unknown event kind")) << jsonl.err;
}

TEST_F(CliTest, MissingLedgerExitsOneWithAClearMessage) {
  const std::string missing = dir_.Sub("no-such-ledger");
  for (std::vector<std::string> command :
       {std::vector<std::string>{"verify"}, {"checkpoint"}, {"export", "--format", "jsonl"}}) {
    SCOPED_TRACE(command.front());
    command.insert(command.begin(), {MULIN_BINARY, "--db", missing});
    RunOptions options;
    options.unset_env = {"MULIN_DB"};
    const RunResult run = mulin::testing::Run(command, options);
    EXPECT_EQ(1, run.exit_code) << run.out << run.err;
    EXPECT_NE(std::string::npos, run.err.find("no ledger at " + missing)) << run.err;
    EXPECT_EQ("", run.out);
  }
  // A read command never creates what it was asked to read.
  EXPECT_FALSE(std::filesystem::exists(missing));
}

// The demo's ledger is written by the writer, so it has a receipt index; reconcile checks it
// against the log, and an entry that lost its reversal (checksum recomputed) fails the nightly run.
TEST(CliReceiptIndexTest, ReconcileExitsThreeWhenTheReceiptIndexDriftsFromTheLog) {
  TempDir dir;
  const std::string db = dir.Sub("demo");
  const RunResult demo = mulin::testing::Run({MULIN_BINARY, "--db", db, "demo"});
  ASSERT_EQ(0, demo.exit_code) << demo.err;
  const RunResult clean = mulin::testing::Run({MULIN_BINARY, "--db", db, "reconcile"});
  EXPECT_EQ(0, clean.exit_code) << clean.out << clean.err;
  EXPECT_NE(std::string::npos, clean.out.find("redemptions and sales match the log")) << clean.out;
  {
    auto store = ledger::Store::Open(db, ledger::StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    rocksdb::ReadOptions all;
    all.total_order_seek = true;
    std::unique_ptr<rocksdb::Iterator> it((*store)->db()->NewIterator(all, (*store)->receipts()));
    bool undone = false;
    for (it->SeekToFirst(); it->Valid() && !undone; it->Next()) {
      const std::string key = it->key().ToString();
      auto entry = ledger::DecodeReceipt(key, it->value().ToString());
      ASSERT_TRUE(entry.ok()) << entry.status().ToString();
      if (entry->reversed_seq == 0) continue;
      entry->reversed_seq = 0;
      ASSERT_TRUE((*store)
                      ->db()
                      ->Put(rocksdb::WriteOptions(), (*store)->receipts(), key,
                            ledger::EncodeReceipt(key, *entry))
                      .ok());
      undone = true;
    }
    ASSERT_TRUE(undone) << "the demo reverses no redemption or sale";
  }
  const RunResult drift = mulin::testing::Run({MULIN_BINARY, "--db", db, "reconcile", "--json"});
  EXPECT_EQ(3, drift.exit_code) << drift.out << drift.err;
  EXPECT_NE(std::string::npos, drift.out.find("does not record its reversal")) << drift.out;
  // The log itself is untouched: verify, which checks the chain, still passes.
  EXPECT_EQ(0, mulin::testing::Run({MULIN_BINARY, "--db", db, "verify"}).exit_code);
}

TEST_F(CliTest, BadUsageExitsTwo) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"verify", "--bogus"},
                                             {"frobnicate"},
                                             {},
                                             {"export"},
                                             {"export", "--format", "xml"},
                                             {"export", "--format", "jsonl", "--from-seq", "0"},
                                             {"export", "--format", "jsonl", "--to-seq", "many"},
                                             {"checkpoint", "extra"}}) {
    std::string joined;
    for (const std::string& arg : args) joined += arg + " ";
    SCOPED_TRACE(joined);
    const RunResult run = Mulin(args);
    EXPECT_EQ(2, run.exit_code) << run.out << run.err;
    EXPECT_FALSE(run.err.empty());
  }
}

TEST_F(CliTest, MulinDbEnvironmentNamesTheLedger) {
  RunOptions options;
  options.set_env = {"MULIN_DB=" + ledger_.dir()};
  const RunResult run = mulin::testing::Run({MULIN_BINARY, "verify"}, options);
  EXPECT_EQ(0, run.exit_code) << run.out << run.err;
  EXPECT_NE(std::string::npos, run.out.find("ok: 40 records verified")) << run.out;
}

TEST_F(CliTest, ReadCommandsWorkWhileAWriterHoldsTheLedger) {
  ASSERT_TRUE(ledger_.Open().ok());  // holds RocksDB's lock, as `mulin serve` would
  ASSERT_TRUE(ledger_.AppendMixed(3).ok());
  const RunResult verify = Mulin({"verify"});
  EXPECT_EQ(0, verify.exit_code) << verify.out << verify.err;
  EXPECT_NE(std::string::npos, verify.out.find("ok: 43 records verified")) << verify.out;
  const RunResult checkpoint = Mulin({"checkpoint"});
  EXPECT_EQ(0, checkpoint.exit_code) << checkpoint.err;
  EXPECT_EQ("43:" + ledger::HexEncode(ledger_.log().head().chain), Lines(checkpoint.out).back());
  EXPECT_EQ(0, Mulin({"export", "--format", "jsonl"}).exit_code);
}

}  // namespace
}  // namespace mulin
