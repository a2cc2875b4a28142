// Goal: the command verbs, `mulin import` and `mulin demo` behave as DESIGN §5 promises: results
// and rejections with their exit codes and one-line reasons, nothing appended by what is refused,
// import reporting each bad line by number, and a demo whose seed alone decides its chain head.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace mulin::testing {
namespace {

class WriteCliTest : public ::testing::Test {
 protected:
  RunResult Mulin(std::vector<std::string> args, const std::string& db = "") {
    args.insert(args.begin(), {MULIN_BINARY, "--db", db.empty() ? dir_.Sub("ledger") : db});
    return mulin::testing::Run(args);
  }

  void MustSucceed(std::vector<std::string> args) {
    RunResult r = Mulin(std::move(args));
    ASSERT_EQ(0, r.exit_code) << r.out << r.err;
  }

  std::string Checkpoint(const std::string& db = "") {
    RunResult r = Mulin({"checkpoint", "--json"}, db);
    EXPECT_EQ(0, r.exit_code) << r.err;
    return r.out;
  }

  void SetUpXishan() {
    MustSucceed({"register-community", "--community", "xishan", "--name", "西山社区"});
    MustSucceed({"register-member", "--community", "xishan", "--id", "XS-R001", "--name", "居民",
                 "--roles", "resident"});
    MustSucceed({"register-member", "--community", "xishan", "--id", "XS-V001", "--name", "王芳",
                 "--roles", "volunteer,resident"});
  }

  std::string WriteFile(const std::string& name, const std::string& contents) {
    const std::string path = dir_.Sub(name);
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }

  TempDir dir_;
};

TEST_F(WriteCliTest, AVerbAppendsAndPrintsItsSeq) {
  RunResult r = Mulin(
      {"register-community", "--community", "xishan", "--name", "西山社区", "--request-id", "c-1"});
  ASSERT_EQ(0, r.exit_code) << r.err;
  EXPECT_NE(std::string::npos, r.out.find("seq 1")) << r.out;
  RunResult again = Mulin(
      {"register-community", "--community", "xishan", "--name", "西山社区", "--request-id", "c-1"});
  EXPECT_EQ(0, again.exit_code);
  EXPECT_NE(std::string::npos, again.out.find("already done")) << again.out;
}

TEST_F(WriteCliTest, ARejectionExitsFourWithOneLineAndAppendsNothing) {
  SetUpXishan();
  const std::string before = Checkpoint();
  RunResult r = Mulin({"register-member", "--community", "xishan", "--id", "XS-V001", "--name",
                       "again", "--roles", "volunteer"});
  EXPECT_EQ(4, r.exit_code);
  EXPECT_NE(std::string::npos, r.err.find("duplicate_id")) << r.err;
  EXPECT_EQ(1, std::count(r.err.begin(), r.err.end(), '\n')) << r.err;
  EXPECT_EQ(before, Checkpoint());
}

TEST_F(WriteCliTest, SameRequestIdWithOtherContentIsRefused) {
  SetUpXishan();
  MustSucceed({"register-project", "--community", "xishan", "--id", "canteen", "--name", "睦邻餐厅",
               "--request-id", "p-1"});
  const std::string before = Checkpoint();
  RunResult r = Mulin({"register-project", "--community", "xishan", "--id", "canteen2", "--name",
                       "x", "--request-id", "p-1"});
  EXPECT_EQ(4, r.exit_code);
  EXPECT_NE(std::string::npos, r.err.find("different command")) << r.err;
  EXPECT_EQ(before, Checkpoint());
}

TEST_F(WriteCliTest, BadNumbersAndMissingOptionsAreUsageErrors) {
  SetUpXishan();
  const std::string before = Checkpoint();
  EXPECT_EQ(2, Mulin({"register-merchant", "--community", "xishan", "--id", "M1", "--name", "m",
                      "--rate-bps", "ten"})
                   .exit_code);
  EXPECT_EQ(2, Mulin({"register-merchant", "--community", "xishan", "--id", "M1", "--name", "m",
                      "--rate-bps", "-5"})
                   .exit_code);
  EXPECT_EQ(2, Mulin({"register-merchant", "--community", "xishan", "--name", "m"}).exit_code);
  EXPECT_EQ(2, Mulin({"register-member", "--community", "xishan", "--id", "X", "--name", "x",
                      "--roles", "mayor"})
                   .exit_code);
  EXPECT_EQ(2, Mulin({"set-rules", "--community", "xishan", "--effective-from", "yesterday",
                      "--points-per-hour", "10", "--max-minutes", "240", "--rating-window-s", "1",
                      "--reversal-window-s", "1"})
                   .exit_code);
  EXPECT_EQ(2, Mulin({"no-such-verb"}).exit_code);
  EXPECT_EQ(before, Checkpoint());
}

TEST_F(WriteCliTest, TheWholeLoopThroughTheVerbs) {
  SetUpXishan();
  MustSucceed({"register-member", "--community", "xishan", "--id", "XS-ST1", "--name", "干部",
               "--roles", "staff"});
  MustSucceed({"register-member", "--community", "xishan", "--id", "XS-SW1", "--name", "社工",
               "--roles", "socialWorker"});
  MustSucceed({"place-order", "--community", "xishan", "--actor", "XS-R001", "--order", "O1",
               "--resident", "XS-R001", "--service", "体检报告解读"});
  MustSucceed(
      {"dispatch-order", "--actor", "XS-ST1", "--order", "O1", "--social-worker", "XS-SW1"});
  EXPECT_EQ(4, Mulin({"rate-order", "--actor", "XS-R001", "--order", "O1", "--rating", "5"})
                   .exit_code);  // not delivered yet
  MustSucceed({"accept-order", "--actor", "XS-SW1", "--order", "O1"});
  MustSucceed(
      {"deliver-order", "--actor", "XS-SW1", "--order", "O1", "--volunteers", "XS-V001:90"});
  RunResult rated = Mulin({"rate-order", "--actor", "XS-R001", "--order", "O1", "--rating", "5"});
  ASSERT_EQ(0, rated.exit_code) << rated.err;
  EXPECT_NE(std::string::npos, rated.out.find("..")) << rated.out;  // two events: rated, credited
  // The auditor's spreadsheet view: one row per posting, BOM first, Shanghai times.
  RunResult csv = Mulin({"export", "--format", "csv"});
  ASSERT_EQ(0, csv.exit_code) << csv.err;
  EXPECT_EQ(0u, csv.out.rfind("\xEF\xBB\xBFseq,recorded_at,kind,", 0)) << csv.out.substr(0, 80);
  EXPECT_NE(std::string::npos, csv.out.find(",pointsCredited,xishan,XS-R001,")) << csv.out;
  EXPECT_NE(std::string::npos, csv.out.find(",volunteer:XS-V001,points,15,")) << csv.out;
  EXPECT_NE(std::string::npos, csv.out.find(",issuance:xishan,points,-15,")) << csv.out;
  EXPECT_NE(std::string::npos, csv.out.find("+08:00,orderDelivered,")) << csv.out;
}

TEST_F(WriteCliTest, ImportReportsEveryBadLineAndAppliesTheRest) {
  const std::string file = WriteFile(
      "commands.jsonl",
      R"({"requestId":"i-1","actorId":"operator","communityId":"nanhu","body":{"registerCommunity":{"name":"南湖社区"}}})"
      "\n"
      R"({"requestId":"i-2","actorId":"operator","communityId":"nanhu","body":{"registerMember":{"memberId":"NH-V001","name":"李","roles":["volunteer"]}}})"
      "\n"
      "{not json\n"
      R"({"requestId":"i-2","actorId":"operator","communityId":"nanhu","body":{"registerMember":{"memberId":"NH-V002","name":"李","roles":["volunteer"]}}})"
      "\n"
      "\n"
      "{\"requestId\":\"i-6\",\"actorId\":\"operator\",\"communityId\":\"nanhu\","
      "\"body\":{\"registerCommunity\":{\"name\":\"\xff\xfe\"}}}\n"
      R"({"requestId":"i-7","actorId":"operator","communityId":"nowhere","body":{"registerMember":{"memberId":"X","name":"x","roles":["volunteer"]}}})"
      "\n" +
          std::string(70000, ' ') + "\n" +
          R"({"requestId":"i-9","actorId":"operator","communityId":"nanhu","redeem":{"points":"1"}})"
          "\n"
          R"({"requestId":"i-10","actorId":"operator","body":{"registerProject":{"projectId":"p","nmae":"typo"}}})"
          "\n");
  RunResult r = Mulin({"import", file});
  EXPECT_EQ(4, r.exit_code) << r.out << r.err;
  for (const char* line :
       {"line 3:", "line 4:", "line 5:", "line 6:", "line 7:", "line 8:", "line 9:", "line 10:"}) {
    EXPECT_NE(std::string::npos, r.err.find(line)) << line << "\n" << r.err;
  }
  EXPECT_EQ(std::string::npos, r.err.find("line 1:")) << r.err;
  EXPECT_NE(std::string::npos, r.out.find("2 accepted")) << r.out;
  const std::string after_first = Checkpoint();
  EXPECT_NE(std::string::npos, after_first.find("\"seq\":\"2\"")) << after_first;
  // Running the same file again applies nothing new: every good line is answered as before.
  RunResult again = Mulin({"import", file});
  EXPECT_EQ(4, again.exit_code);
  EXPECT_NE(std::string::npos, again.out.find("2 already done")) << again.out;
  EXPECT_EQ(after_first, Checkpoint());
}

TEST_F(WriteCliTest, DemoIsDeterministicAndRefusesANonEmptyLedger) {
  const std::string a = dir_.Sub("demo-a"), b = dir_.Sub("demo-b");
  RunResult first = Mulin({"demo", "--seed", "5"}, a);
  ASSERT_EQ(0, first.exit_code) << first.err;
  EXPECT_NE(std::string::npos, first.out.find("yangjiamen")) << first.out;
  RunResult second = Mulin({"demo", "--seed", "5"}, b);
  ASSERT_EQ(0, second.exit_code) << second.err;
  EXPECT_EQ(Checkpoint(a), Checkpoint(b));
  EXPECT_EQ(0, Mulin({"verify"}, a).exit_code);
  RunResult refused = Mulin({"demo", "--seed", "5"}, a);
  EXPECT_NE(0, refused.exit_code);
  EXPECT_NE(std::string::npos, refused.err.find("--fresh")) << refused.err;
  RunResult other = Mulin({"demo", "--seed", "6", "--fresh"}, b);
  ASSERT_EQ(0, other.exit_code) << other.err;
  EXPECT_NE(Checkpoint(a), Checkpoint(b));
}

}  // namespace
}  // namespace mulin::testing
