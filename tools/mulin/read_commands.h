// Pieces shared by the read commands (read_commands.cc) and the projection maintenance command
// (projection_commands.cc).
#ifndef MULIN_TOOLS_MULIN_READ_COMMANDS_H_
#define MULIN_TOOLS_MULIN_READ_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "tools/mulin/cli.h"

namespace mulin::cli {

// Draws "\r<label>: done / total events (p%)" on a terminal; a fold short enough to finish before
// its first progress report draws nothing.
class ProgressLine {
 public:
  ProgressLine(std::string label, bool enabled) : label_(std::move(label)), enabled_(enabled) {}
  ~ProgressLine() {
    if (drawn_) std::fprintf(stderr, "\n");
  }
  void Draw(uint64_t done, uint64_t total) {
    if (!enabled_ || (!drawn_ && done >= total)) return;
    drawn_ = true;
    const unsigned percent = total == 0 ? 100 : static_cast<unsigned>(done * 100 / total);
    std::fprintf(stderr, "\r%s: %llu / %llu events (%u%%)", label_.c_str(),
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                 percent);
  }
  std::function<void(uint64_t, uint64_t)> Callback() {
    return [this](uint64_t done, uint64_t total) { Draw(done, total); };
  }

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
};

// `mulin projections status | catch-up | rebuild [NAME...]`.
void AddProjectionsCommand(CLI::App& app, const Globals& globals, int* exit_code);

}  // namespace mulin::cli

#endif  // MULIN_TOOLS_MULIN_READ_COMMANDS_H_
