#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace mulin::testing {

TempDir::TempDir() {
  const char* base = getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/mulin-test-XXXXXX";
  char* made = mkdtemp(pattern.data());
  if (made == nullptr) ADD_FAILURE() << "mkdtemp failed for " << pattern;
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void CopyLiveDirectory(const std::string& from, const std::string& to) {
  for (int attempt = 1;; ++attempt) {
    std::error_code failed;
    std::filesystem::copy(from, to, std::filesystem::copy_options::recursive, failed);
    if (!failed) return;
    std::error_code ignored;
    std::filesystem::remove_all(to, ignored);
    if (failed != std::errc::no_such_file_or_directory || attempt == 20) {
      ADD_FAILURE() << "copying " << from << " to " << to << ": " << failed.message();
      return;
    }
  }
}

}  // namespace mulin::testing
