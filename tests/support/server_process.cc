#include "tests/support/server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <thread>

namespace mulin::testing {
namespace {

constexpr int kStartWaitMs = 10000;
constexpr int kPollMs = 20;

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

int WaitFor(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = Loopback(0);
  socklen_t size = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool CanConnect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = Loopback(port);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

bool ServerProcess::Start() {
  const int port = FreeLoopbackPort();
  if (port <= 0) return false;
  address_ = "127.0.0.1:" + std::to_string(port);
  log_path_ = db_ + ".serve.log";
  log_start_ = 0;
  {
    std::ifstream before(log_path_, std::ios::ate);
    if (before) log_start_ = before.tellg();
  }
  pid_ = fork();
  if (pid_ == 0) {
    int log = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    execl(binary_.c_str(), binary_.c_str(), "--db", db_.c_str(), "serve", "--listen",
          address_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  if (pid_ < 0) return false;
  for (int waited = 0; waited < kStartWaitMs; waited += kPollMs) {
    if (CanConnect(port)) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {  // it exited instead of serving
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
  Kill();
  return false;
}

int ServerProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const int code = WaitFor(pid_);
  pid_ = -1;
  return code;
}

bool ServerProcess::WriterCounts(uint64_t* commands, uint64_t* groups) const {
  static const std::string kMarker = "the writer decided ";
  std::ifstream log(log_path_);
  log.seekg(log_start_);
  std::string line;
  bool found = false;
  while (std::getline(log, line)) {
    const size_t at = line.find(kMarker);
    if (at == std::string::npos) continue;
    int end = -1;  // set only when the whole phrase matched
    found = std::sscanf(line.c_str() + at + kMarker.size(),
                        "%" SCNu64 " commands in %" SCNu64 " synced groups%n", commands, groups,
                        &end) == 2 &&
            end > 0;
  }
  return found;
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  WaitFor(pid_);
  pid_ = -1;
}

}  // namespace mulin::testing
