// Goal: every bad input a person, a script or a terminal can send (CLI verbs, `mulin import` lines,
// RPC calls) is refused with its documented exit code or outcome and a one-line reason, and leaves
// the ledger's head exactly where it was.
#include <capnp/ez-rpc.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <thread>

#include "ledger/schema/service.capnp.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace mulin::testing {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitRejected = 4;
// The nanhu community's reversal window, set short so that a real-clock test can outlive it.
constexpr int kShortReversalWindowS = 1;
constexpr char kHelpHint[] = "Run with --help for more information.";

// The ledger every case starts from: two communities, their people, merchants and terminals, an
// order at each step, a reversed redemption, an old redemption in nanhu (1 s reversal window), a
// sale that put 1000 fen into xishan's fund and two pending payouts requested by ST1.
const char* const kSetupLines[] = {
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
const std::string kNotUtf8 = std::string("bad\x80name\xe4\xb8", 10);

struct Credential {
  std::string id;
  std::string secret;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The reason a refusal gives: stderr must hold exactly one line (CLI11's usage errors may add its
// fixed hint to run --help); returns that line, or a description of what is wrong with stderr.
std::string OneLineReason(const std::string& err, bool* ok) {
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

struct CliCase {
  std::string name;
  std::vector<std::string> args;
  int exit_code;
  std::string reason;  // must appear in the one line on stderr
};

std::vector<CliCase> CliCases() {
  const std::string redeem_t1[] = {"redeem",       "--actor", "T1",          "--terminal", "T1",
                                   "--redemption", "RD-NEW",  "--volunteer", "V1"};
  auto redeem = [&](std::vector<std::string> more) {
    std::vector<std::string> args(std::begin(redeem_t1), std::end(redeem_t1));
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  auto sale = [](const std::string& gross) {
    return std::vector<std::string>{"record-sale", "--actor", "T1",          "--sale", "S-NEW",
                                    "--merchant",  "M1",      "--gross-fen", gross};
  };
  auto rate = [](const std::string& actor, const std::string& rating) {
    return std::vector<std::string>{"rate-order", "--actor",  actor, "--order",
                                    "O-DELIV",    "--rating", rating};
  };
  auto adjust = [](const std::string& unit, const std::string& delta) {
    return std::vector<std::string>{"adjust",    "--community",  "xishan",    "--actor", "ST1",
                                    "--account", "volunteer:V1", "--unit",    unit,      "--delta",
                                    delta,       "--reason",     "correction"};
  };
  const std::string huge(16 * 1024, 'x');
  return {
      {"zero points", redeem({"--points", "0"}), kExitRejected, "invalid_amount"},
      {"negative points", redeem({"--points", "-5"}), kExitRejected, "invalid_amount"},
      {"int64 min points", redeem({"--points", "-9223372036854775808"}), kExitRejected,
       "invalid_amount"},
      {"int64 max points", redeem({"--points", "9223372036854775807"}), kExitRejected,
       "insufficient_points"},
      {"points past int64", redeem({"--points", "9223372036854775808"}), kExitUsage, "in range"},
      {"points with letters", redeem({"--points", "12abc"}), kExitUsage, "not a whole number"},
      {"fractional points", redeem({"--points", "1.5"}), kExitUsage, "not a whole number"},
      {"empty points", redeem({"--points", ""}), kExitUsage, "not a whole number"},
      {"more points than held", redeem({"--points", "1000"}), kExitRejected, "insufficient_points"},
      {"unknown volunteer",
       {"redeem", "--actor", "T1", "--terminal", "T1", "--redemption", "RD-NEW", "--volunteer",
        "V404", "--points", "1"},
       kExitRejected,
       "unknown_member"},
      {"unknown terminal",
       {"redeem", "--actor", "T9", "--terminal", "T9", "--redemption", "RD-NEW", "--volunteer",
        "V1", "--points", "1"},
       kExitRejected,
       "unknown_terminal"},
      {"terminal acting for another merchant",
       {"redeem", "--actor", "T2", "--terminal", "T1", "--redemption", "RD-NEW", "--volunteer",
        "V1", "--points", "1"},
       kExitRejected,
       "wrong_merchant"},
      {"redeem from a non-volunteer",
       {"redeem", "--actor", "T1", "--terminal", "T1", "--redemption", "RD-NEW", "--volunteer",
        "R1", "--points", "1"},
       kExitRejected,
       "role_required"},
      {"redemption id reused",
       {"redeem", "--actor", "T1", "--terminal", "T1", "--redemption", "RD-REV", "--volunteer",
        "V1", "--points", "1"},
       kExitRejected,
       "duplicate_id"},
      {"zero gross fen", sale("0"), kExitRejected, "invalid_amount"},
      {"negative gross fen", sale("-100"), kExitRejected, "invalid_amount"},
      {"gross fen int64 max", sale("9223372036854775807"), kExitRejected, "amount_too_large"},
      {"gross fen overflowing the contribution", sale("9223372036854776"), kExitRejected,
       "amount_too_large"},
      {"sale for another merchant",
       {"record-sale", "--actor", "T2", "--sale", "S-NEW", "--merchant", "M1", "--gross-fen",
        "100"},
       kExitRejected,
       "wrong_merchant"},
      {"accept before dispatch",
       {"accept-order", "--actor", "SW1", "--order", "O-PLACED"},
       kExitRejected,
       "invalid_order_state"},
      {"deliver before accept",
       {"deliver-order", "--actor", "SW1", "--order", "O-PLACED", "--volunteers", "V1:30"},
       kExitRejected,
       "invalid_order_state"},
      {"cancel after delivery",
       {"cancel-order", "--actor", "R1", "--order", "O-DELIV", "--reason", "changed my mind"},
       kExitRejected,
       "invalid_order_state"},
      {"dispatch by a resident",
       {"dispatch-order", "--actor", "R1", "--order", "O-PLACED", "--social-worker", "SW1"},
       kExitRejected,
       "not_permitted"},
      {"unknown order",
       {"accept-order", "--actor", "SW1", "--order", "O-404"},
       kExitRejected,
       "unknown_order"},
      {"rating 0", rate("R1", "0"), kExitRejected, "invalid_rating"},
      {"rating 6", rate("R1", "6"), kExitRejected, "invalid_rating"},
      {"rating past uint8", rate("R1", "261"), kExitUsage, "out of range"},
      {"rating by another resident", rate("R2", "5"), kExitRejected, "not_permitted"},
      {"negative minutes",
       {"deliver-order", "--actor", "SW1", "--order", "O-PLACED", "--volunteers", "V1:-30"},
       kExitRejected,
       ""},
      {"share without minutes",
       {"deliver-order", "--actor", "SW1", "--order", "O-PLACED", "--volunteers", "V1"},
       kExitUsage,
       "VOLUNTEER:MINUTES"},
      {"reversal twice",
       {"reverse-redemption", "--actor", "T1", "--terminal", "T1", "--redemption", "RD-REV",
        "--reason", "again"},
       kExitRejected,
       "already_reversed"},
      {"reversal by another merchant",
       {"reverse-redemption", "--actor", "T1", "--terminal", "T1", "--redemption", "RD-OLD",
        "--reason", "not ours"},
       kExitRejected,
       "wrong_merchant"},
      {"reversal past the window",
       {"reverse-redemption", "--actor", "T2", "--terminal", "T2", "--redemption", "RD-OLD",
        "--reason", "too late"},
       kExitRejected,
       "reversal_window_passed"},
      {"payout approved by its requester",
       {"approve-payout", "--actor", "ST1", "--payout", "PAY-SMALL"},
       kExitRejected,
       "same_staff"},
      {"payout over the fund",
       {"approve-payout", "--actor", "ST2", "--payout", "PAY-BIG"},
       kExitRejected,
       "insufficient_fund"},
      {"payout approved by a resident",
       {"approve-payout", "--actor", "R1", "--payout", "PAY-SMALL"},
       kExitRejected,
       "not_permitted"},
      {"zero payout",
       {"request-payout", "--actor", "ST1", "--payout", "PAY-0", "--project", "P1", "--amount-fen",
        "0", "--purpose", "nothing"},
       kExitRejected,
       "invalid_amount"},
      {"adjust by int64 min", adjust("points", "-9223372036854775808"), kExitRejected,
       "amount_too_large"},
      {"adjust past int64 max", adjust("points", "9223372036854775807"), kExitRejected,
       "amount_too_large"},
      {"adjust below zero", adjust("points", "-1000"), kExitRejected, "balance_below_zero"},
      {"minutes decreased", adjust("minutes", "-1"), kExitRejected, "minutes_never_decrease"},
      {"unknown unit", adjust("hours", "1"), kExitUsage, "is not one of"},
      {"duplicate request id, different content",
       {"redeem", "--request-id", "dup-1", "--actor", "T1", "--terminal", "T1", "--redemption",
        "RD-DUP", "--volunteer", "V1", "--points", "2"},
       kExitRejected,
       "conflict"},
      {"invalid UTF-8 name",
       {"register-community", "--community", "jiaxing", "--name", kNotUtf8},
       kExitRejected,
       "invalid_text"},
      {"invalid UTF-8 id",
       {"register-member", "--community", "xishan", "--id", kNotUtf8, "--name", "x", "--roles",
        "volunteer"},
       kExitRejected,
       "invalid_id"},
      {"huge name",
       {"register-community", "--community", "jiaxing", "--name", huge},
       kExitRejected,
       "invalid_text"},
      {"huge id",
       {"register-project", "--community", "xishan", "--id", huge, "--name", "x"},
       kExitRejected,
       "invalid_id"},
      {"empty id",
       {"register-project", "--community", "xishan", "--id", "", "--name", "x"},
       kExitRejected,
       "invalid_id"},
      {"unknown role",
       {"register-member", "--community", "xishan", "--id", "X1", "--name", "x", "--roles",
        "wizard"},
       kExitUsage,
       "is not one of"},
      {"community registered twice",
       {"register-community", "--community", "xishan", "--name", "again"},
       kExitRejected,
       "duplicate_id"},
      {"unknown community",
       {"register-member", "--community", "atlantis", "--id", "X1", "--name", "x", "--roles",
        "volunteer"},
       kExitRejected,
       "unknown_community"},
      {"contribution rate over 100%",
       {"register-merchant", "--community", "xishan", "--id", "M9", "--name", "x", "--rate-bps",
        "10001"},
       kExitRejected,
       "invalid_rate"},
      {"contribution rate past uint32",
       {"register-merchant", "--community", "xishan", "--id", "M9", "--name", "x", "--rate-bps",
        "4294967296"},
       kExitUsage,
       "out of range"},
      {"rules in the past",
       {"set-rules", "--community", "xishan", "--effective-from", "2020-01-01", "--points-per-hour",
        "10", "--max-minutes", "240", "--rating-window-s", "60", "--reversal-window-s", "60"},
       kExitRejected,
       "invalid_rules"},
      {"impossible date",
       {"set-rules", "--community", "xishan", "--effective-from", "2026-13-45", "--points-per-hour",
        "10", "--max-minutes", "240", "--rating-window-s", "60", "--reversal-window-s", "60"},
       kExitUsage,
       "out of range"},
      {"the 31st of February",
       {"set-rules", "--community", "xishan", "--effective-from", "2027-02-31", "--points-per-hour",
        "10", "--max-minutes", "240", "--rating-window-s", "60", "--reversal-window-s", "60"},
       kExitUsage,
       "out of range"},
      {"a 60th second",
       {"set-rules", "--community", "xishan", "--effective-from", "2027-06-01T23:59:60",
        "--points-per-hour", "10", "--max-minutes", "240", "--rating-window-s", "60",
        "--reversal-window-s", "60"},
       kExitUsage,
       "out of range"},
      {"zero points per hour",
       {"set-rules", "--community", "xishan", "--effective-from", "0", "--points-per-hour", "0",
        "--max-minutes", "240", "--rating-window-s", "60", "--reversal-window-s", "60"},
       kExitRejected,
       "invalid_rules"},
      {"review of points not held",
       {"review-held-points", "--actor", "SW1", "--order", "O-DELIV", "--approve", "true"},
       kExitRejected,
       "invalid_order_state"},
      {"approve not a bool",
       {"review-held-points", "--actor", "SW1", "--order", "O-DELIV", "--approve", "yes"},
       kExitUsage,
       "true or false"},
      {"unknown credential revoked",
       {"revoke-credential", "--credential", "C-404", "--reason", "lost"},
       kExitRejected,
       "unknown_credential"},
      {"unknown verb", {"launch-rocket"}, kExitUsage, ""},
      {"missing required option",
       {"redeem", "--actor", "T1", "--points", "1"},
       kExitUsage,
       "required"},
      {"unexpected option", {"checkpoint", "--bogus"}, kExitUsage, "--bogus"},
  };
}

TEST_F(BadInputTest, CliVerbsRefuseWithTheirExitCodeAndAppendNothing) {
  const std::vector<CliCase> cases = CliCases();
  ASSERT_GE(cases.size(), 40u);
  OutliveReversalWindow();
  for (const CliCase& c : cases) {
    SCOPED_TRACE(c.name);
    RunResult r = Mulin(c.args);
    EXPECT_EQ(c.exit_code, r.exit_code) << r.out << r.err;
    bool one_line = false;
    const std::string reason = OneLineReason(r.err, &one_line);
    EXPECT_TRUE(one_line) << reason;
    EXPECT_NE(std::string::npos, reason.find(c.reason)) << reason;
    ExpectHeadUnchanged(c.name);
  }
  ExpectLedgerVerifies();
  std::printf("bad CLI inputs tried: %zu\n", cases.size());
}

struct ImportCase {
  std::string name;
  std::string line;
  std::string reason;  // must appear in the one line on stderr, after "line 1: "
};

std::string RedeemLine(const std::string& request_id, const std::string& points) {
  return R"({"requestId":")" + request_id +
         R"(","actorId":"T1","body":{"redeem":{"redemptionId":"RD-NEW","volunteerId":"V1","terminalId":"T1","points":)" +
         points + "}}}";
}

std::vector<ImportCase> ImportCases() {
  const std::string community_named =
      R"({"requestId":"i-1","actorId":"operator","communityId":"jiaxing","body":{"registerCommunity":{"name":")";
  const std::string rate_line =
      R"({"requestId":"i-2","actorId":"R1","body":{"rateOrder":{"orderId":"O-DELIV","rating":)";
  std::string nul_id = RedeemLine("i-nul", R"("1")");
  nul_id.replace(nul_id.find("RD-NEW"), 6, std::string("RD\0NEW", 6));
  return {
      {"empty line", "", "empty line"},
      {"blank line", " \t ", "empty line"},
      {"line over 64 KiB", community_named + std::string(70 * 1024, 'x') + "\"}}}",
       "exceeds the limit"},
      {"invalid UTF-8", community_named + kNotUtf8 + "\"}}}", "UTF-8"},
      {"not JSON", "hello, ledger", "invalid argument"},
      {"JSON array", "[1, 2, 3]", "invalid argument"},
      {"truncated object", R"({"requestId":"i-3","actorId":"T1","body":{"redeem":)",
       "invalid argument"},
      {"arrays nested 100000 deep", std::string(100000, '['), "invalid argument"},
      {"objects nested 10000 deep",
       [] {
         std::string line;
         for (int i = 0; i < 10000; ++i) line += R"({"a":)";
         return line;
       }(),
       "invalid argument"},
      {"NUL byte in an id", nul_id, ""},
      {"no command body", R"({"requestId":"i-4","actorId":"operator","communityId":"jiaxing"})",
       ""},
      {"body without its group",
       R"({"requestId":"i-5","actorId":"operator","communityId":"jiaxing","registerCommunity":{"name":"嘉兴"}})",
       ""},
      {"unknown field",
       R"({"requestId":"i-6","actorId":"operator","communityId":"jiaxing","body":{"registerCommunity":{"nmae":"嘉兴"}}})",
       ""},
      {"an exported event, not a command",
       R"({"seq":"1","recordedAtUs":"1","actorId":"operator","communityId":"jiaxing","requestId":"i-7","body":{"communityRegistered":{"name":"嘉兴"}}})",
       ""},
      {"zero points", RedeemLine("i-8", R"("0")"), "invalid_amount"},
      {"points past int64", RedeemLine("i-9", R"("9223372036854775808")"), "invalid argument"},
      {"points below int64", RedeemLine("i-10", R"("-9223372036854775809")"), "invalid argument"},
      {"fractional points", RedeemLine("i-11", "1.5"), "invalid argument"},
      {"points as a huge float", RedeemLine("i-12", "1e300"), "invalid argument"},
      {"rating 6", rate_line + "6}}}", "invalid_rating"},
      {"rating 0", rate_line + "0}}}", "invalid_rating"},
      {"rating past uint8", rate_line + "261}}}", "invalid argument"},
      {"gross fen overflowing the contribution",
       R"({"requestId":"i-13","actorId":"T1","body":{"recordSale":{"saleId":"S-NEW","merchantId":"M1","grossFen":"9223372036854776"}}})",
       "amount_too_large"},
      {"duplicate request id, different content", RedeemLine("dup-1", R"("2")"), "conflict"},
      {"dispatch by a resident",
       R"({"requestId":"i-14","actorId":"R1","body":{"dispatchOrder":{"orderId":"O-PLACED","socialWorkerId":"SW1"}}})",
       "not_permitted"},
  };
}

TEST_F(BadInputTest, ImportLinesAreRefusedByLineNumberAndAppendNothing) {
  const std::vector<ImportCase> cases = ImportCases();
  const std::string file = dir_.Sub("bad.jsonl");
  for (const ImportCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::ofstream(file, std::ios::binary | std::ios::trunc) << c.line << "\n";
    RunResult r = Mulin({"import", file});
    EXPECT_EQ(kExitRejected, r.exit_code) << r.out << r.err;
    bool one_line = false;
    const std::string reason = OneLineReason(r.err, &one_line);
    EXPECT_TRUE(one_line) << reason;
    EXPECT_EQ(0u, reason.rfind("line 1: ", 0)) << reason;
    EXPECT_NE(std::string::npos, reason.find(c.reason)) << reason;
    EXPECT_NE(std::string::npos, r.out.find("0 accepted")) << r.out;
    ExpectHeadUnchanged(c.name);
  }
  ExpectLedgerVerifies();
  std::printf("bad import lines tried: %zu\n", cases.size());
}

// What an RPC call answered: an Outcome, or an exception (e.g. the connection was dropped).
struct Answer {
  bool threw = false;
  bool ok = false;
  std::string code, reason_code, message;
};

// One logged-in connection.
class Session {
 public:
  Session(const std::string& address, const Credential& credential) : rpc_(address) {
    auto login = rpc_.getMain<schema::Gateway>().loginRequest();
    login.setCredentialId(credential.id);
    login.setSecret(credential.secret);
    auto response = login.send().wait(rpc_.getWaitScope());
    auto session = response.getSession();
    if (session.isTerminal()) terminal_ = session.getTerminal();
    if (session.isOperator()) operator_ = session.getOperator();
  }

  kj::WaitScope& ws() { return rpc_.getWaitScope(); }
  schema::Terminal::Client& terminal() { return terminal_; }
  schema::Operator::Client& op() { return operator_; }

 private:
  capnp::EzRpcClient rpc_;
  schema::Terminal::Client terminal_ = nullptr;
  schema::Operator::Client operator_ = nullptr;
};

template <typename Request>
Answer Send(Request&& request, kj::WaitScope& ws) {
  Answer answer;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                 auto response = request.send().wait(ws);
                 auto outcome = response.getOutcome();
                 answer.ok = outcome.getOk();
                 answer.code = outcome.getCode();
                 answer.reason_code = outcome.getReasonCode();
                 answer.message = outcome.getMessage();
               })) {
    answer.threw = true;
    answer.message = e->getDescription().cStr();
  }
  return answer;
}

struct Sessions {
  Session* t1;
  Session* t2;
  Session* op;
};

struct RpcCase {
  std::string name;
  std::function<Answer(Sessions&)> call;
  std::string code;         // Outcome.code, or "dropped" when the call must fail outright
  std::string reason_code;  // Outcome.reasonCode
};

std::function<Answer(Sessions&)> Redeem(const std::string& request_id,
                                        const std::string& redemption, const std::string& volunteer,
                                        int64_t points) {
  return [=](Sessions& s) {
    auto r = s.t1->terminal().redeemRequest();
    r.setRequestId(request_id);
    r.setRedemptionId(redemption);
    r.setVolunteerId(volunteer);
    r.setPoints(points);
    return Send(r, s.t1->ws());
  };
}

std::function<Answer(Sessions&)> Sale(int64_t gross_fen) {
  return [=](Sessions& s) {
    auto r = s.t1->terminal().recordSaleRequest();
    r.setRequestId("rpc-sale");
    r.setSaleId("S-NEW");
    r.setGrossFen(gross_fen);
    return Send(r, s.t1->ws());
  };
}

std::function<Answer(Sessions&)> Reverse(bool from_t2, const std::string& redemption,
                                         const std::string& reason) {
  return [=](Sessions& s) {
    Session* session = from_t2 ? s.t2 : s.t1;
    auto r = session->terminal().reverseRequest();
    r.setRequestId("rpc-reverse-" + redemption);
    r.setRedemptionId(redemption);
    r.setReason(reason);
    return Send(r, session->ws());
  };
}

std::function<Answer(Sessions&)> Execute(
    const std::string& actor, const std::function<void(schema::Command::Body::Builder)>& fill) {
  return [=](Sessions& s) {
    auto r = s.op->op().executeRequest();
    auto command = r.initCommand();
    command.setRequestId("rpc-op");
    command.setActorId(actor);
    fill(command.getBody());
    return Send(r, s.op->ws());
  };
}

std::vector<RpcCase> RpcCases() {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  auto rate = [](uint8_t rating) {
    return Execute("R1", [rating](auto body) {
      body.initRateOrder().setOrderId("O-DELIV");
      body.getRateOrder().setRating(rating);
    });
  };
  auto approve = [](const std::string& actor, const std::string& payout) {
    return Execute(actor, [payout](auto body) { body.initApprovePayout().setPayoutId(payout); });
  };
  const std::string huge(100 * 1024, 'v');
  return {
      {"zero points", Redeem("rpc-1", "RD-NEW", "V1", 0), "rejected", "invalid_amount"},
      {"negative points", Redeem("rpc-1", "RD-NEW", "V1", -1), "rejected", "invalid_amount"},
      {"int64 min points", Redeem("rpc-1", "RD-NEW", "V1", kMin), "rejected", "invalid_amount"},
      {"int64 max points", Redeem("rpc-1", "RD-NEW", "V1", kMax), "rejected",
       "insufficient_points"},
      {"unknown volunteer", Redeem("rpc-1", "RD-NEW", "V404", 1), "rejected", "unknown_member"},
      {"redeem from a non-volunteer", Redeem("rpc-1", "RD-NEW", "R1", 1), "rejected",
       "role_required"},
      {"redemption id reused", Redeem("rpc-1", "RD-REV", "V1", 1), "rejected", "duplicate_id"},
      {"empty request id", Redeem("", "RD-NEW", "V1", 1), "invalid argument", ""},
      {"invalid UTF-8 volunteer id", Redeem("rpc-1", "RD-NEW", kNotUtf8, 1), "rejected",
       "invalid_id"},
      {"1 KiB volunteer id", Redeem("rpc-1", "RD-NEW", std::string(1024, 'v'), 1), "rejected",
       "invalid_id"},
      // Past the writer's 64 KiB command limit, though within the service's message limit.
      {"100 KiB volunteer id", Redeem("rpc-1", "RD-NEW", huge, 1), "invalid argument", ""},
      {"duplicate request id, different content", Redeem("dup-1", "RD-DUP", "V1", 2), "conflict",
       ""},
      {"zero gross fen", Sale(0), "rejected", "invalid_amount"},
      {"int64 min gross fen", Sale(kMin), "rejected", "invalid_amount"},
      {"gross fen int64 max", Sale(kMax), "rejected", "amount_too_large"},
      {"gross fen overflowing the contribution", Sale(9223372036854776), "rejected",
       "amount_too_large"},
      {"reversal twice", Reverse(false, "RD-REV", "again"), "rejected", "already_reversed"},
      {"reversal of another merchant's redemption", Reverse(false, "RD-OLD", "not ours"),
       "rejected", "wrong_merchant"},
      {"reversal past the window", Reverse(true, "RD-OLD", "too late"), "rejected",
       "reversal_window_passed"},
      {"reversal of an unknown redemption", Reverse(false, "RD-404", "typo"), "rejected",
       "unknown_redemption"},
      {"reversal without a reason", Reverse(false, "RD-DUP", ""), "rejected", "reason_required"},
      {"rating 0", rate(0), "rejected", "invalid_rating"},
      {"rating 6", rate(6), "rejected", "invalid_rating"},
      {"rating 255", rate(255), "rejected", "invalid_rating"},
      {"payout approved by its requester", approve("ST1", "PAY-SMALL"), "rejected", "same_staff"},
      {"payout over the fund", approve("ST2", "PAY-BIG"), "rejected", "insufficient_fund"},
      {"payout approved by a terminal", approve("T1", "PAY-SMALL"), "rejected", ""},
      {"accept before dispatch",
       Execute("SW1", [](auto body) { body.initAcceptOrder().setOrderId("O-PLACED"); }), "rejected",
       "invalid_order_state"},
      {"command with an unset body", Execute("operator", [](auto) {}), "rejected",
       "missing_community"},
      {"adjust by int64 min",
       Execute("ST1",
               [](auto body) {
                 auto a = body.initAdjust();
                 a.setAccountId("volunteer:V1");
                 a.setUnit(schema::Unit::POINTS);
                 a.setDelta(std::numeric_limits<int64_t>::min());
                 a.setReason("overflow");
               }),
       "rejected", "amount_too_large"},
      {"credential with a short secret hash",
       Execute("operator",
               [](auto body) {
                 auto c = body.initIssueCredential();
                 c.setCredentialId("C-SHORT");
                 c.setRole(schema::CredentialRole::OPERATOR);
                 c.setSubjectId("ops");
                 c.initSecretHash(5);
               }),
       "rejected", "invalid_secret_hash"},
      {"negative payout",
       Execute("ST1",
               [](auto body) {
                 auto p = body.initRequestPayout();
                 p.setPayoutId("PAY-NEG");
                 p.setProjectId("P1");
                 p.setAmountFen(-1);
                 p.setPurpose("refund");
               }),
       "rejected", "invalid_amount"},
      // Past the service's 1 MiB message limit: the connection is dropped, nothing is decided.
      {"2 MiB message", Redeem("rpc-1", "RD-NEW", std::string(2 << 20, 'v'), 1), "dropped", ""},
  };
}

TEST_F(BadInputTest, RpcCallsAreRefusedWithAReasonAndAppendNothing) {
  const Credential t1 = Issue("C-T1", "terminal", "T1");
  const Credential t2 = Issue("C-T2", "terminal", "T2");
  const Credential ops = Issue("C-OP", "operator", "ops");
  head_ = Head();
  ServerProcess server(MULIN_BINARY, db_);
  ASSERT_TRUE(server.Start()) << "see " << server.log_path();
  Session s1(server.address(), t1), s2(server.address(), t2), so(server.address(), ops);
  Sessions sessions{&s1, &s2, &so};
  const std::vector<RpcCase> cases = RpcCases();
  OutliveReversalWindow();
  for (const RpcCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Answer answer = c.call(sessions);
    if (c.code == "dropped") {
      EXPECT_TRUE(answer.threw) << answer.code;
    } else {
      ASSERT_FALSE(answer.threw) << answer.message;
      EXPECT_FALSE(answer.ok);
      EXPECT_EQ(c.code, answer.code) << answer.message;
      EXPECT_NE(std::string::npos, answer.reason_code.find(c.reason_code)) << answer.message;
      EXPECT_FALSE(answer.message.empty());
      EXPECT_EQ(std::string::npos, answer.message.find('\n')) << answer.message;
    }
    ExpectHeadUnchanged(c.name);
  }
  // The service survived every case and still serves a good request.
  Session after(server.address(), t1);
  Sessions fresh{&after, &s2, &so};
  EXPECT_TRUE(Redeem("rpc-good", "RD-GOOD", "V1", 1)(fresh).ok);
  EXPECT_EQ(0, server.Stop());
  ExpectLedgerVerifies();
  std::printf("bad RPC calls tried: %zu\n", cases.size());
}

}  // namespace
}  // namespace mulin::testing
