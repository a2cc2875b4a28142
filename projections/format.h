// Text forms shared by the read commands and their reports: instants in Asia/Shanghai, fen as
// yuan, and CSV that Excel and WPS open correctly (DESIGN §5).
// Thread-safety: pure functions; a CsvWriter belongs to one thread.
#ifndef MULIN_PROJECTIONS_FORMAT_H_
#define MULIN_PROJECTIONS_FORMAT_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace mulin::projections {

// China has kept UTC+8 all year since 1991 (no DST), so a fixed offset is exact for every instant
// the ledger records.
inline constexpr int64_t kShanghaiOffsetS = 8 * 3600;

// µs since the Unix epoch from "2026-03-01T08:00:00+08:00" (also "Z", "±HHMM", a ' ' for the 'T',
// optional seconds and up to 6 fraction digits) or from a date "2026-03-01", which means
// midnight in Asia/Shanghai. Anything else is kInvalidArgument with a one-line reason.
Result<int64_t> ParseTime(std::string_view text);

// "2026-03-01T08:00:00+08:00": Asia/Shanghai, whole seconds (rounded down).
std::string FormatTime(int64_t time_us);

// "12.34", "-0.05": fen as yuan with two decimals, exact for every int64.
std::string FormatYuan(int64_t fen);

// "+10", "-3", "0".
std::string FormatSigned(int64_t value);

// Writes RFC 4180 CSV: UTF-8 with a byte-order mark first (Excel and WPS need it to read UTF-8),
// CRLF line ends, fields quoted when they hold a comma, quote or line break.
class CsvWriter {
 public:
  // Borrows `out`; writes the byte-order mark at once.
  explicit CsvWriter(std::ostream* out);
  void Row(const std::vector<std::string>& fields);

 private:
  std::ostream* out_;
};

// Free text for a CSV cell (names, reasons, ids): a leading = + - @ would make a spreadsheet read
// the cell as a formula, so such text gets a leading apostrophe. Numbers are written as they are.
std::string CsvText(std::string_view text);

}  // namespace mulin::projections

#endif  // MULIN_PROJECTIONS_FORMAT_H_
