// Goal: a checkpoint signed by `mulin checkpoint --sign` proves, to anyone holding the public key,
// that history up to it is unchanged; a tampered checkpoint, another signer's key, or a rewritten
// or truncated history makes `mulin verify --expect-signed` exit 3 and say why.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "ledger/record_format.h"
#include "tests/support/events.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ledger.h"

namespace mulin::testing {
namespace {

constexpr uint64_t kRecords = 12;
constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitIntegrity = 3;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// `text` with the first occurrence of `from` replaced by `to` (which must occur).
std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(std::string::npos, at) << from << " not in " << text;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

class SignedCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ledger_.Open().ok());
    ASSERT_TRUE(ledger_.AppendRedemptions(kRecords, /*batch_records=*/4).ok());
    head_ = ledger_.log().head();
    ledger_.Close();
    Keygen("auditor");
    RunResult sign = Mulin({"checkpoint", "--sign", Secret("auditor"), "-o", checkpoint_});
    ASSERT_EQ(kExitOk, sign.exit_code) << sign.err;
  }

  RunResult Mulin(std::vector<std::string> args) {
    args.insert(args.begin(), {MULIN_BINARY, "--db", ledger_.dir()});
    RunOptions options;
    options.unset_env.push_back("MULIN_DB");
    return mulin::testing::Run(args, options);
  }

  std::string Secret(const std::string& who) { return dir_.Sub(who + ".secret"); }
  std::string Public(const std::string& who) { return dir_.Sub(who + ".public"); }

  void Keygen(const std::string& who) {
    RunResult r = Mulin({"keygen", "--secret-key", Secret(who), "--public-key", Public(who)});
    ASSERT_EQ(kExitOk, r.exit_code) << r.err;
  }

  RunResult VerifySigned(const std::string& checkpoint, const std::string& who = "auditor") {
    return Mulin({"verify", "--expect-signed", checkpoint, "--public-key", Public(who)});
  }

  TempDir dir_;
  TestLedger ledger_{dir_.Sub("ledger")};
  ledger::Head head_;
  std::string checkpoint_ = dir_.Sub("checkpoint.txt");
};

TEST_F(SignedCheckpointTest, AGoodCheckpointHoldsAlsoAfterTheLedgerGrows) {
  const std::string text = ReadFile(checkpoint_);
  EXPECT_EQ(0u, text.find("mulin signed checkpoint v1\nseq: " + std::to_string(kRecords) +
                          "\nchain: " + ledger::HexEncode(head_.chain) + "\n"))
      << text;
  RunResult now = VerifySigned(checkpoint_);
  EXPECT_EQ(kExitOk, now.exit_code) << now.out << now.err;
  EXPECT_NE(std::string::npos, now.out.find("checkpoint " + std::to_string(kRecords) + " holds"));
  ASSERT_TRUE(ledger_.Open().ok());
  ASSERT_TRUE(ledger_.AppendMixed(5).ok());
  ledger_.Close();
  RunResult later = VerifySigned(checkpoint_);
  EXPECT_EQ(kExitOk, later.exit_code) << later.out << later.err;
}

TEST_F(SignedCheckpointTest, ATamperedCheckpointFailsItsSignature) {
  const std::string text = ReadFile(checkpoint_);
  const std::string signature = text.substr(text.find("signature: ") + 11, 128);
  const std::string flipped_signature =
      Replace(text, signature, (signature[0] == '0' ? "1" : "0") + signature.substr(1));
  // An older seq with the chain hash that seq really has would be true, but is not what was
  // signed: every byte before the signature is covered.
  const std::string other_seq =
      Replace(text, "seq: " + std::to_string(kRecords) + "\n", "seq: 3\n");
  const std::string other_time = Replace(text, "time-us: 1", "time-us: 2");
  for (const auto& [name, tampered] :
       {std::pair{"signature", flipped_signature}, {"seq", other_seq}, {"time", other_time}}) {
    SCOPED_TRACE(name);
    const std::string path = dir_.Sub(std::string("tampered-") + name);
    WriteFile(path, tampered);
    RunResult r = VerifySigned(path);
    EXPECT_EQ(kExitIntegrity, r.exit_code) << r.out << r.err;
    EXPECT_NE(std::string::npos, r.err.find("signature does not verify")) << r.err << "\n"
                                                                          << tampered;
  }
}

TEST_F(SignedCheckpointTest, AnotherSignersKeyIsRefused) {
  Keygen("stranger");
  RunResult wrong_key = VerifySigned(checkpoint_, "stranger");
  EXPECT_EQ(kExitIntegrity, wrong_key.exit_code) << wrong_key.out << wrong_key.err;
  EXPECT_NE(std::string::npos, wrong_key.err.find("not by the trusted key")) << wrong_key.err;
  // A stranger's own checkpoint does not pass for the auditor's, even with the auditor's key id.
  const std::string forged = dir_.Sub("forged.txt");
  ASSERT_EQ(kExitOk, Mulin({"checkpoint", "--sign", Secret("stranger"), "-o", forged}).exit_code);
  const std::string auditor_key = ReadFile(Public("auditor")).substr(21, 64);
  const std::string stranger_key = ReadFile(Public("stranger")).substr(21, 64);
  WriteFile(forged, Replace(ReadFile(forged), "key: " + stranger_key, "key: " + auditor_key));
  RunResult r = VerifySigned(forged);
  EXPECT_EQ(kExitIntegrity, r.exit_code) << r.out << r.err;
  EXPECT_NE(std::string::npos, r.err.find("signature does not verify")) << r.err;
}

// Rewrites records `from`..kRecords with new content, a recomputed chain and a matching head, as
// a forger with write access to the disk would: the log alone stays self-consistent.
void RewriteHistory(TestLedger* ledger, uint64_t from) {
  ASSERT_TRUE(ledger->Open().ok());
  Result<std::string> before = ledger->ReadRaw(from - 1);
  ASSERT_TRUE(before.ok());
  Result<ledger::RecordView> previous = ledger::DecodeRecord(from - 1, *before);
  ASSERT_TRUE(previous.ok());
  ledger::ChainHash chain = previous->chain;
  for (uint64_t seq = from; seq <= kRecords; ++seq) {
    const std::string payload = RedemptionPayload(seq, seq == from ? 999999 : 10);
    chain = ledger::ComputeChain(chain, seq, payload);
    ASSERT_TRUE(ledger->WriteRaw(seq, ForgeRecord(seq, payload, chain)).ok());
  }
  ASSERT_TRUE(ledger->WriteRawHead(ledger::Head{kRecords, chain}).ok());
  ledger->Close();
}

TEST_F(SignedCheckpointTest, RewrittenHistoryIsCaughtOnlyByTheCheckpoint) {
  RewriteHistory(&ledger_, 5);
  RunResult alone = Mulin({"verify"});
  EXPECT_EQ(kExitOk, alone.exit_code) << "the forged log is self-consistent: " << alone.out;
  RunResult r = VerifySigned(checkpoint_);
  EXPECT_EQ(kExitIntegrity, r.exit_code) << r.out << r.err;
  EXPECT_NE(std::string::npos, r.out.find("first bad seq: " + std::to_string(kRecords))) << r.out;
}

TEST_F(SignedCheckpointTest, TruncatedHistoryIsCaught) {
  ASSERT_TRUE(ledger_.Open().ok());
  Result<std::string> record = ledger_.ReadRaw(kRecords - 2);
  ASSERT_TRUE(record.ok());
  Result<ledger::RecordView> view = ledger::DecodeRecord(kRecords - 2, *record);
  ASSERT_TRUE(view.ok());
  ASSERT_TRUE(ledger_.DeleteRaw(kRecords).ok());
  ASSERT_TRUE(ledger_.DeleteRaw(kRecords - 1).ok());
  ASSERT_TRUE(ledger_.WriteRawHead(ledger::Head{kRecords - 2, view->chain}).ok());
  ledger_.Close();
  EXPECT_EQ(kExitOk, Mulin({"verify"}).exit_code);
  RunResult r = VerifySigned(checkpoint_);
  EXPECT_EQ(kExitIntegrity, r.exit_code) << r.out << r.err;
  EXPECT_NE(std::string::npos, r.out.find("past the head")) << r.out;
}

TEST_F(SignedCheckpointTest, KeysAreNeverOverwrittenAndTheSecretIsPrivate) {
  struct stat info {};
  ASSERT_EQ(0, stat(Secret("auditor").c_str(), &info));
  EXPECT_EQ(0600u, info.st_mode & 0777);
  const std::string secret = ReadFile(Secret("auditor"));
  RunResult again =
      Mulin({"keygen", "--secret-key", Secret("auditor"), "--public-key", dir_.Sub("new.public")});
  EXPECT_EQ(kExitError, again.exit_code) << again.err;
  EXPECT_NE(std::string::npos, again.err.find("never overwritten")) << again.err;
  EXPECT_EQ(secret, ReadFile(Secret("auditor")));
  // The public key written before the failure is not left behind without its secret.
  EXPECT_NE(0, stat(dir_.Sub("new.public").c_str(), &info));
  EXPECT_EQ(kExitOk, VerifySigned(checkpoint_).exit_code);
}

TEST_F(SignedCheckpointTest, WrongFilesAreUsageOrOperationalErrors) {
  // A secret key given where the public key belongs, a file that is no checkpoint, a missing file.
  RunResult swapped =
      Mulin({"verify", "--expect-signed", checkpoint_, "--public-key", Secret("auditor")});
  EXPECT_EQ(kExitUsage, swapped.exit_code) << swapped.err;
  const std::string garbage = dir_.Sub("garbage.txt");
  WriteFile(garbage, "12:" + std::string(64, 'a') + "\n");
  EXPECT_EQ(kExitUsage, VerifySigned(garbage).exit_code);
  EXPECT_EQ(kExitError, VerifySigned(dir_.Sub("missing.txt")).exit_code);
  RunResult no_key = Mulin({"verify", "--expect-signed", checkpoint_});
  EXPECT_EQ(kExitUsage, no_key.exit_code) << no_key.err;
  RunResult bad_secret = Mulin({"checkpoint", "--sign", Public("auditor")});
  EXPECT_EQ(kExitUsage, bad_secret.exit_code) << bad_secret.err;
}

}  // namespace
}  // namespace mulin::testing
