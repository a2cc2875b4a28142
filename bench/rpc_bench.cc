// rpc_bench: redemptions through `mulin serve` over loopback from C connections, each a terminal
// of its own redeeming back to back (closed loop): throughput and p50/p99 latency, and where the
// server's CPU goes by thread. Baseline in the same run: the floor (bench/rpc_floor.h), the same
// connections and calls against a server that answers at once with no ledger behind it.
// Budget (DESIGN §8): ≥ 40k redemptions/s over RPC, p99 ≤ 10 ms, from 64 connections.
//
// Usage: rpc_bench [--commands N] [--connections C] [--client-threads K] [--runs R] [--binary PATH]
//   --client-threads K  the client event loops the connections are spread over (default 2)
//   --binary PATH  the `mulin` to serve with (default: the one built beside this program, whose
//                  path is compiled in); e.g. a script that runs it under valgrind for a profile
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <sodium.h>

#include <thread>

#include "bench/batched_writes.h"
#include "bench/bench_ledger.h"
#include "bench/bench_util.h"
#include "bench/rpc_floor.h"
#include "ledger/schema/service.capnp.h"
#include "tests/support/server_process.h"

namespace mulin::bench {
namespace {

// A redemption request is a few dozen words; without a hint each starts with a zeroed 8 KiB
// segment, client work that shares the two cores with the server being measured.
constexpr capnp::MessageSize kRequestSizeHint{32, 0};

struct Args {
  uint64_t commands = 100000;
  int connections = 64;
  int runs = 3;
  // One client loop per core: with one, the clients' turn between answers held the calls up
  // (bench/RESULTS.md §3: 33.0k/s with one loop against 37.5k and 38.6k/s with two).
  int client_threads = 2;
  std::string binary = MULIN_BINARY;
};

std::string Secret(int terminal) { return "bench-secret-" + std::to_string(terminal); }

void IssueCredentials(BenchLedger* l, int count) {
  for (int t = 0; t < count; ++t) {
    unsigned char hash[32];
    const std::string secret = Secret(t);
    crypto_generichash(hash, sizeof(hash), reinterpret_cast<const unsigned char*>(secret.data()),
                       secret.size(), nullptr, 0);
    auto r = l->writer->Execute(
        mulin::testing::MakeCommand("cred" + std::to_string(t), "operator", "", [&](auto body) {
          auto c = body.initIssueCredential();
          c.setCredentialId("C" + std::to_string(t));
          c.setRole(schema::CredentialRole::TERMINAL);
          c.setSubjectId("T" + std::to_string(t));
          c.setSecretHash(capnp::Data::Reader(hash, sizeof(hash)));
        }));
    Must(r.status.ok(), r.status.ToString());
  }
}

// One connection, a terminal of its own: logs in as terminal `t`, then redeems `count` times back
// to back, recording each latency, on the event loop of the thread that made it. All connections
// of a thread share its loop, as a load generator's do: 64 client threads each waking for every
// answer would spend the two cores' time on context switches that the server being measured needs.
class Terminal {
 public:
  Terminal(kj::AsyncIoProvider& io, const std::string& address, int t, uint64_t count,
           std::vector<double>* ms)
      : t_(t), count_(count), ms_(ms) {
    ms_->reserve(count);
    done_ = io.getNetwork()
                .parseAddress(address)
                .then([](kj::Own<kj::NetworkAddress> a) { return a->connect(); })
                .then([this](kj::Own<kj::AsyncIoStream> stream) {
                  stream_ = kj::heap<BatchedWrites>(kj::mv(stream));
                  client_ = kj::heap<capnp::TwoPartyClient>(*stream_);
                  auto login = client_->bootstrap().castAs<schema::Gateway>().loginRequest();
                  login.setCredentialId("C" + std::to_string(t_));
                  login.setSecret(Secret(t_));
                  return login.send();
                })
                .then([this](capnp::Response<schema::Gateway::LoginResults> session) {
                  terminal_ = session.getSession().getTerminal();
                  return Redeem();
                })
                .eagerlyEvaluate(nullptr);
  }
  kj::Promise<void>& done() { return done_; }

 private:
  kj::Promise<void> Redeem() {
    if (sent_ == count_) return kj::READY_NOW;
    const std::string id = "r" + std::to_string(t_) + "-" + std::to_string(sent_);
    auto req = terminal_.redeemRequest(kRequestSizeHint);
    req.setRequestId(id);
    req.setRedemptionId(id);
    req.setVolunteerId("V" + std::to_string((t_ * 131 + sent_ * 7919) % kBenchVolunteers));
    req.setPoints(1);
    ++sent_;
    const auto begin = std::chrono::steady_clock::now();
    return req.send().then([this, begin](capnp::Response<schema::Terminal::RedeemResults> r) {
      ms_->push_back(SecondsSince(begin) * 1000.0);
      Must(r.getOutcome().getOk(), r.getOutcome().getMessage());
      return Redeem();
    });
  }

  const int t_;
  const uint64_t count_;
  std::vector<double>* const ms_;
  uint64_t sent_ = 0;
  kj::Own<kj::AsyncIoStream> stream_;
  kj::Own<capnp::TwoPartyClient> client_;
  schema::Terminal::Client terminal_ = nullptr;
  kj::Promise<void> done_ = nullptr;
};

// Runs the terminals t = first, first + stride, ... on one event loop until all are done.
void DriveTerminals(const std::string& address, int first, int stride, int connections,
                    uint64_t each, std::vector<std::vector<double>>* per) {
  auto io = kj::setupAsyncIo();
  std::vector<kj::Own<Terminal>> terminals;
  for (int t = first; t < connections; t += stride) {
    terminals.push_back(kj::heap<Terminal>(*io.provider, address, t, each, &(*per)[t]));
  }
  for (auto& t : terminals) t->done().wait(io.waitScope);
}

// CPU µs per command of the server process and of this one (the 64 client connections), over the
// commands of one run: on one machine they share the cores. The server's is also split by its
// threads (named in ledger/writer.cc, tools/mulin/projection_follower.cc, projections/).
struct RpcCpu {
  double server_us = 0;
  double loop_us = 0;         // "mulin": the KJ event loop, RPC and sockets
  double writer_us = 0;       // "mulin-writer" and "mulin-commit"
  double projections_us = 0;  // "mulin-follow", and the reader threads its catch-ups started
  double rocksdb_us = 0;      // "rocksdb:*": flushes and compactions
  double clients_us = 0;
};

// The connections' redemptions against the server at `address` (process `pid`): returns the rate,
// adds each latency, and fills in the CPU both sides spent per call.
double DriveConnections(const Args& args, const std::string& address, pid_t pid,
                        std::vector<double>* latencies, RpcCpu* cpu) {
  const uint64_t each = args.commands / args.connections;
  std::vector<std::vector<double>> per(args.connections);
  std::vector<std::thread> threads;
  const std::string server_proc = "/proc/" + std::to_string(pid);
  const double server_before = StatCpuSeconds(server_proc + "/stat");
  const auto threads_before = ThreadCpuByName(server_proc + "/task");
  const double clients_before = ProcessCpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  for (int k = 0; k < args.client_threads; ++k) {
    threads.emplace_back(DriveTerminals, address, k, args.client_threads, args.connections, each,
                         &per);
  }
  for (auto& t : threads) t.join();
  const uint64_t n = each * args.connections;
  const double rate = static_cast<double>(n) / SecondsSince(start);
  cpu->server_us = (StatCpuSeconds(server_proc + "/stat") - server_before) * 1e6 / n;
  cpu->clients_us = (ProcessCpuSeconds() - clients_before) * 1e6 / n;
  const auto threads_after = ThreadCpuByName(server_proc + "/task");
  cpu->loop_us = CpuUsPerEvent(threads_before, threads_after, "mulin", n);
  cpu->writer_us = CpuUsPerEvent(threads_before, threads_after, "mulin-writer", n) +
                   CpuUsPerEvent(threads_before, threads_after, "mulin-commit", n);
  cpu->rocksdb_us = CpuUsPerEvent(threads_before, threads_after, "rocksdb:*", n);
  // A catch-up's reader thread has ended by the second reading; what the live threads do not
  // account for is theirs.
  const double live = CpuUsPerEvent(threads_before, threads_after, "*", n);
  cpu->projections_us =
      CpuUsPerEvent(threads_before, threads_after, "mulin-follow", n) + cpu->server_us - live;
  for (auto& v : per) latencies->insert(latencies->end(), v.begin(), v.end());
  return rate;
}

// One run against a fresh `mulin serve`. `stop_ms`: how long the server took to stop after the last
// call returned: its follower's last catch-up, then both databases' flush at close. A follower
// that fell behind during the run (it runs below the other threads) would show here.
double OverRpc(const Args& args, int run, std::vector<double>* latencies, RpcCpu* cpu,
               double* stop_ms, double* per_group) {
  auto l = OpenBenchLedger("rpc-" + std::to_string(run));
  IssueCredentials(l.get(), args.connections);
  l->Close();
  mulin::testing::ServerProcess server(args.binary, l->dir);
  Must(server.Start(), "mulin serve did not start");
  const double rate = DriveConnections(args, server.address(), server.pid(), latencies, cpu);
  const auto stop_begin = std::chrono::steady_clock::now();
  Must(server.Stop() == 0, "mulin serve did not stop cleanly");
  *stop_ms = SecondsSince(stop_begin) * 1000.0;
  uint64_t decided = 0;
  uint64_t groups = 0;
  Must(server.WriterCounts(&decided, &groups) && groups > 0,
       "mulin serve's log has no writer counts: see " + server.log_path());
  *per_group = static_cast<double>(decided) / static_cast<double>(groups);
  return rate;
}

}  // namespace
}  // namespace mulin::bench

int main(int argc, char** argv) {
  using namespace mulin::bench;  // NOLINT
  if (sodium_init() < 0) return 1;
  if (argc == 3 && std::string(argv[1]) == "--floor-serve") FloorServe(std::atoi(argv[2]));
  Args args;
  // Every flag takes a value: a flag alone (--help) gets the usage.
  bool usage = argc % 2 == 0;
  for (int i = 1; !usage && i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const long long value = std::atoll(argv[i + 1]);
    if (flag == "--binary") {
      args.binary = argv[i + 1];
    } else if (flag == "--commands" && value > 0) {
      args.commands = static_cast<uint64_t>(value);
    } else if (flag == "--connections" && value > 0 && value <= kBenchTerminals) {
      args.connections = static_cast<int>(value);
    } else if (flag == "--client-threads" && value > 0 && value <= kBenchTerminals) {
      args.client_threads = static_cast<int>(value);
    } else if (flag == "--runs" && value > 0 && value < 100) {
      args.runs = static_cast<int>(value);
    } else {
      usage = true;
    }
  }
  if (usage) {
    std::fprintf(
        stderr,
        "usage: rpc_bench [--commands N] [--connections C<=64] [--client-threads K] [--runs R]\n"
        "                 [--binary PATH]\n");
    return 2;
  }
  std::vector<double> rates, p50, p99, p999, server_us, loop_us, writer_us, projections_us,
      rocksdb_us, clients_us, stop_ms, floor_rates, floor_p99, floor_server_us, floor_clients_us,
      of_floor, per_group;
  for (int run = 0; run < args.runs; ++run) {
    std::vector<double> latencies;
    mulin::bench::RpcCpu cpu;
    double stopped_in_ms = 0;
    double commands_per_group = 0;
    rates.push_back(OverRpc(args, run, &latencies, &cpu, &stopped_in_ms, &commands_per_group));
    stop_ms.push_back(stopped_in_ms);
    per_group.push_back(commands_per_group);
    server_us.push_back(cpu.server_us);
    loop_us.push_back(cpu.loop_us);
    writer_us.push_back(cpu.writer_us);
    projections_us.push_back(cpu.projections_us);
    rocksdb_us.push_back(cpu.rocksdb_us);
    clients_us.push_back(cpu.clients_us);
    p50.push_back(Percentile(&latencies, 0.50) * 1000.0);
    p99.push_back(Percentile(&latencies, 0.99) * 1000.0);
    p999.push_back(Percentile(&latencies, 0.999) * 1000.0);
    // The floor, in the same run: the same connections and calls, answered at once.
    std::vector<double> floor_latencies;
    RpcCpu floor_cpu;
    {
      FloorProcess floor;
      floor_rates.push_back(
          DriveConnections(args, floor.address(), floor.pid(), &floor_latencies, &floor_cpu));
    }
    floor_p99.push_back(Percentile(&floor_latencies, 0.99) * 1000.0);
    floor_server_us.push_back(floor_cpu.server_us);
    floor_clients_us.push_back(floor_cpu.clients_us);
    of_floor.push_back(rates.back() / floor_rates.back() * 100.0);
  }
  PrintHeader();
  PrintRow("3. redemptions over RPC, " + std::to_string(args.connections) + " connections",
           SpreadOf(rates), "cmds/s", "budget >= 40000");
  PrintRow("3. latency p50", SpreadOf(p50), "us");
  PrintRow("3. latency p99", SpreadOf(p99), "us", "budget <= 10000");
  PrintRow("3. latency p999", SpreadOf(p999), "us");
  // On one machine server and clients share the cores; the server's CPU alone says what a
  // deployment with the terminals elsewhere could reach (cores / CPU per redemption).
  PrintRow("3. CPU per redemption: mulin serve", SpreadOf(server_us), "us");
  PrintRow("3.   its event loop (RPC, sockets)", SpreadOf(loop_us), "us");
  PrintRow("3.   its writer and commit threads", SpreadOf(writer_us), "us");
  PrintRow("3.   its projection follower", SpreadOf(projections_us), "us");
  PrintRow("3.   its RocksDB flushes, compactions", SpreadOf(rocksdb_us), "us");
  // Each group is one synced write, whose CPU (section 0 of the table) its commands share.
  PrintRow("3.   commands per synced group", SpreadOf(per_group), "cmds");
  PrintRow("3. CPU per redemption: the " + std::to_string(args.connections) + " client connections",
           SpreadOf(clients_us), "us");
  PrintRow("3. mulin serve's stop after the last call", SpreadOf(stop_ms), "ms");
  PrintRow("3. floor: the same calls answered at once", SpreadOf(floor_rates), "calls/s",
           "baseline: RPC and loopback alone");
  PrintRow("3. floor latency p99", SpreadOf(floor_p99), "us");
  PrintRow("3. floor CPU per call: its server", SpreadOf(floor_server_us), "us");
  PrintRow("3. floor CPU per call: the clients", SpreadOf(floor_clients_us), "us");
  PrintRow("3. redemptions over RPC / floor", SpreadOf(of_floor), "%");
  return 0;
}
