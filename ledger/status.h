// Status and Result: the error model of every Mulin library.
//
// Everything that can fail returns a [[nodiscard]] Status or Result<T>. RocksDB statuses and KJ
// exceptions are translated into these once, at the boundary where they arise. A rejected command
// is an ordinary Status with code kRejected and a stable reason code, never an exception.
// Thread-safety: values; safe to copy between threads.
#ifndef MULIN_LEDGER_STATUS_H_
#define MULIN_LEDGER_STATUS_H_

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace mulin {

enum class Code : uint8_t {
  kOk = 0,
  kNotFound,         // an id or key that does not exist
  kInvalidArgument,  // malformed input from outside (bad bytes, bad JSON, bad number)
  kRejected,         // a well-formed command that the ledger's rules refuse
  kConflict,         // same request id, different content
  kCorruption,       // stored data fails its checksum, chain or framing
  kIoError,          // RocksDB or the file system failed
  kOverloaded,       // a bounded queue is full; try again later
  kBusy,             // the ledger is held by another process (e.g. `mulin serve`)
  kShutdown,         // the component is stopping and takes no more work
};

const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  // `reason_code` is stable and machine-readable (e.g. "insufficient_points"); `msg` is one line a
  // person can act on.
  static Status Rejected(std::string reason_code, std::string msg) {
    Status s(Code::kRejected, std::move(msg));
    s.reason_code_ = std::move(reason_code);
    return s;
  }
  static Status Conflict(std::string msg) { return Status(Code::kConflict, std::move(msg)); }
  // `seq` names the first bad record when one is known (0 when none is).
  static Status Corruption(std::string msg, uint64_t seq = 0) {
    Status s(Code::kCorruption, std::move(msg));
    s.seq_ = seq;
    return s;
  }
  static Status IoError(std::string msg) { return Status(Code::kIoError, std::move(msg)); }
  static Status Overloaded(std::string msg) { return Status(Code::kOverloaded, std::move(msg)); }
  static Status Busy(std::string msg) { return Status(Code::kBusy, std::move(msg)); }
  static Status Shutdown(std::string msg) { return Status(Code::kShutdown, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& reason_code() const { return reason_code_; }
  uint64_t seq() const { return seq_; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsRejected() const { return code_ == Code::kRejected; }

  // "corruption: record 42: checksum mismatch"; "ok" when ok.
  std::string ToString() const;

  // Marks a deliberately ignored status (RocksDB's PermitUncheckedError, by another name).
  void IgnoreError() const {}

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  uint64_t seq_ = 0;
  std::string message_;
  std::string reason_code_;
};

// A value or an error Status. Access to value() of an error is an invariant violation.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "a Result holding an ok Status must hold a value");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace mulin

// Returns early from the enclosing function when `expr` (a Status) is not ok.
#define MULIN_RETURN_IF_ERROR(expr)          \
  do {                                       \
    ::mulin::Status mulin_status_ = (expr);  \
    if (!mulin_status_.ok()) {               \
      return mulin_status_;                  \
    }                                        \
  } while (0)

#endif  // MULIN_LEDGER_STATUS_H_
