// Goal: every bad line `mulin import` can be given is refused by its line number with exit code 4
// and a one-line reason on stderr, and leaves the ledger's head exactly where it was.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "tests/reliability/bad_input_support.h"

namespace mulin::testing {
namespace {

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

}  // namespace
}  // namespace mulin::testing
