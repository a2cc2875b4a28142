// Runs a program as a child process and collects its exit code, stdout and stderr, for tests of
// command-line programs. Output goes through temporary files, so a chatty child never blocks on a
// full pipe. Thread-safety: each call is independent.
#ifndef MULIN_TESTS_SUPPORT_SUBPROCESS_H_
#define MULIN_TESTS_SUPPORT_SUBPROCESS_H_

#include <string>
#include <vector>

namespace mulin::testing {

struct RunOptions {
  std::string stdin_path;              // empty: /dev/null
  std::vector<std::string> set_env;    // "NAME=value", replacing any inherited NAME
  std::vector<std::string> unset_env;  // names removed from the inherited environment
};

struct RunResult {
  // The exit status, or 128 + the signal number when the child was killed (as shells report it),
  // or -1 when it could not be started.
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv[0] (a path, not searched in PATH) with `argv`, waits for it and returns what it did.
RunResult Run(const std::vector<std::string>& argv, const RunOptions& options = RunOptions());

// For tests that read a child's pipe as it writes: reads what is available on `fd` (or waits up to
// `timeout_ms` for something) and appends it to `bytes`. Returns false at end of file.
bool ReadSome(int fd, int timeout_ms, std::string* bytes);

}  // namespace mulin::testing

#endif  // MULIN_TESTS_SUPPORT_SUBPROCESS_H_
