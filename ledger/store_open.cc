#include "ledger/store_open.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

namespace mulin::ledger::internal {
namespace {

constexpr int kReadOnlyOpenAttempts = 50;
constexpr int kReadOnlyRetryMs = 10;
constexpr const char* kPinPrefix = ".mulin-read-";

struct FileMark {
  std::string current;           // the CURRENT file's content: which MANIFEST is live
  uintmax_t manifest_bytes = 0;  // a MANIFEST grows with every flush and compaction
  std::vector<std::string> logs;
  bool operator==(const FileMark& other) const {
    return current == other.current && manifest_bytes == other.manifest_bytes && logs == other.logs;
  }
};

FileMark MarkFiles(const std::string& dir) {
  FileMark mark;
  std::ifstream current(dir + "/CURRENT");
  std::getline(current, mark.current);
  std::error_code error;
  mark.manifest_bytes = std::filesystem::file_size(dir + "/" + mark.current, error);
  for (std::filesystem::directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    if (it->path().extension() == ".log") mark.logs.push_back(it->path().filename());
  }
  std::sort(mark.logs.begin(), mark.logs.end());
  return mark;
}

// Removes the pins that readers which died during their open left in `dir`: their links would
// keep deleted logs on disk.
void RemoveAbandonedPins(const std::string& dir) {
  std::error_code error;
  for (std::filesystem::directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename();
    if (name.rfind(kPinPrefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + std::strlen(kPinPrefix), nullptr, 10);
    if (pid <= 0 || (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) {
      std::error_code ignored;
      std::filesystem::remove_all(it->path(), ignored);
    }
  }
}

// Copies the first `bytes` of `from` to a new file `to`.
bool CopyPrefix(const std::string& from, const std::string& to, uintmax_t bytes) {
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  std::vector<char> buffer(64 << 10);
  while (in && out && bytes > 0) {
    const auto n = static_cast<std::streamsize>(std::min<uintmax_t>(bytes, buffer.size()));
    in.read(buffer.data(), n);
    if (in.gcount() != n) return false;
    out.write(buffer.data(), n);
    bytes -= static_cast<uintmax_t>(n);
  }
  out.close();
  return bytes == 0 && !out.fail();
}

enum class Pin { kMade, kUnavailable };

// Pins the files of `mark` in a new directory inside `dir` (see above), whose path it leaves in
// `*path`: CURRENT, the MANIFEST's first `mark.manifest_bytes`, IDENTITY, and a hard link to each
// log and table. A file deleted meanwhile is skipped: the caller checks that the MANIFEST did not
// move on, and without that no file its first bytes name can have gone. kUnavailable: no pin could
// be made (no directory, or the file system refused a copy or a link).
Pin PinFiles(const std::string& dir, const FileMark& mark, std::string* path) {
  *path = dir + "/" + kPinPrefix + std::to_string(getpid()) + "-XXXXXX";
  if (mkdtemp(path->data()) == nullptr) {
    path->clear();
    return Pin::kUnavailable;
  }
  std::error_code error;
  bool made = !mark.current.empty();
  if (made) {
    std::ofstream current(*path + "/CURRENT", std::ios::trunc);
    current << mark.current << "\n";
    current.close();
    made = !current.fail() &&
           CopyPrefix(dir + "/" + mark.current, *path + "/" + mark.current, mark.manifest_bytes);
  }
  // (The directory_iterator below clears `error`: a failed copy must end the pin here.)
  made = made && std::filesystem::copy_file(dir + "/IDENTITY", *path + "/IDENTITY", error);
  for (std::filesystem::directory_iterator it(dir, error), end; made && !error && it != end;
       it.increment(error)) {
    const std::filesystem::path& file = it->path();
    if (file.extension() != ".log" && file.extension() != ".sst") continue;
    std::filesystem::create_hard_link(file, *path + "/" + file.filename().string(), error);
    if (error == std::errc::no_such_file_or_directory) error.clear();
  }
  if (made && !error) return Pin::kMade;
  std::filesystem::remove_all(*path, error);
  path->clear();
  return Pin::kUnavailable;
}

}  // namespace

void PinnableReadOnly(rocksdb::DBOptions* options) { options->max_open_files = -1; }

rocksdb::Status OpenConsistently(const std::string& dir, bool read_only,
                                 const std::function<rocksdb::Status(const std::string&)>& open) {
  if (!read_only) return open(dir);
  RemoveAbandonedPins(dir);
  for (int attempt = 1;; ++attempt) {
    const FileMark before = MarkFiles(dir);
    std::string pin;
    const Pin made = PinFiles(dir, before, &pin);
    bool settled = MarkFiles(dir) == before;
    rocksdb::Status s;
    if (made == Pin::kUnavailable || settled) {
      s = open(pin.empty() ? dir : pin);
      // A pinned open is a view the writer had however long it took; an unpinned one only if the
      // files stayed as they were throughout.
      if (pin.empty()) settled = MarkFiles(dir) == before;
    }
    if (!pin.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(pin, ignored);
    }
    if (settled) return s;
    if (attempt == kReadOnlyOpenAttempts) {
      return rocksdb::Status::Busy("its files changed during each of " +
                                   std::to_string(kReadOnlyOpenAttempts) +
                                   " read-only opens (the writer is flushing or compacting without "
                                   "pause); try again");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kReadOnlyRetryMs));
  }
}

std::string WithoutPins(std::string text) {
  const std::string marker = std::string("/") + kPinPrefix;
  for (size_t at = text.find(marker); at != std::string::npos; at = text.find(marker, at)) {
    const size_t end = text.find('/', at + 1);
    text.erase(at, end == std::string::npos ? std::string::npos : end - at);
  }
  return text;
}

}  // namespace mulin::ledger::internal
