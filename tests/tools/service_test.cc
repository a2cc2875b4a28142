// Goal: the terminal service gives each credential only its role's capability, refuses wrong and
// revoked credentials, never overdraws under 64 concurrent connections, loses no acknowledged
// redemption when killed mid-load (and answers retries exactly once), survives hostile bytes, and
// keeps serving when terminals hang up with commands in flight.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/schema/service.capnp.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/service_client.h"

namespace mulin::testing {
namespace {

constexpr int kVolunteerPoints[] = {400, 300, 200, 100};  // 1000 points in all

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.Sub("ledger");
    Cli({"register-community", "--community", "yangjiamen", "--name", "杨家门社区"});
    Cli({"register-community", "--community", "xishan", "--name", "西山社区"});
    Cli({"register-member", "--community", "xishan", "--id", "S1", "--name", "staff", "--roles",
         "staff"});
    for (int m = 1; m <= 2; ++m) {
      const std::string merchant = "M" + std::to_string(m);
      Cli({"register-merchant", "--community", "yangjiamen", "--id", merchant, "--name", merchant});
      Cli({"register-terminal", "--community", "yangjiamen", "--id", "T" + std::to_string(m),
           "--merchant", merchant});
    }
    for (int v = 1; v <= 4; ++v) {
      const std::string id = "V" + std::to_string(v);
      Cli({"register-member", "--community", "xishan", "--id", id, "--name", id, "--roles",
           "volunteer"});
      Cli({"adjust", "--community", "xishan", "--actor", "S1", "--account", "volunteer:" + id,
           "--unit", "points", "--delta", std::to_string(kVolunteerPoints[v - 1]), "--reason",
           "opening balance"});
    }
    t1_ = Issue("C-T1", "terminal", "T1");
    t2_ = Issue("C-T2", "terminal", "T2");
    auditor_ = Issue("C-AUD", "auditor", "city-audit-office");
    operator_ = Issue("C-OP", "operator", "ops");
  }

  void Cli(std::vector<std::string> args) {
    args.insert(args.begin(), {MULIN_BINARY, "--db", db_});
    RunResult r = mulin::testing::Run(args);
    ASSERT_EQ(0, r.exit_code) << r.err;
  }

  Credential Issue(const std::string& id, const std::string& role, const std::string& subject) {
    const std::string file = dir_.Sub(id + ".secret");
    Cli({"issue-credential", "--credential", id, "--role", role, "--subject", subject, "-o", file});
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    return Credential{id, line.substr(line.find(':') + 1)};
  }

  void StartServer() {
    server_ = std::make_unique<ServerProcess>(MULIN_BINARY, db_);
    ASSERT_TRUE(server_->Start()) << "mulin serve did not start; see " << db_ << ".serve.log";
    ConnectOnce(server_->address());  // before any test starts client threads
  }

  // Redemption ids in the log and how often each appears (read-only, beside or after the server).
  std::map<std::string, int> RedemptionsInLog() {
    ledger::StoreOptions options;
    options.read_only = true;
    std::map<std::string, int> seen;
    auto store = ledger::Store::Open(db_, options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return seen;
    auto log = ledger::EventLog::Open(store->get());
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    if (!log.ok()) return seen;
    auto cursor = (*log)->NewCursor(1);
    for (; cursor->Valid(); cursor->Next()) {
      auto event = ledger::DecodeEvent(cursor->payload(), cursor->seq());
      EXPECT_TRUE(event.ok());
      auto body = event->event().getBody();
      if (body.isPointsRedeemed()) ++seen[body.getPointsRedeemed().getRedemptionId().cStr()];
    }
    EXPECT_TRUE(cursor->status().ok()) << cursor->status().ToString();
    return seen;
  }

  TempDir dir_;
  std::string db_;
  Credential t1_, t2_, auditor_, operator_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ServiceTest, ATerminalActsOnlyForItsOwnMerchant) {
  StartServer();
  Client a(server_->address(), t1_);
  Client b(server_->address(), t2_);
  ASSERT_TRUE(a.session().isTerminal());
  EXPECT_TRUE(a.Redeem("r1", "V1", 10).ok);
  auto reverse = b.session().getTerminal().reverseRequest();
  reverse.setRequestId("b-rev");
  reverse.setRedemptionId("r1");
  reverse.setReason("not ours");
  auto refused = reverse.send().wait(b.ws());
  EXPECT_FALSE(refused.getOutcome().getOk());
  EXPECT_EQ("wrong_merchant", std::string(refused.getOutcome().getReasonCode()));
  auto sale = b.session().getTerminal().recordSaleRequest();
  sale.setRequestId("b-sale");
  sale.setSaleId("S1");
  sale.setGrossFen(10000);
  auto recorded = sale.send().wait(b.ws());
  ASSERT_TRUE(recorded.getOutcome().getOk());
  server_->Stop();
  ledger::StoreOptions options;
  options.read_only = true;
  auto store = ledger::Store::Open(db_, options);
  auto log = ledger::EventLog::Open(store->get());
  auto event = ledger::DecodeEvent(*(*log)->ReadPayload(recorded.getOutcome().getFirstSeq()), 0);
  ASSERT_TRUE(event.ok());
  EXPECT_EQ("M2", std::string(event->event().getBody().getSaleRecorded().getMerchantId()));
}

// `mulin serve` logs what its writer did when it stops; each run of a server reports its own.
TEST_F(ServiceTest, EachStopLineCountsItsOwnRun) {
  StartServer();
  {
    Client a(server_->address(), t1_);
    EXPECT_TRUE(a.Redeem("once-1", "V1", 1).ok);
  }
  ASSERT_EQ(0, server_->Stop());
  uint64_t decided = 0;
  uint64_t groups = 0;
  ASSERT_TRUE(server_->WriterCounts(&decided, &groups)) << "see " << server_->log_path();
  EXPECT_EQ(1u, decided);
  EXPECT_EQ(1u, groups);
  StartServer();
  {
    Client a(server_->address(), t1_);
    EXPECT_TRUE(a.Redeem("again-1", "V1", 1).ok);
    EXPECT_TRUE(a.Redeem("again-1", "V1", 1).ok);  // a repeat: decided, nothing appended
    EXPECT_TRUE(a.Redeem("again-2", "V1", 1).ok);
  }
  ASSERT_EQ(0, server_->Stop());
  ASSERT_TRUE(server_->WriterCounts(&decided, &groups)) << "see " << server_->log_path();
  EXPECT_EQ(3u, decided);
  EXPECT_EQ(2u, groups);
  // Killed, a server logs no stop line, and the earlier runs' lines are not its own.
  StartServer();
  server_->Kill();
  EXPECT_FALSE(server_->WriterCounts(&decided, &groups));
}

TEST_F(ServiceTest, AnAuditorReadsAndCannotWrite) {
  StartServer();
  Client auditor(server_->address(), auditor_);
  ASSERT_TRUE(auditor.session().isAuditor());
  auto cap = auditor.session().getAuditor();
  auto checkpoint = cap.checkpointRequest().send().wait(auditor.ws());
  const uint64_t head = checkpoint.getSeq();
  EXPECT_GT(head, 0u);
  auto page = cap.eventsRequest();
  page.setFromSeq(1);
  page.setLimit(5);
  auto events = page.send().wait(auditor.ws());
  ASSERT_EQ(5u, events.getEvents().size());
  // Posing as a Terminal gets nothing done: the object behind the capability is read-only.
  auto posing = cap.castAs<schema::Terminal>().redeemRequest();
  posing.setRequestId("evil");
  posing.setRedemptionId("evil");
  posing.setVolunteerId("V1");
  posing.setPoints(1);
  EXPECT_ANY_THROW(posing.send().wait(auditor.ws()));
  EXPECT_EQ(head, cap.checkpointRequest().send().wait(auditor.ws()).getSeq());
}

TEST_F(ServiceTest, WrongUnknownAndRevokedCredentialsGetNoCapability) {
  StartServer();
  EXPECT_ANY_THROW(Client(server_->address(), Credential{t1_.id, "0123"}));
  EXPECT_ANY_THROW(Client(server_->address(), Credential{"C-NOBODY", t1_.secret}));
  EXPECT_ANY_THROW(Client(server_->address(), Credential{t1_.id, t2_.secret}));
  Client ops(server_->address(), operator_);
  ASSERT_TRUE(ops.session().isOperator());
  auto revoke = ops.session().getOperator().executeRequest();
  auto command = revoke.initCommand();
  command.setRequestId("revoke-t1");
  command.setActorId("ops");
  auto body = command.getBody().initRevokeCredential();
  body.setCredentialId(t1_.id);
  body.setReason("terminal reported stolen");
  ASSERT_TRUE(revoke.send().wait(ops.ws()).getOutcome().getOk());
  EXPECT_ANY_THROW(Client(server_->address(), t1_));  // new sessions are refused at once
  Client still(server_->address(), t2_);
  EXPECT_TRUE(still.Redeem("t2-after", "V2", 1).ok);
}

TEST_F(ServiceTest, SixtyFourConnectionsNeverOverdraw) {
  StartServer();
  constexpr int kConnections = 64;
  constexpr int kPerConnection = 25;  // 1600 attempts for 1000 points
  std::mutex mu;
  std::set<std::string> acknowledged;
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kConnections; ++c) {
    threads.emplace_back([&, c] {
      Client client(server_->address(), c % 2 == 0 ? t1_ : t2_);
      for (int i = 0; i < kPerConnection; ++i) {
        const std::string id = "c" + std::to_string(c) + "-" + std::to_string(i);
        auto outcome = client.Redeem(id, "V" + std::to_string(1 + (c + i) % 4), 1);
        if (outcome.ok) {
          std::lock_guard<std::mutex> lock(mu);
          acknowledged.insert(id);
        } else {
          EXPECT_EQ("insufficient_points", outcome.reason_code);
          ++refused;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(1000u, acknowledged.size());
  EXPECT_EQ(kConnections * kPerConnection - 1000, refused.load());
  ASSERT_EQ(0, server_->Stop());
  // Its last log line counts what the writer decided and in how many synced groups: each attempt
  // once (refused ones too), in at least one group and at most one group each.
  uint64_t decided = 0;
  uint64_t groups = 0;
  ASSERT_TRUE(server_->WriterCounts(&decided, &groups)) << "see " << server_->log_path();
  EXPECT_EQ(uint64_t{kConnections * kPerConnection}, decided);
  EXPECT_GE(groups, 1u);
  EXPECT_LE(groups, decided);
  std::map<std::string, int> in_log = RedemptionsInLog();
  EXPECT_EQ(acknowledged.size(), in_log.size());
  for (const std::string& id : acknowledged) EXPECT_EQ(1, in_log[id]) << id;
  // The service kept the stored projections following the log, and they agree with a rebuild.
  RunResult status = mulin::testing::Run({MULIN_BINARY, "--db", db_, "projections", "status"});
  EXPECT_EQ(0, status.exit_code) << status.err;
  EXPECT_EQ(4u, CountOf(status.out, ", 0 behind the head")) << status.out;
  RunResult reconcile = mulin::testing::Run({MULIN_BINARY, "--db", db_, "reconcile"});
  EXPECT_EQ(0, reconcile.exit_code) << reconcile.out << reconcile.err;
}

TEST_F(ServiceTest, KilledMidLoadLosesNothingAcknowledgedAndRetriesApplyOnce) {
  StartServer();
  constexpr int kConnections = 16;
  std::mutex mu;
  std::set<std::string> acknowledged, unanswered;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < kConnections; ++c) {
    threads.emplace_back([&, c] {
      std::unique_ptr<Client> connected;
      try {
        connected = std::make_unique<Client>(server_->address(), c % 2 == 0 ? t1_ : t2_);
      } catch (const kj::Exception&) {
        return;  // the kill came before this connection logged in: nothing was sent
      }
      Client& client = *connected;
      for (int i = 0; !stop; ++i) {
        const std::string id = "k" + std::to_string(c) + "-" + std::to_string(i);
        try {
          auto outcome = client.Redeem(id, "V" + std::to_string(1 + c % 4), 1);
          std::lock_guard<std::mutex> lock(mu);
          if (outcome.ok) acknowledged.insert(id);
          if (!outcome.ok) return;  // this volunteer is spent
        } catch (const kj::Exception&) {
          std::lock_guard<std::mutex> lock(mu);
          unanswered.insert(id);  // the server died with this request in flight
          return;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  server_->Kill();
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_FALSE(acknowledged.empty());
  StartServer();
  std::map<std::string, int> in_log = RedemptionsInLog();
  for (const std::string& id : acknowledged) EXPECT_EQ(1, in_log[id]) << id;
  // A terminal that lost its answers retries the same request ids on a new connection.
  for (const std::string& id : unanswered) {
    const int c = std::stoi(id.substr(1, id.find('-') - 1));
    Client client(server_->address(), c % 2 == 0 ? t1_ : t2_);
    auto outcome = client.Redeem(id, "V" + std::to_string(1 + c % 4), 1);
    EXPECT_TRUE(outcome.ok || outcome.reason_code == "insufficient_points") << outcome.code;
  }
  ASSERT_EQ(0, server_->Stop());
  in_log = RedemptionsInLog();
  for (const auto& [id, count] : in_log) EXPECT_EQ(1, count) << id;
  RunResult verify = mulin::testing::Run({MULIN_BINARY, "--db", db_, "verify"});
  EXPECT_EQ(0, verify.exit_code) << verify.out << verify.err;
}

// Sends raw bytes on a fresh connection and reports whether the server closed it.
bool ServerDropsConnectionAfter(const std::string& address, const std::string& bytes) {
  const int port = std::stoi(address.substr(address.find(':') + 1));
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return false;
  (void)!write(fd, bytes.data(), bytes.size());
  shutdown(fd, SHUT_WR);  // a truncated message ends here
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) {
  }
  close(fd);
  return n == 0;  // orderly close by the server (a timeout gives -1)
}

// A terminal that hangs up with commands and reads in flight: the writer completes them after the
// connection is gone, and the server keeps serving the others (under AddressSanitizer, a use of
// anything the gone connection owned ends the server, and Stop's exit code says so).
TEST_F(ServiceTest, HangingUpWithCommandsInFlightLeavesTheServerServing) {
  StartServer();
  constexpr int kHangUps = 20;
  constexpr int kInFlight = 40;  // V1 is asked for at most 10 points per hang-up, 200 of its 400
  for (int h = 0; h < kHangUps; ++h) {
    Client client(server_->address(), h % 2 == 0 ? t1_ : t2_);
    auto terminal = client.session().getTerminal();
    std::vector<kj::Promise<void>> calls;
    for (int i = 0; i < kInFlight; ++i) {
      const std::string id = "h" + std::to_string(h) + "-" + std::to_string(i);
      auto redeem = terminal.redeemRequest();
      redeem.setRequestId(id);
      redeem.setRedemptionId(id);
      redeem.setVolunteerId("V" + std::to_string(1 + i % 4));
      redeem.setPoints(1);
      calls.push_back(redeem.send().ignoreResult());
      auto balance = terminal.balanceRequest();
      balance.setVolunteerId("V1");
      calls.push_back(balance.send().ignoreResult());
    }
    // Sent, not answered: the calls and then the connection are dropped here.
    client.ws().poll();
  }
  Client after(server_->address(), t1_);
  const Client::Outcome outcome = after.Redeem("after-hang-ups", "V1", 1);
  EXPECT_TRUE(outcome.ok) << outcome.code << " " << outcome.reason_code;
  ASSERT_EQ(0, server_->Stop());
}

std::string SegmentTableClaiming(uint32_t words) {
  std::string bytes(8, '\0');
  // Cap'n Proto stream framing: segment count - 1 (0), then the first segment's size in words.
  for (int i = 0; i < 4; ++i) bytes[4 + i] = static_cast<char>((words >> (8 * i)) & 0xff);
  return bytes;
}

TEST_F(ServiceTest, HostileBytesDropOnlyThatConnection) {
  StartServer();
  Client auditor(server_->address(), auditor_);
  auto cap = auditor.session().getAuditor();
  const uint64_t head = cap.checkpointRequest().send().wait(auditor.ws()).getSeq();
  std::string garbage(4096, '\0');
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 131 + 7) % 251);
  EXPECT_TRUE(ServerDropsConnectionAfter(server_->address(), garbage));
  EXPECT_TRUE(ServerDropsConnectionAfter(server_->address(),
                                         SegmentTableClaiming(100) + std::string(80, '\0')));
  EXPECT_TRUE(ServerDropsConnectionAfter(server_->address(),
                                         SegmentTableClaiming(64u << 20) + std::string(64, '\0')));
  // The service still serves the others, and nothing was appended.
  Client terminal(server_->address(), t1_);
  EXPECT_EQ(head, cap.checkpointRequest().send().wait(auditor.ws()).getSeq());
  EXPECT_TRUE(terminal.Redeem("after-hostile", "V1", 1).ok);
}

}  // namespace
}  // namespace mulin::testing
