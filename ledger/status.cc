#include "ledger/status.h"

namespace mulin {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kNotFound:
      return "not found";
    case Code::kInvalidArgument:
      return "invalid argument";
    case Code::kRejected:
      return "rejected";
    case Code::kConflict:
      return "conflict";
    case Code::kCorruption:
      return "corruption";
    case Code::kIoError:
      return "I/O error";
    case Code::kOverloaded:
      return "overloaded";
    case Code::kBusy:
      return "busy";
    case Code::kShutdown:
      return "shut down";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out = CodeName(code_);
  if (!reason_code_.empty()) out += " (" + reason_code_ + ")";
  out += ": ";
  out += message_;
  return out;
}

}  // namespace mulin
