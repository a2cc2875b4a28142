// rpc_bench: redemptions through `mulin serve` over loopback from C connections, each a terminal
// of its own redeeming back to back (closed loop): throughput and p50/p99 latency, with the same
// workload through the writer in-process in the same run as the baseline (what RPC costs).
// Budget (DESIGN §8): ≥ 40k redemptions/s over RPC, p99 ≤ 10 ms, from 64 connections.
//
// Usage: rpc_bench [--commands N] [--connections C] [--runs R] [--binary PATH]
//   --binary PATH  the `mulin` to serve with (default: the one built beside this program, whose
//                  path is compiled in); e.g. a script that runs it under valgrind for a profile
#include <capnp/ez-rpc.h>
#include <sodium.h>

#include <thread>

#include "bench/bench_ledger.h"
#include "bench/bench_util.h"
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

// One connection: logs in as terminal `t` and redeems `count` times, recording each latency.
void Connection(const std::string& address, int t, uint64_t count, std::vector<double>* ms) {
  capnp::EzRpcClient client(address);
  auto& ws = client.getWaitScope();
  auto login = client.getMain<schema::Gateway>().loginRequest();
  login.setCredentialId("C" + std::to_string(t));
  login.setSecret(Secret(t));
  auto session = login.send().wait(ws);
  auto terminal = session.getSession().getTerminal();
  ms->reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    const std::string id = "r" + std::to_string(t) + "-" + std::to_string(i);
    auto req = terminal.redeemRequest(kRequestSizeHint);
    req.setRequestId(id);
    req.setRedemptionId(id);
    req.setVolunteerId("V" + std::to_string((t * 131 + i * 7919) % kBenchVolunteers));
    req.setPoints(1);
    const auto begin = std::chrono::steady_clock::now();
    auto response = req.send().wait(ws);
    ms->push_back(SecondsSince(begin) * 1000.0);
    Must(response.getOutcome().getOk(), response.getOutcome().getMessage());
  }
}

// CPU µs per command of the server process and of this one (the 64 client connections), over the
// commands of one run: on one machine they share the cores.
struct RpcCpu {
  double server_us = 0;
  double clients_us = 0;
};

double OverRpc(const Args& args, int run, std::vector<double>* latencies, RpcCpu* cpu) {
  auto l = OpenBenchLedger("rpc-" + std::to_string(run));
  IssueCredentials(l.get(), args.connections);
  l->Close();
  mulin::testing::ServerProcess server(args.binary, l->dir);
  Must(server.Start(), "mulin serve did not start");
  const uint64_t each = args.commands / args.connections;
  std::vector<std::vector<double>> per(args.connections);
  std::vector<std::thread> threads;
  const std::string server_stat = "/proc/" + std::to_string(server.pid()) + "/stat";
  const double server_before = StatCpuSeconds(server_stat);
  const double clients_before = ProcessCpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  for (int c = 0; c < args.connections; ++c) {
    threads.emplace_back(Connection, server.address(), c, each, &per[c]);
  }
  for (auto& t : threads) t.join();
  const double rate = static_cast<double>(each * args.connections) / SecondsSince(start);
  const double commands = static_cast<double>(each * args.connections);
  cpu->server_us = (StatCpuSeconds(server_stat) - server_before) * 1e6 / commands;
  cpu->clients_us = (ProcessCpuSeconds() - clients_before) * 1e6 / commands;
  Must(server.Stop() == 0, "mulin serve did not stop cleanly");
  for (auto& v : per) latencies->insert(latencies->end(), v.begin(), v.end());
  return rate;
}

}  // namespace
}  // namespace mulin::bench

int main(int argc, char** argv) {
  using namespace mulin::bench;  // NOLINT
  if (sodium_init() < 0) return 1;
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const long long value = std::atoll(argv[i + 1]);
    if (flag == "--binary") {
      args.binary = argv[i + 1];
    } else if (flag == "--commands" && value > 0) {
      args.commands = static_cast<uint64_t>(value);
    } else if (flag == "--connections" && value > 0 && value <= kBenchTerminals) {
      args.connections = static_cast<int>(value);
    } else if (flag == "--runs" && value > 0 && value < 100) {
      args.runs = static_cast<int>(value);
    } else {
      std::fprintf(
          stderr,
          "usage: rpc_bench [--commands N] [--connections C<=64] [--runs R] [--binary PATH]\n");
      return 2;
    }
  }
  std::vector<double> rates, p50, p99, p999, server_us, clients_us;
  for (int run = 0; run < args.runs; ++run) {
    std::vector<double> latencies;
    mulin::bench::RpcCpu cpu;
    rates.push_back(OverRpc(args, run, &latencies, &cpu));
    server_us.push_back(cpu.server_us);
    clients_us.push_back(cpu.clients_us);
    p50.push_back(Percentile(&latencies, 0.50) * 1000.0);
    p99.push_back(Percentile(&latencies, 0.99) * 1000.0);
    p999.push_back(Percentile(&latencies, 0.999) * 1000.0);
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
  PrintRow("3. CPU per redemption: the " + std::to_string(args.connections) + " client connections",
           SpreadOf(clients_us), "us");
  return 0;
}
