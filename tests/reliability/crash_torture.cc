// Goal: `mulin serve`, SIGKILLed at random moments under load from many terminal connections, never
// loses an acknowledged command nor applies one twice: after every restart each acknowledged
// command is in the log exactly once, a retried request id is answered exactly once (its original
// result when it had been applied), and `mulin verify` and `mulin reconcile` are clean.
//
// Short mode (CTest): 5 kills. Long mode: MULIN_TORTURE_KILLS=100 (any count); MULIN_TORTURE_SEED
// replays a run's kill moments and command mix (each run prints its seed).
#include <capnp/ez-rpc.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/schema/service.capnp.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace mulin::testing {
namespace {

constexpr int kShortModeKills = 5;
constexpr int kConnections = 16;
constexpr int kTerminals = 4;
constexpr int kVolunteers = 8;
// Enough that no redemption is ever refused: every refusal in this test is then a defect.
constexpr int64_t kOpeningPoints = 1000000000;
// Load runs this long (uniformly at random) before the kill.
constexpr int kLoadMsMin = 20;
constexpr int kLoadMsMax = 400;
// Acknowledged requests asked again after each restart; they must answer as duplicates.
constexpr size_t kReaskedPerRound = 32;

uint32_t EnvNumber(const char* name, uint32_t fallback) {
  const char* text = std::getenv(name);
  return text != nullptr && *text != '\0' ? static_cast<uint32_t>(std::strtoul(text, nullptr, 10))
                                          : fallback;
}

struct Credential {
  std::string id;
  std::string secret;
};

// One command a terminal sent: enough to send it again with the same content.
struct Attempt {
  int terminal = 0;  // T<terminal+1>
  std::string request_id;
  bool sale = false;  // a market sale, else a redemption
  int volunteer = 0;
  int64_t amount = 0;      // points, or gross fen
  uint64_t first_seq = 0;  // from the acknowledgement
};

std::string TerminalId(int terminal) { return "T" + std::to_string(terminal + 1); }
std::string Key(const Attempt& a) { return TerminalId(a.terminal) + "/" + a.request_id; }

struct Answer {
  bool ok = false;
  bool duplicate = false;
  uint64_t first_seq = 0;
  std::string message;
};

// A logged-in terminal connection. The constructor throws when the server is gone.
class TerminalClient {
 public:
  TerminalClient(const std::string& address, const Credential& credential) : rpc_(address) {
    auto login = rpc_.getMain<schema::Gateway>().loginRequest();
    login.setCredentialId(credential.id);
    login.setSecret(credential.secret);
    auto response = login.send().wait(rpc_.getWaitScope());
    terminal_ = response.getSession().getTerminal();
  }

  // Throws kj::Exception when the connection dies before the answer.
  Answer Send(const Attempt& a) {
    auto outcome = [&](auto response) {
      auto o = response.getOutcome();
      return Answer{o.getOk(), o.getDuplicate(), o.getFirstSeq(), o.getMessage()};
    };
    if (a.sale) {
      auto r = terminal_.recordSaleRequest();
      r.setRequestId(a.request_id);
      r.setSaleId("S-" + a.request_id);
      r.setGrossFen(a.amount);
      return outcome(r.send().wait(rpc_.getWaitScope()));
    }
    auto r = terminal_.redeemRequest();
    r.setRequestId(a.request_id);
    r.setRedemptionId("RD-" + a.request_id);
    r.setVolunteerId("V" + std::to_string(a.volunteer));
    r.setPoints(a.amount);
    return outcome(r.send().wait(rpc_.getWaitScope()));
  }

 private:
  capnp::EzRpcClient rpc_;
  schema::Terminal::Client terminal_ = nullptr;
};

// What all connections saw; guarded by `mu`.
struct Tally {
  std::mutex mu;
  std::map<std::string, Attempt> acknowledged;  // by Key()
  std::vector<Attempt> unanswered;              // in flight when the server died
  std::vector<std::string> refusals;            // every one a defect here
};

class CrashTorture : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.Sub("ledger");
    const std::string setup = dir_.Sub("setup.jsonl");
    std::ofstream out(setup);
    int n = 0;
    auto line = [&](const std::string& actor, const std::string& community,
                    const std::string& body) {
      out << R"({"requestId":"setup-)" << ++n << R"(","actorId":")" << actor
          << R"(","communityId":")" << community << R"(","body":{)" << body << "}}\n";
    };
    line("operator", "yangjiamen", R"("registerCommunity":{"name":"杨家门社区"})");
    line("operator", "yangjiamen",
         R"("registerMember":{"memberId":"ST1","name":"staff","roles":["staff"]})");
    for (int t = 0; t < kTerminals; ++t) {
      const std::string m = "M" + std::to_string(t + 1);
      line("operator", "yangjiamen",
           R"("registerMerchant":{"merchantId":")" + m + R"(","name":")" + m +
               R"(","contributionRateBps":1000})");
      line("operator", "yangjiamen",
           R"("registerTerminal":{"terminalId":")" + TerminalId(t) + R"(","merchantId":")" + m +
               R"("})");
    }
    for (int v = 0; v < kVolunteers; ++v) {
      const std::string id = "V" + std::to_string(v);
      line("operator", "yangjiamen",
           R"("registerMember":{"memberId":")" + id + R"(","name":"v","roles":["volunteer"]})");
      line("ST1", "yangjiamen",
           R"("adjust":{"accountId":"volunteer:)" + id + R"(","unit":"points","delta":")" +
               std::to_string(kOpeningPoints) + R"(","reason":"opening balance"})");
    }
    out.close();
    RunResult imported = Mulin({"import", setup});
    ASSERT_EQ(0, imported.exit_code) << imported.out << imported.err;
    for (int t = 0; t < kTerminals; ++t) {
      const std::string id = "C-" + TerminalId(t);
      const std::string file = dir_.Sub(id + ".secret");
      RunResult r = Mulin({"issue-credential", "--credential", id, "--role", "terminal",
                           "--subject", TerminalId(t), "-o", file});
      ASSERT_EQ(0, r.exit_code) << r.err;
      std::ifstream in(file);
      std::string text;
      std::getline(in, text);
      credentials_.push_back(Credential{id, text.substr(text.find(':') + 1)});
    }
  }

  RunResult Mulin(std::vector<std::string> args) {
    args.insert(args.begin(), {MULIN_BINARY, "--db", db_});
    RunOptions options;
    options.unset_env.push_back("MULIN_DB");
    return mulin::testing::Run(args, options);
  }

  // One connection sends commands until `stop` or until the server dies under it.
  void Load(const std::string& address, int connection, int round, uint32_t seed,
            const std::atomic<bool>* stop) {
    const int terminal = connection % kTerminals;
    std::mt19937 random(seed);
    std::unique_ptr<TerminalClient> client;
    try {
      client = std::make_unique<TerminalClient>(address, credentials_[terminal]);
    } catch (const kj::Exception&) {
      return;  // killed before this connection logged in: nothing was sent
    }
    for (int i = 0; !*stop; ++i) {
      Attempt a;
      a.terminal = terminal;
      a.request_id =
          "r" + std::to_string(round) + "-c" + std::to_string(connection) + "-" + std::to_string(i);
      a.sale = random() % 4 == 0;
      a.volunteer = static_cast<int>(random() % kVolunteers);
      a.amount = a.sale ? 100 + static_cast<int64_t>(random() % 100000) : 1 + random() % 5;
      try {
        Answer answer = client->Send(a);
        std::lock_guard<std::mutex> lock(tally_.mu);
        if (!answer.ok) {
          tally_.refusals.push_back(Key(a) + ": " + answer.message);
          return;
        }
        a.first_seq = answer.first_seq;
        tally_.acknowledged[Key(a)] = a;
      } catch (const kj::Exception&) {
        std::lock_guard<std::mutex> lock(tally_.mu);
        tally_.unanswered.push_back(a);
        return;
      }
    }
  }

  // After a restart: every command left unanswered by the kill is sent again, by its terminal,
  // with its request id; it must now be acknowledged (as a duplicate when it had been applied).
  // A sample of acknowledged commands is asked again and must answer with its original seq.
  void RetryAfterRestart(const std::string& address, std::mt19937* random) {
    std::vector<std::unique_ptr<TerminalClient>> clients;
    for (int t = 0; t < kTerminals; ++t) {
      clients.push_back(std::make_unique<TerminalClient>(address, credentials_[t]));
    }
    std::vector<Attempt> retries;
    retries.swap(tally_.unanswered);
    for (Attempt& a : retries) {
      Answer answer = clients[a.terminal]->Send(a);
      ASSERT_TRUE(answer.ok) << Key(a) << ": " << answer.message;
      a.first_seq = answer.first_seq;
      retried_ += 1;
      retried_applied_before_kill_ += answer.duplicate ? 1 : 0;
      tally_.acknowledged[Key(a)] = a;
    }
    std::vector<const Attempt*> sample;
    for (const auto& [key, a] : tally_.acknowledged) sample.push_back(&a);
    std::shuffle(sample.begin(), sample.end(), *random);
    if (sample.size() > kReaskedPerRound) sample.resize(kReaskedPerRound);
    for (const Attempt* a : sample) {
      Answer answer = clients[a->terminal]->Send(*a);
      EXPECT_TRUE(answer.ok && answer.duplicate) << Key(*a) << ": " << answer.message;
      EXPECT_EQ(a->first_seq, answer.first_seq) << Key(*a);
    }
  }

  // Checks the log against what was acknowledged; returns the number of events read.
  uint64_t CheckLog() {
    ledger::StoreOptions options;
    options.read_only = true;
    auto store = ledger::Store::Open(db_, options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return 0;
    auto log = ledger::EventLog::Open(store->get());
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    if (!log.ok()) return 0;
    std::map<std::string, std::vector<uint64_t>> seqs;  // Key → seqs of its events
    uint64_t events = 0;
    auto cursor = (*log)->NewCursor(1);
    for (; cursor->Valid(); cursor->Next(), ++events) {
      auto event = ledger::DecodeEvent(cursor->payload(), cursor->seq());
      EXPECT_TRUE(event.ok()) << event.status().ToString();
      if (!event.ok()) continue;
      auto e = event->event();
      if (e.getBody().isPointsRedeemed() || e.getBody().isSaleRecorded()) {
        seqs[std::string(e.getActorId()) + "/" + std::string(e.getRequestId())].push_back(
            cursor->seq());
      }
    }
    EXPECT_TRUE(cursor->status().ok()) << cursor->status().ToString();
    for (const auto& [key, a] : tally_.acknowledged) {
      const auto found = seqs.find(key);
      if (found == seqs.end()) {
        ADD_FAILURE() << "acknowledged " << key << " is not in the log";
        continue;
      }
      EXPECT_EQ(1u, found->second.size()) << key;
      EXPECT_EQ(a.first_seq, found->second.front()) << key;
    }
    // Nothing in the log that nobody was told about, and nothing twice.
    EXPECT_EQ(tally_.acknowledged.size(), seqs.size());
    return events;
  }

  TempDir dir_;
  std::string db_;
  std::vector<Credential> credentials_;
  Tally tally_;
  uint64_t retried_ = 0;
  uint64_t retried_applied_before_kill_ = 0;
};

TEST_F(CrashTorture, KilledServerLosesNothingAcknowledgedAndAppliesRetriesOnce) {
  const int kills = static_cast<int>(EnvNumber("MULIN_TORTURE_KILLS", kShortModeKills));
  const uint32_t seed = EnvNumber("MULIN_TORTURE_SEED", std::random_device()());
  std::printf("crash torture: %d kills, seed %u (MULIN_TORTURE_SEED=%u replays it)\n", kills, seed,
              seed);
  std::mt19937 random(seed);
  ServerProcess server(MULIN_BINARY, db_);
  for (int round = 0; round < kills; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_TRUE(server.Start()) << "restart failed; see " << server.log_path();
    ASSERT_NO_FATAL_FAILURE(RetryAfterRestart(server.address(), &random));
    RunResult verify = Mulin({"verify"});
    ASSERT_EQ(0, verify.exit_code) << verify.out << verify.err;
    std::atomic<bool> stop{false};
    std::vector<std::thread> connections;
    for (int c = 0; c < kConnections; ++c) {
      const uint32_t connection_seed = static_cast<uint32_t>(random());
      connections.emplace_back(
          [&, c, connection_seed] { Load(server.address(), c, round, connection_seed, &stop); });
    }
    const int load_ms = kLoadMsMin + static_cast<int>(random() % (kLoadMsMax - kLoadMsMin));
    std::this_thread::sleep_for(std::chrono::milliseconds(load_ms));
    server.Kill();
    stop = true;
    for (std::thread& t : connections) t.join();
    ASSERT_TRUE(tally_.refusals.empty()) << tally_.refusals.front();
  }
  ASSERT_TRUE(server.Start()) << "see " << server.log_path();
  ASSERT_NO_FATAL_FAILURE(RetryAfterRestart(server.address(), &random));
  ASSERT_EQ(0, server.Stop());
  const uint64_t events = CheckLog();
  RunResult verify = Mulin({"verify"});
  EXPECT_EQ(0, verify.exit_code) << verify.out << verify.err;
  RunResult reconcile = Mulin({"reconcile"});
  EXPECT_EQ(0, reconcile.exit_code) << reconcile.out << reconcile.err;
  std::printf(
      "crash torture: %d kills survived, %zu commands acknowledged, %llu retried after a kill "
      "(%llu had been applied before it), %llu events checked\n",
      kills, tally_.acknowledged.size(), static_cast<unsigned long long>(retried_),
      static_cast<unsigned long long>(retried_applied_before_kill_),
      static_cast<unsigned long long>(events));
}

}  // namespace
}  // namespace mulin::testing
