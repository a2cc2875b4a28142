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

// Copies the directory `from` of a ledger that is open and working into `to` (which must not
// exist), as the files a crash would leave. A file the ledger deletes while the copy runs (an
// obsolete WAL after a flush) fails the copy; then it starts again, at most 20 times, so a test
// does not fail on that race.
void CopyLiveDirectory(const std::string& from, const std::string& to);

}  // namespace mulin::testing

#endif  // MULIN_TESTS_SUPPORT_TEMP_DIR_H_
