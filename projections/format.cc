#include "projections/format.h"

#include <cstdio>

namespace mulin::projections {
namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kSecondsPerDay = 86400;
constexpr int kFractionDigitsMax = 6;
constexpr const char kByteOrderMark[] = "\xEF\xBB\xBF";

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int64_t* m, int64_t* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp + (mp < 10 ? 3 : -9);
  *y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int64_t DaysInMonth(int64_t y, int64_t m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `digits` decimal digits at `*pos`.
bool ReadDigits(std::string_view text, size_t* pos, int digits, int64_t* out) {
  if (*pos + static_cast<size_t>(digits) > text.size()) return false;
  int64_t value = 0;
  for (int i = 0; i < digits; ++i) {
    const char c = text[*pos + static_cast<size_t>(i)];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  *pos += static_cast<size_t>(digits);
  *out = value;
  return true;
}

bool ReadChar(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

Status Bad(std::string_view text, const std::string& why) {
  return Status::InvalidArgument("'" + std::string(text) + "' is not a time: " + why +
                                 " (use 2026-03-01T08:00:00+08:00 or a date 2026-03-01)");
}

// Parses the offset at `*pos` ("Z", "+08:00", "+0800") into seconds east of UTC.
bool ReadOffset(std::string_view text, size_t* pos, int64_t* offset_s) {
  if (ReadChar(text, pos, 'Z')) {
    *offset_s = 0;
    return true;
  }
  if (*pos >= text.size() || (text[*pos] != '+' && text[*pos] != '-')) return false;
  const int64_t sign = text[(*pos)++] == '-' ? -1 : 1;
  int64_t hh = 0, mm = 0;
  if (!ReadDigits(text, pos, 2, &hh)) return false;
  ReadChar(text, pos, ':');
  if (!ReadDigits(text, pos, 2, &mm) || hh > 23 || mm > 59) return false;
  *offset_s = sign * (hh * 3600 + mm * 60);
  return true;
}

}  // namespace

Result<int64_t> ParseTime(std::string_view text) {
  size_t pos = 0;
  int64_t y = 0, mo = 0, d = 0;
  if (!ReadDigits(text, &pos, 4, &y) || !ReadChar(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &mo) || !ReadChar(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &d)) {
    return Bad(text, "expected a date YYYY-MM-DD first");
  }
  if (mo < 1 || mo > 12) {
    return Bad(text, "month " + std::to_string(mo) + " is out of range (1-12)");
  }
  if (d < 1 || d > DaysInMonth(y, mo)) {
    return Bad(text, "day " + std::to_string(d) + " is out of range for that month (1-" +
                         std::to_string(DaysInMonth(y, mo)) + ")");
  }
  const int64_t days = DaysFromCivil(y, mo, d);
  if (pos == text.size()) return (days * kSecondsPerDay - kShanghaiOffsetS) * kMicrosPerSecond;
  if (!ReadChar(text, &pos, 'T') && !ReadChar(text, &pos, ' ')) {
    return Bad(text, "expected 'T' after the date");
  }
  int64_t hh = 0, mm = 0, ss = 0, fraction_us = 0;
  if (!ReadDigits(text, &pos, 2, &hh) || !ReadChar(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &mm)) {
    return Bad(text, "expected HH:MM after the date");
  }
  if (ReadChar(text, &pos, ':') && !ReadDigits(text, &pos, 2, &ss)) {
    return Bad(text, "expected two digits of seconds");
  }
  if (hh > 23 || mm > 59 || ss > 59) return Bad(text, "hour, minute or second is out of range");
  if (ReadChar(text, &pos, '.') || ReadChar(text, &pos, ',')) {
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (++digits > kFractionDigitsMax) return Bad(text, "more than 6 fraction digits");
      fraction_us = fraction_us * 10 + (text[pos++] - '0');
    }
    if (digits == 0) return Bad(text, "expected digits after the decimal point");
    for (int i = digits; i < kFractionDigitsMax; ++i) fraction_us *= 10;
  }
  if (pos == text.size()) return Bad(text, "no UTC offset; add one such as +08:00 or Z");
  int64_t offset_s = 0;
  if (!ReadOffset(text, &pos, &offset_s) || pos != text.size()) {
    return Bad(text, "the UTC offset must look like +08:00 or Z");
  }
  const int64_t seconds = days * kSecondsPerDay + hh * 3600 + mm * 60 + ss - offset_s;
  return seconds * kMicrosPerSecond + fraction_us;
}

std::string FormatTime(int64_t time_us) {
  // Round down, also before the epoch, so a time never shows later than it happened.
  int64_t seconds = time_us / kMicrosPerSecond;
  if (time_us % kMicrosPerSecond < 0) --seconds;
  seconds += kShanghaiOffsetS;
  int64_t days = seconds / kSecondsPerDay;
  int64_t rest = seconds % kSecondsPerDay;
  if (rest < 0) {
    rest += kSecondsPerDay;
    --days;
  }
  int64_t y = 0, m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  char out[48];
  std::snprintf(out, sizeof(out), "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld+08:00",
                static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                static_cast<long long>(rest / 3600), static_cast<long long>(rest / 60 % 60),
                static_cast<long long>(rest % 60));
  return out;
}

std::string FormatYuan(int64_t fen) {
  // Work on the magnitude as unsigned: -INT64_MIN does not fit an int64.
  const uint64_t magnitude = fen < 0 ? 0 - static_cast<uint64_t>(fen) : static_cast<uint64_t>(fen);
  std::string out = fen < 0 ? "-" : "";
  out += std::to_string(magnitude / 100);
  const uint64_t cents = magnitude % 100;
  out += cents < 10 ? ".0" : ".";
  out += std::to_string(cents);
  return out;
}

std::string FormatSigned(int64_t value) {
  return value > 0 ? "+" + std::to_string(value) : std::to_string(value);
}

CsvWriter::CsvWriter(std::ostream* out) : out_(out) { *out_ << kByteOrderMark; }

void CsvWriter::Row(const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) *out_ << ',';
    const std::string& field = fields[i];
    if (field.find_first_of(",\"\r\n") == std::string::npos) {
      *out_ << field;
      continue;
    }
    *out_ << '"';
    for (char c : field) {
      if (c == '"') *out_ << '"';
      *out_ << c;
    }
    *out_ << '"';
  }
  *out_ << "\r\n";
}

std::string CsvText(std::string_view text) {
  if (!text.empty() && std::string_view("=+-@\t\r").find(text[0]) != std::string_view::npos) {
    return "'" + std::string(text);
  }
  return std::string(text);
}

}  // namespace mulin::projections
