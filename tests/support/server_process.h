// ServerProcess: `mulin serve` as a child process on a free loopback port, for tests of the
// terminal service. Stop() sends SIGTERM and waits; Kill() sends SIGKILL, as a crash would.
#ifndef MULIN_TESTS_SUPPORT_SERVER_PROCESS_H_
#define MULIN_TESTS_SUPPORT_SERVER_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <ios>
#include <string>

namespace mulin::testing {

class ServerProcess {
 public:
  ServerProcess(std::string binary, std::string db)
      : binary_(std::move(binary)), db_(std::move(db)) {}
  ~ServerProcess() { Kill(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the server on a free port and waits (bounded) until it accepts connections.
  bool Start();
  // SIGTERM, then waits; returns the exit code (or 128 + signal).
  int Stop();
  // SIGKILL, then waits.
  void Kill();

  // From the last "stopped" line this server logged (the log is appended to across restarts; what
  // it held before the last Start() is skipped), after a clean Stop(): the commands the writer
  // decided while serving and the synced groups it appended them in. False when it has none.
  bool WriterCounts(uint64_t* commands, uint64_t* groups) const;

  const std::string& address() const { return address_; }
  const std::string& log_path() const { return log_path_; }
  pid_t pid() const { return pid_; }

 private:
  std::string binary_;
  std::string db_;
  std::string address_;
  std::string log_path_;
  std::streamoff log_start_ = 0;  // the log's size when the last Start() began
  pid_t pid_ = -1;
};

// A loopback port nobody listens on right now.
int FreeLoopbackPort();
// True once something accepts TCP connections at 127.0.0.1:port.
bool CanConnect(int port);

}  // namespace mulin::testing

#endif  // MULIN_TESTS_SUPPORT_SERVER_PROCESS_H_
