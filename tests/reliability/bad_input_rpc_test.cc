// Goal: every bad RPC call a terminal or an operator can make is refused with its Outcome code
// and a one-line reason (or the connection is dropped), the service keeps serving, and the
// ledger's head stays exactly where it was.
#include <capnp/ez-rpc.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "ledger/schema/service.capnp.h"
#include "tests/reliability/bad_input_support.h"
#include "tests/support/server_process.h"

namespace mulin::testing {
namespace {

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
