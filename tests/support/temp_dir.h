// TempDir: a fresh directory under $TMPDIR for one test's ledger, removed with everything in it
// when the TempDir goes out of scope.
#ifndef MULIN_TESTS_SUPPORT_TEMP_DIR_H_
#define MULIN_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>

namespace mulin::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace mulin::testing

#endif  // MULIN_TESTS_SUPPORT_TEMP_DIR_H_
