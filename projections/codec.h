// Encoding of the pieces of projection rows: keys that sort the way queries scan them, values that
// decode defensively (stored bytes may have been changed behind the projection's back).
//
//   key string := (byte ≠ 0x00 | 0x00 0xFF)* 0x00 0x01   (order-preserving and self-delimiting: an
//                                                          id may hold any byte, even 0x00)
//   key u64    := fixed64 big-endian                       (sorts numerically)
//   key u32    := fixed32 big-endian
//   value i64/u64 := fixed64 little-endian
//   value u32  := fixed32 little-endian
//   value u8   := one byte
//   value str  := length: fixed32 little-endian  bytes[length]
//   fixed row  := value i64/u64 *   (a row of a known number of fixed64 fields: a fold updates
//                                   its fields in place instead of decoding and re-encoding it)
//
// Thread-safety: pure functions; a ValueReader belongs to one thread.
#ifndef MULIN_PROJECTIONS_CODEC_H_
#define MULIN_PROJECTIONS_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace mulin::projections {

void AppendKeyString(std::string* key, std::string_view s);
void AppendKeyU64(std::string* key, uint64_t value);
void AppendKeyU32(std::string* key, uint32_t value);
// Each consumes its piece from the front of `in`; false when `in` does not start with one.
bool ReadKeyString(std::string_view* in, std::string* out);
bool ReadKeyU64(std::string_view* in, uint64_t* value);
bool ReadKeyU32(std::string_view* in, uint32_t* value);

// The smallest key greater than every key that starts with `prefix` ("" when there is none).
std::string PrefixSuccessor(std::string_view prefix);

// Stores the low `bytes` bytes of `value` at `at`, little-endian: the value encoding of a fixed
// field (ValueWriter's, and a fold's when it changes a field in place). Through a plain pointer:
// stores through a string's operator[] could alias the string itself, which would make the
// compiler reload it for every byte.
inline void StoreFixed(char* at, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) at[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
}

// The fixed field of `bytes` bytes at `at`, which the caller has checked lies within the value.
inline uint64_t LoadFixed(const char* at, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = bytes; i-- > 0;) v = (v << 8) | static_cast<uint8_t>(at[i]);
  return v;
}

// Fields are gathered in a small buffer and appended to the string a few at a time (when the
// buffer fills, at Str, at Finish, and when the writer goes out of scope): one append per value
// instead of one per field. The target holds the whole value only after that.
class ValueWriter {
 public:
  // Most row values fit this: one allocation per value instead of one per growth step.
  static constexpr size_t kReserveBytes = 96;
  ValueWriter() : out_(&own_) { own_.reserve(kReserveBytes); }
  // Appends to `*target` instead (a record added to a row that holds a run of them), by the time
  // the writer is destroyed.
  explicit ValueWriter(std::string* target) : out_(target) {}
  ~ValueWriter() { Flush(); }
  ValueWriter(const ValueWriter&) = delete;
  ValueWriter& operator=(const ValueWriter&) = delete;
  ValueWriter& I64(int64_t value) { return U64(static_cast<uint64_t>(value)); }
  ValueWriter& U64(uint64_t value) { return Fixed(value, 8); }
  ValueWriter& U32(uint32_t value) { return Fixed(value, 4); }
  ValueWriter& U8(uint8_t value) { return Fixed(value, 1); }
  ValueWriter& Str(std::string_view value);
  // The value written (only for a writer that owns its string).
  std::string Finish() {
    Flush();
    return std::move(own_);
  }

 private:
  // Holds a whole audit or fund entry or order row with ids of usual length: one append each.
  static constexpr size_t kBufferBytes = 128;
  // The low `bytes` bytes of `value`, little-endian.
  // The bytes go through a local pointer and used_ is bumped once: a char store could alias
  // used_, and the compiler would then reload and store it for every byte.
  ValueWriter& Fixed(uint64_t value, size_t bytes) {
    if (used_ + bytes > kBufferBytes) Flush();
    StoreFixed(buffer_ + used_, value, bytes);
    used_ += bytes;
    return *this;
  }
  void Flush() {
    if (used_ == 0) return;
    out_->append(buffer_, used_);
    used_ = 0;
  }

  std::string own_;
  std::string* out_;
  char buffer_[kBufferBytes];
  size_t used_ = 0;
};

// Reads a value written by ValueWriter. Every read checks the bounds; the first failure sticks, so
// a caller reads every field and checks ok() once at the end.
class ValueReader {
 public:
  explicit ValueReader(std::string_view in) : in_(in) {}
  int64_t I64() { return static_cast<int64_t>(U64()); }
  uint64_t U64();
  uint32_t U32();
  uint8_t U8();
  std::string Str() { return std::string(StrView()); }
  // The text's bytes where they lie in the value read.
  std::string_view StrView();
  // True when every read succeeded and nothing is left over.
  bool ok() const { return ok_ && in_.empty(); }
  // For rows that hold a run of records: every read so far succeeded / nothing is left.
  bool good() const { return ok_; }
  bool at_end() const { return in_.empty(); }
  // How many bytes are left to read (the value's size less this is where the next field lies).
  size_t remaining() const { return in_.size(); }

 private:
  std::string_view in_;
  bool ok_ = true;
};

// A fixed row of `fields` fields, opened for the field functions below: a new row ("") becomes
// all zeros; false when the row has any other size than `fields` × 8 (it does not decode).
inline bool OpenFixedRow(std::string* value, size_t fields) {
  if (value->empty()) value->assign(fields * 8, '\0');
  return value->size() == fields * 8;
}

inline uint64_t FixedField(std::string_view value, size_t field) {
  return LoadFixed(value.data() + field * 8, 8);
}

inline void SetFixedField(std::string* value, size_t field, uint64_t v) {
  StoreFixed(value->data() + field * 8, v, 8);
}

// Adds with wrap-around, as the fields are stored (two's complement for the signed ones).
inline void AddToField(std::string* value, size_t field, int64_t delta) {
  SetFixedField(value, field, FixedField(*value, field) + static_cast<uint64_t>(delta));
}

// "0x1f2e…" (at most a few bytes) for reporting a row that does not decode.
std::string DescribeBytes(std::string_view bytes);

}  // namespace mulin::projections

#endif  // MULIN_PROJECTIONS_CODEC_H_
