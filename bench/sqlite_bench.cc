// sqlite_bench: the redemption workload of writer_bench (workload 2) on a plain SQLite ledger, and
// through Mulin's writer in the same run (DESIGN §8: ≥ 20× a transaction per command; faster than
// SQLite with the same batching).
//
// The SQLite ledger is written as most applications would write it: WAL, synchronous=FULL (every
// COMMIT fsyncs the WAL), prepared statements, and per redemption
//   BEGIN IMMEDIATE; SELECT balance (refuse when short); UPDATE balance; INSERT redemption; COMMIT
// with the request key UNIQUE, so a repeated request fails as in Mulin. Client threads share the
// database through a mutex: SQLite admits one writer at a time, and a mutex hands the lock over
// at once where busy_timeout would sleep and retry (which only makes SQLite slower).
// The batched variant does what Mulin's writer does: one thread takes every queued command (at
// most kGroupCommandsMax), runs each one's SELECT/UPDATE/INSERT in one transaction, commits once
// and then answers them all.
//
// Usage: sqlite_bench [--commands N] [--sqlite-commands M] [--threads T] [--runs R]
//   --commands N         redemptions per run through Mulin and through batched SQLite (200000)
//   --sqlite-commands M  redemptions per run through SQLite one transaction each (5000: each
//                        costs an fsync, so a run of N would take minutes)
#include <sqlite3.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>

#include "bench/bench_ledger.h"
#include "bench/bench_util.h"
#include "bench/workloads.h"

namespace mulin::bench {
namespace {

// The writer's default group limit: SQLite's groups are the writer's.
const size_t kGroupCommandsMax = ledger::WriterOptions().group_commands_max;
constexpr int64_t kStartingPoints = 1000000000;
constexpr int kSyncProbes = 200;

struct Args {
  uint64_t commands = 200000;
  uint64_t sqlite_commands = 5000;
  int threads = 64;
  int runs = 3;
};

void Exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    Must(false, std::string("sqlite: ") + sql + ": " + (error ? error : "?"));
  }
}

// A SQLite ledger of the bench cast: kBenchVolunteers volunteers holding kStartingPoints each.
class SqliteLedger {
 public:
  explicit SqliteLedger(const std::string& path) : path_(path) {
    std::filesystem::remove(path);
    std::filesystem::remove(path + "-wal");
    std::filesystem::remove(path + "-shm");
    Must(sqlite3_open(path.c_str(), &db_) == SQLITE_OK, "sqlite open " + path);
    Exec(db_, "PRAGMA journal_mode=WAL");
    Exec(db_, "PRAGMA synchronous=FULL");
    Exec(db_,
         "CREATE TABLE volunteer (id TEXT PRIMARY KEY, balance INTEGER NOT NULL) WITHOUT ROWID;"
         "CREATE TABLE redemption (request_key TEXT PRIMARY KEY, redemption_id TEXT NOT NULL "
         "UNIQUE, volunteer_id TEXT NOT NULL, terminal_id TEXT NOT NULL, points INTEGER NOT "
         "NULL, recorded_at_us INTEGER NOT NULL);");
    Exec(db_, "BEGIN");
    for (int v = 0; v < kBenchVolunteers; ++v) {
      const std::string sql = "INSERT INTO volunteer VALUES ('V" + std::to_string(v) + "', " +
                              std::to_string(kStartingPoints) + ")";
      Exec(db_, sql.c_str());
    }
    Exec(db_, "COMMIT");
    Prepare(&select_, "SELECT balance FROM volunteer WHERE id = ?1");
    Prepare(&update_, "UPDATE volunteer SET balance = balance - ?2 WHERE id = ?1");
    Prepare(&insert_, "INSERT INTO redemption VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    Prepare(&begin_, "BEGIN IMMEDIATE");
    Prepare(&commit_, "COMMIT");
  }
  ~SqliteLedger() {
    for (sqlite3_stmt* s : {select_, update_, insert_, begin_, commit_}) sqlite3_finalize(s);
    sqlite3_close(db_);
    std::filesystem::remove(path_);
    std::filesystem::remove(path_ + "-wal");
    std::filesystem::remove(path_ + "-shm");
  }

  // Redemption i of thread t (the mix of workloads.h): the balance check, update and insert of
  // one command, inside whatever transaction is open. False when refused.
  bool Redeem(int t, uint64_t i, uint64_t each) {
    const uint64_t n = t * each + i;
    const std::string key = "T" + std::to_string(n % kBenchTerminals) + "\x1fs" +
                            std::to_string(t) + "-" + std::to_string(n);
    const std::string volunteer = "V" + std::to_string(n * 7919 % kBenchVolunteers);
    const int64_t points = 1;
    Bind(select_, 1, volunteer);
    Must(sqlite3_step(select_) == SQLITE_ROW, "no volunteer " + volunteer);
    const int64_t balance = sqlite3_column_int64(select_, 0);
    sqlite3_reset(select_);
    if (balance < points) return false;
    Bind(update_, 1, volunteer);
    sqlite3_bind_int64(update_, 2, points);
    Step(update_);
    Bind(insert_, 1, key);
    Bind(insert_, 2, key);
    Bind(insert_, 3, volunteer);
    Bind(insert_, 4, "T" + std::to_string(n % kBenchTerminals));
    sqlite3_bind_int64(insert_, 5, points);
    sqlite3_bind_int64(insert_, 6,
                       std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
    Step(insert_);
    return true;
  }
  void Begin() { Step(begin_); }
  void Commit() { Step(commit_); }

 private:
  void Prepare(sqlite3_stmt** stmt, const char* sql) {
    Must(sqlite3_prepare_v2(db_, sql, -1, stmt, nullptr) == SQLITE_OK,
         std::string("prepare: ") + sqlite3_errmsg(db_));
  }
  static void Bind(sqlite3_stmt* stmt, int index, const std::string& text) {
    sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void Step(sqlite3_stmt* stmt) {
    const int rc = sqlite3_step(stmt);
    Must(rc == SQLITE_DONE, std::string("sqlite step: ") + sqlite3_errmsg(db_));
    sqlite3_reset(stmt);
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt *select_ = nullptr, *update_ = nullptr, *insert_ = nullptr, *begin_ = nullptr,
               *commit_ = nullptr;
};

// One durable transaction per command, threads taking turns on the one connection.
double SqlitePerCommand(const Args& args, std::vector<double>* latencies) {
  SqliteLedger ledger((std::filesystem::temp_directory_path() / "mulin-bench-sqlite.db").string());
  std::mutex mu;
  const uint64_t each = std::max<uint64_t>(1, args.sqlite_commands / args.threads);
  return ClosedLoop(
      args.sqlite_commands, args.threads,
      [&](int t, uint64_t i) {
        std::lock_guard<std::mutex> lock(mu);
        ledger.Begin();
        Must(ledger.Redeem(t, i, each), "sqlite refused a redemption");
        ledger.Commit();
      },
      latencies);
}

// Group commit in front of SQLite, as the Mulin writer does it: clients queue and wait; one thread
// takes up to kGroupCommandsMax queued commands, runs them in one transaction, commits, answers.
class SqliteGroupCommit {
 public:
  SqliteGroupCommit(SqliteLedger* ledger, uint64_t each)
      : ledger_(ledger), each_(each), thread_([this] { Run(); }) {}
  ~SqliteGroupCommit() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  bool Redeem(int t, uint64_t i) {
    std::promise<bool> done;
    std::future<bool> result = done.get_future();
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(Pending{t, i, std::move(done)});
    }
    cv_.notify_one();
    return result.get();
  }

 private:
  struct Pending {
    int t;
    uint64_t i;
    std::promise<bool> done;
  };
  void Run() {
    std::vector<Pending> group;
    std::vector<bool> accepted;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        while (!queue_.empty() && group.size() < kGroupCommandsMax) {
          group.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      ledger_->Begin();
      for (Pending& p : group) accepted.push_back(ledger_->Redeem(p.t, p.i, each_));
      ledger_->Commit();
      for (size_t k = 0; k < group.size(); ++k) group[k].done.set_value(accepted[k]);
      group.clear();
      accepted.clear();
    }
  }

  SqliteLedger* ledger_;
  uint64_t each_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;  // guarded by mu_
  bool stopping_ = false;      // guarded by mu_
  std::thread thread_;
};

double SqliteBatched(const Args& args, std::vector<double>* latencies) {
  SqliteLedger ledger(
      (std::filesystem::temp_directory_path() / "mulin-bench-sqlite-batched.db").string());
  const uint64_t each = std::max<uint64_t>(1, args.commands / args.threads);
  SqliteGroupCommit group(&ledger, each);
  return ClosedLoop(
      args.commands, args.threads,
      [&](int t, uint64_t i) { Must(group.Redeem(t, i), "sqlite refused a redemption"); },
      latencies);
}

struct Figures {
  std::vector<double> rate, p50, p99;
  void Add(double r, std::vector<double>* latencies) {
    rate.push_back(r);
    p50.push_back(Percentile(latencies, 0.50) * 1000.0);
    p99.push_back(Percentile(latencies, 0.99) * 1000.0);
  }
  void Print(const std::string& name, const std::string& budget) const {
    PrintRow(name, SpreadOf(rate), "cmds/s", budget);
    PrintRow(name + ": p50", SpreadOf(p50), "us");
    PrintRow(name + ": p99", SpreadOf(p99), "us");
  }
};

void Run(const Args& args) {
  Figures mulin, per_command, batched;
  std::vector<double> ratio_per_command, ratio_batched, sync_us;
  for (int run = 0; run < args.runs; ++run) {
    {
      auto l = OpenBenchLedger("sqlite-" + std::to_string(run));
      std::vector<double> latencies;
      mulin.Add(
          ClosedLoopRedemptions(l->writer.get(), args.commands, args.threads, "c", &latencies),
          &latencies);
    }
    // SQLite per command is bound by one fdatasync per COMMIT: the disk's latency right before
    // it says what to expect of this run.
    std::vector<double> probe =
        SyncLatenciesUs(std::filesystem::temp_directory_path().string(), kSyncProbes, true);
    sync_us.push_back(Percentile(&probe, 0.5));
    std::vector<double> latencies;
    per_command.Add(SqlitePerCommand(args, &latencies), &latencies);
    latencies.clear();
    batched.Add(SqliteBatched(args, &latencies), &latencies);
    ratio_per_command.push_back(mulin.rate.back() / per_command.rate.back());
    ratio_batched.push_back(mulin.rate.back() / batched.rate.back());
    std::fprintf(stderr, "run %d: mulin %.0f, sqlite per command %.0f, sqlite batched %.0f /s\n",
                 run + 1, mulin.rate.back(), per_command.rate.back(), batched.rate.back());
  }
  PrintHeader();
  const std::string threads = std::to_string(args.threads) + " threads";
  mulin.Print("5. Mulin writer, " + threads, "baseline");
  PrintRow("5. fdatasync of 512 B before each SQLite run", SpreadOf(sync_us), "us",
           "median of " + std::to_string(kSyncProbes));
  per_command.Print("5. SQLite txn per command, " + threads, "");
  batched.Print("5. SQLite txn per group, " + threads, "");
  PrintRow("5. Mulin / SQLite txn per command", SpreadOf(ratio_per_command), "x", "budget >= 20");
  PrintRow("5. Mulin / SQLite txn per group", SpreadOf(ratio_batched), "x", "budget > 1");
}

}  // namespace
}  // namespace mulin::bench

int main(int argc, char** argv) {
  mulin::bench::Args args;
  // Every flag takes a value: a flag alone (--help) gets the usage.
  bool usage = argc % 2 == 0;
  for (int i = 1; !usage && i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const long long value = std::atoll(argv[i + 1]);
    if (flag == "--commands" && value > 0) {
      args.commands = static_cast<uint64_t>(value);
    } else if (flag == "--sqlite-commands" && value > 0) {
      args.sqlite_commands = static_cast<uint64_t>(value);
    } else if (flag == "--threads" && value > 0 && value <= 1024) {
      args.threads = static_cast<int>(value);
    } else if (flag == "--runs" && value > 0 && value < 100) {
      args.runs = static_cast<int>(value);
    } else {
      usage = true;
    }
  }
  if (usage) {
    std::fprintf(stderr,
                 "usage: sqlite_bench [--commands N] [--sqlite-commands M] [--threads T] "
                 "[--runs R]\n");
    return 2;
  }
  mulin::bench::Run(args);
  return 0;
}
