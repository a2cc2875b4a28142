#include "tests/support/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

extern char** environ;

namespace mulin::testing {
namespace {

// A temporary file that is removed when it goes out of scope.
class ScratchFile {
 public:
  ScratchFile() {
    const char* base = getenv("TMPDIR");
    path_ = std::string(base != nullptr ? base : "/tmp") + "/mulin-run-XXXXXX";
    fd_ = mkstemp(path_.data());
  }
  ~ScratchFile() {
    if (fd_ >= 0) close(fd_);
    unlink(path_.c_str());
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  int fd() const { return fd_; }
  std::string Read() const {
    std::ifstream in(path_, std::ios::binary);
    std::ostringstream contents;
    contents << in.rdbuf();
    return contents.str();
  }

 private:
  std::string path_;
  int fd_ = -1;
};

std::string EnvName(const std::string& entry) { return entry.substr(0, entry.find('=')); }

std::vector<std::string> ChildEnvironment(const RunOptions& options) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string name = EnvName(*entry);
    auto named = [&name](const std::string& other) { return EnvName(other) == name; };
    if (std::find(options.unset_env.begin(), options.unset_env.end(), name) !=
            options.unset_env.end() ||
        std::any_of(options.set_env.begin(), options.set_env.end(), named)) {
      continue;
    }
    env.emplace_back(*entry);
  }
  env.insert(env.end(), options.set_env.begin(), options.set_env.end());
  return env;
}

std::vector<char*> Pointers(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

RunResult Run(const std::vector<std::string>& argv, const RunOptions& options) {
  RunResult result;
  if (argv.empty()) return result;
  ScratchFile out;
  ScratchFile err;
  if (out.fd() < 0 || err.fd() < 0) return result;
  const std::string stdin_path = options.stdin_path.empty() ? "/dev/null" : options.stdin_path;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, stdin_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.fd(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.fd(), STDERR_FILENO);
  const std::vector<std::string> env = ChildEnvironment(options);
  std::vector<char*> child_argv = Pointers(argv);
  std::vector<char*> child_env = Pointers(env);
  pid_t pid = -1;
  const int spawned =
      posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, child_argv.data(), child_env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return result;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return result;
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = out.Read();
  result.err = err.Read();
  return result;
}

bool ReadSome(int fd, int timeout_ms, std::string* bytes) {
  pollfd readable = {fd, POLLIN, 0};
  if (poll(&readable, 1, timeout_ms) <= 0) return true;
  char buffer[4096];
  const ssize_t n = read(fd, buffer, sizeof(buffer));
  if (n <= 0) return false;
  bytes->append(buffer, static_cast<size_t>(n));
  return true;
}

}  // namespace mulin::testing
