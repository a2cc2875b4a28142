// Goal: every bad input a person or a script can give a CLI verb is refused with its documented
// exit code (2 usage, 4 rejected) and a one-line reason on stderr, and leaves the ledger's head
// exactly where it was.
#include <gtest/gtest.h>

#include <cstdio>
#include <iterator>
#include <string>
#include <vector>

#include "tests/reliability/bad_input_support.h"

namespace mulin::testing {
namespace {

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

}  // namespace
}  // namespace mulin::testing
