#include "projections/codec.h"

#include <cstring>

#include "ledger/record_format.h"

namespace mulin::projections {
namespace {

constexpr char kEscape = '\x00';
constexpr char kEscapedZero = '\xFF';
constexpr char kTerminator = '\x01';
// A difference report shows this many bytes of a row that does not decode.
constexpr size_t kDescribeBytesMax = 24;

}  // namespace

void AppendKeyString(std::string* key, std::string_view s) {
  // Ids almost never hold a 0x00 byte: append them whole.
  if (s.find(kEscape) == std::string_view::npos) {
    key->append(s);
  } else {
    for (char c : s) {
      key->push_back(c);
      if (c == kEscape) key->push_back(kEscapedZero);
    }
  }
  // Two push_backs, which inline, cost less than a second append, which does not.
  key->push_back(kEscape);
  key->push_back(kTerminator);
}

void AppendKeyU64(std::string* key, uint64_t value) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (56 - 8 * i)) & 0xFF);
  key->append(bytes, sizeof(bytes));
}

void AppendKeyU32(std::string* key, uint32_t value) {
  char bytes[4];
  for (int i = 0; i < 4; ++i) bytes[i] = static_cast<char>((value >> (24 - 8 * i)) & 0xFF);
  key->append(bytes, sizeof(bytes));
}

bool ReadKeyString(std::string_view* in, std::string* out) {
  out->clear();
  for (size_t i = 0; i + 1 < in->size(); ++i) {
    const char c = (*in)[i];
    if (c != kEscape) {
      out->push_back(c);
      continue;
    }
    const char next = (*in)[i + 1];
    if (next == kTerminator) {
      in->remove_prefix(i + 2);
      return true;
    }
    if (next != kEscapedZero) return false;
    out->push_back(kEscape);
    ++i;
  }
  return false;
}

bool ReadKeyU64(std::string_view* in, uint64_t* value) {
  if (in->size() < 8) return false;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>((*in)[i]);
  *value = v;
  in->remove_prefix(8);
  return true;
}

bool ReadKeyU32(std::string_view* in, uint32_t* value) {
  if (in->size() < 4) return false;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>((*in)[i]);
  *value = v;
  in->remove_prefix(4);
  return true;
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    const auto last = static_cast<uint8_t>(out.back());
    if (last != 0xFF) {
      out.back() = static_cast<char>(last + 1);
      return out;
    }
    out.pop_back();
  }
  return out;
}

ValueWriter& ValueWriter::Str(std::string_view value) {
  U32(static_cast<uint32_t>(value.size()));
  if (used_ + value.size() <= kBufferBytes) {
    std::memcpy(buffer_ + used_, value.data(), value.size());
    used_ += value.size();
  } else {
    Flush();
    out_->append(value);
  }
  return *this;
}

uint64_t ValueReader::U64() {
  if (!ok_ || in_.size() < 8) {
    ok_ = false;
    return 0;
  }
  const uint64_t value = LoadFixed(in_.data(), 8);
  in_.remove_prefix(8);
  return value;
}

uint32_t ValueReader::U32() {
  if (!ok_ || in_.size() < 4) {
    ok_ = false;
    return 0;
  }
  const uint32_t value = ledger::GetFixed32(in_.data());
  in_.remove_prefix(4);
  return value;
}

uint8_t ValueReader::U8() {
  if (!ok_ || in_.empty()) {
    ok_ = false;
    return 0;
  }
  const auto value = static_cast<uint8_t>(in_[0]);
  in_.remove_prefix(1);
  return value;
}

std::string_view ValueReader::StrView() {
  if (!ok_ || in_.size() < 4) {
    ok_ = false;
    return {};
  }
  const uint32_t size = ledger::GetFixed32(in_.data());
  if (in_.size() - 4 < size) {
    ok_ = false;
    return {};
  }
  const std::string_view value = in_.substr(4, size);
  in_.remove_prefix(4 + static_cast<size_t>(size));
  return value;
}

std::string DescribeBytes(std::string_view bytes) {
  const size_t shown = bytes.size() < kDescribeBytesMax ? bytes.size() : kDescribeBytesMax;
  std::string out = "0x" + ledger::HexEncode(reinterpret_cast<const uint8_t*>(bytes.data()), shown);
  if (shown < bytes.size()) out += "… (" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

}  // namespace mulin::projections
