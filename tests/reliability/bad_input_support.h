// The bad-input campaign's shared ground (tests/RELIABILITY.md): the ledger every case starts
// from and the fixture that runs the real `mulin` binary against it. Its three tables of cases
// (CLI verbs, `mulin import` lines, RPC calls) are bad_input_{cli,import,rpc}_test.cc, built into
// one test program, bad_input_test.
#ifndef MULIN_TESTS_RELIABILITY_BAD_INPUT_SUPPORT_H_
#define MULIN_TESTS_RELIABILITY_BAD_INPUT_SUPPORT_H_

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace mulin::testing {

inline constexpr int kExitUsage = 2;
inline constexpr int kExitRejected = 4;
// The nanhu community's reversal window, set short so that a real-clock test can outlive it.
inline constexpr int kShortReversalWindowS = 1;
inline constexpr char kHelpHint[] = "Run with --help for more information.";

// The ledger every case starts from: two communities, their people, merchants and terminals, an
// order at each step, a reversed redemption, an old redemption in nanhu (1 s reversal window), a
// sale that put 1000 fen into xishan's fund and two pending payouts requested by ST1.
inline const char* const kSetupLines[] = {
    R"({"requestId":"s01","actorId":"operator","communityId":"xishan","body":{"registerCommunity":{"name":"西山社区"}}})",
    R"({"requestId":"s02","actorId":"operator","communityId":"nanhu","body":{"registerCommunity":{"name":"南湖社区"}}})",
    R"({"requestId":"s03","actorId":"operator","communityId":"nanhu","body":{"setRules":{"effectiveFromUs":"0","pointsPerHour":"10","maxMinutesPerOrder":"240","ratingWindowS":"259200","reversalWindowS":"1"}}})",
    R"({"requestId":"s04","actorId":"operator","communityId":"xishan","body":{"registerMember":{"memberId":"ST1","name":"staff one","roles":["staff"]}}})",
    R"({"requestId":"s05","actorId":"operator","communityId":"xishan","body":{"registerMember":{"memberId":"ST2","name":"staff two","roles":["staff"]}}})",
    R"({"requestId":"s06","actorId":"operator","communityId":"xishan","body":{"registerMember":{"memberId":"SW1","name":"social worker","roles":["socialWorker"]}}})",
    R"({"requestId":"s07","actorId":"operator","communityId":"xishan","body":{"registerMember":{"memberId":"R1","name":"resident one","roles":["resident"]}}})",
    R"({"requestId":"s08","actorId":"operator","communityId":"xishan","body":{"registerMember":{"memberId":"R2","name":"resident two","roles":["resident"]}}})",
    R"({"requestId":"s09","actorId":"operator","communityId":"xishan","body":{"registerMember":{"memberId":"V1","name":"王芳","roles":["volunteer"]}}})",
    R"({"requestId":"s10","actorId":"operator","communityId":"xishan","body":{"registerMerchant":{"merchantId":"M1","name":"红杨面馆","contributionRateBps":1000}}})",
    R"({"requestId":"s11","actorId":"operator","communityId":"xishan","body":{"registerTerminal":{"terminalId":"T1","merchantId":"M1"}}})",
    R"({"requestId":"s12","actorId":"operator","communityId":"nanhu","body":{"registerMerchant":{"merchantId":"M2","name":"南湖茶馆","contributionRateBps":1000}}})",
    R"({"requestId":"s13","actorId":"operator","communityId":"nanhu","body":{"registerTerminal":{"terminalId":"T2","merchantId":"M2"}}})",
    R"({"requestId":"s14","actorId":"operator","communityId":"xishan","body":{"registerProject":{"projectId":"P1","name":"爱心门铃"}}})",
    R"({"requestId":"s15","actorId":"ST1","communityId":"xishan","body":{"adjust":{"accountId":"volunteer:V1","unit":"points","delta":"100","reason":"opening balance"}}})",
    R"({"requestId":"s16","actorId":"T2","body":{"redeem":{"redemptionId":"RD-OLD","volunteerId":"V1","terminalId":"T2","points":"5"}}})",
    R"({"requestId":"s17","actorId":"T1","body":{"redeem":{"redemptionId":"RD-REV","volunteerId":"V1","terminalId":"T1","points":"5"}}})",
    R"({"requestId":"s18","actorId":"T1","body":{"reverseRedemption":{"redemptionId":"RD-REV","terminalId":"T1","reason":"wrong item"}}})",
    R"({"requestId":"dup-1","actorId":"T1","body":{"redeem":{"redemptionId":"RD-DUP","volunteerId":"V1","terminalId":"T1","points":"1"}}})",
    R"({"requestId":"s19","actorId":"T1","body":{"recordSale":{"saleId":"S1","merchantId":"M1","grossFen":"10000"}}})",
    R"({"requestId":"s20","actorId":"ST1","body":{"requestPayout":{"payoutId":"PAY-SMALL","projectId":"P1","amountFen":"500","purpose":"doorbells"}}})",
    R"({"requestId":"s21","actorId":"ST1","body":{"requestPayout":{"payoutId":"PAY-BIG","projectId":"P1","amountFen":"100000000","purpose":"a new hall"}}})",
    R"({"requestId":"s22","actorId":"R1","communityId":"xishan","body":{"placeOrder":{"orderId":"O-PLACED","residentId":"R1","service":"读体检报告"}}})",
    R"({"requestId":"s23","actorId":"R1","communityId":"xishan","body":{"placeOrder":{"orderId":"O-DELIV","residentId":"R1","service":"修水管"}}})",
    R"({"requestId":"s24","actorId":"ST1","body":{"dispatchOrder":{"orderId":"O-DELIV","socialWorkerId":"SW1"}}})",
    R"({"requestId":"s25","actorId":"SW1","body":{"acceptOrder":{"orderId":"O-DELIV"}}})",
    R"({"requestId":"s26","actorId":"SW1","body":{"deliverOrder":{"orderId":"O-DELIV","volunteers":[{"volunteerId":"V1","minutes":"60"}]}}})",
};

// A string that is not UTF-8: a lone continuation byte and a truncated three-byte sequence.
inline const std::string kNotUtf8 = std::string("bad\x80name\xe4\xb8", 10);

struct Credential {
  std::string id;
  std::string secret;
};

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The reason a refusal gives: stderr must hold exactly one line (CLI11's usage errors may add its
// fixed hint to run --help); returns that line, or a description of what is wrong with stderr.
inline std::string OneLineReason(const std::string& err, bool* ok) {
  std::vector<std::string> lines = Lines(err);
  if (lines.size() == 2 && lines[1] == kHelpHint) lines.pop_back();
  *ok = lines.size() == 1 && !lines[0].empty() && err.back() == '\n';
  return *ok ? lines[0] : "stderr is not one line: '" + err + "'";
}

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.Sub("ledger");
    const std::string setup = dir_.Sub("setup.jsonl");
    std::ofstream out(setup);
    for (const char* line : kSetupLines) out << line << "\n";
    out.close();
    RunResult r = Mulin({"import", setup});
    ASSERT_EQ(0, r.exit_code) << r.out << r.err;
    setup_done_ = std::chrono::steady_clock::now();
    head_ = Head();
    // Each setup line appends exactly one event.
    const std::string seq = "\"seq\":\"" + std::to_string(std::size(kSetupLines)) + "\"";
    ASSERT_NE(std::string::npos, head_.find(seq)) << head_;
  }

  RunResult Mulin(std::vector<std::string> args, const RunOptions& options = RunOptions()) {
    args.insert(args.begin(), {MULIN_BINARY, "--db", db_});
    RunOptions child = options;
    child.unset_env.push_back("MULIN_DB");
    child.unset_env.push_back("MULIN_ACTOR");
    return mulin::testing::Run(args, child);
  }

  std::string Head() {
    RunResult r = Mulin({"checkpoint", "--json"});
    EXPECT_EQ(0, r.exit_code) << r.err;
    return r.out;
  }

  // The nanhu redemption RD-OLD was recorded during SetUp; waits until its window has surely
  // passed.
  void OutliveReversalWindow() {
    const auto until = setup_done_ + std::chrono::milliseconds(kShortReversalWindowS * 1000 + 200);
    std::this_thread::sleep_until(until);
  }

  void ExpectHeadUnchanged(const std::string& what) {
    const std::string now = Head();
    EXPECT_EQ(head_, now) << what << " moved the head";
    head_ = now;
  }

  void ExpectLedgerVerifies() {
    RunResult verify = Mulin({"verify"});
    EXPECT_EQ(0, verify.exit_code) << verify.out << verify.err;
  }

  Credential Issue(const std::string& id, const std::string& role, const std::string& subject) {
    const std::string file = dir_.Sub(id + ".secret");
    RunResult r = Mulin(
        {"issue-credential", "--credential", id, "--role", role, "--subject", subject, "-o", file});
    EXPECT_EQ(0, r.exit_code) << r.err;
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    return Credential{id, line.substr(line.find(':') + 1)};
  }

  TempDir dir_;
  std::string db_;
  std::string head_;
  std::chrono::steady_clock::time_point setup_done_;
};

}  // namespace mulin::testing

#endif  // MULIN_TESTS_RELIABILITY_BAD_INPUT_SUPPORT_H_
