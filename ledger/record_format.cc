#include "ledger/record_format.h"

#include <sodium.h>
#include <xxhash.h>

#include <cstring>

namespace mulin::ledger {
namespace {

void PutBigEndian64(uint64_t value, char* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
}

// Seeding with the seq binds a record to its key: a record copied to another seq fails its check.
uint64_t RecordChecksum(uint64_t seq, std::string_view covered) {
  return XXH3_64bits_withSeed(covered.data(), covered.size(), seq);
}

}  // namespace

std::string EncodeSeqKey(uint64_t seq) {
  std::string key(kSeqKeyBytes, '\0');
  PutBigEndian64(seq, key.data());
  return key;
}

bool DecodeSeqKey(std::string_view key, uint64_t* seq) {
  if (key.size() != kSeqKeyBytes) return false;
  uint64_t value = 0;
  for (char c : key) value = (value << 8) | static_cast<uint8_t>(c);
  *seq = value;
  return true;
}

ChainHash ComputeChain(const ChainHash& previous, uint64_t seq, std::string_view payload) {
  char seq_be[kSeqKeyBytes];
  PutBigEndian64(seq, seq_be);
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, kChainHashBytes);
  crypto_generichash_update(&state, previous.data(), previous.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(seq_be), sizeof(seq_be));
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(payload.data()),
                            payload.size());
  ChainHash out;
  crypto_generichash_final(&state, out.data(), out.size());
  return out;
}

void EncodeRecord(uint64_t seq, std::string_view payload, const ChainHash& chain,
                  std::string* out) {
  const size_t start = out->size();
  out->reserve(start + kRecordHeaderBytes + payload.size() + kRecordTrailerBytes);
  out->push_back(static_cast<char>(kRecordVersion));
  out->append(3, '\0');
  PutFixed32(out, static_cast<uint32_t>(payload.size()));
  out->append(payload);
  out->append(reinterpret_cast<const char*>(chain.data()), chain.size());
  const uint64_t checksum =
      RecordChecksum(seq, std::string_view(out->data() + start, out->size() - start));
  PutFixed64(out, checksum);
}

Result<RecordView> DecodeRecord(uint64_t seq, std::string_view bytes) {
  // Built only on the error paths: this runs for every record read.
  auto where = [seq] { return "record " + std::to_string(seq) + ": "; };
  if (bytes.size() < kRecordHeaderBytes + kRecordTrailerBytes) {
    return Status::Corruption(where() + "truncated (" + std::to_string(bytes.size()) + " bytes)",
                              seq);
  }
  const size_t covered_size = bytes.size() - 8;
  const uint64_t stored = GetFixed64(bytes.data() + covered_size);
  if (RecordChecksum(seq, bytes.substr(0, covered_size)) != stored) {
    return Status::Corruption(where() + "checksum mismatch", seq);
  }
  if (static_cast<uint8_t>(bytes[0]) != kRecordVersion) {
    return Status::Corruption(
        where() + "unknown record version " + std::to_string(static_cast<uint8_t>(bytes[0])), seq);
  }
  const uint32_t payload_size = GetFixed32(bytes.data() + 4);
  if (payload_size > kRecordPayloadBytesMax ||
      payload_size != bytes.size() - kRecordHeaderBytes - kRecordTrailerBytes) {
    return Status::Corruption(where() + "payload size " + std::to_string(payload_size) +
                                  " does not fit the record of " + std::to_string(bytes.size()) +
                                  " bytes",
                              seq);
  }
  RecordView view;
  view.payload = bytes.substr(kRecordHeaderBytes, payload_size);
  std::memcpy(view.chain.data(), bytes.data() + kRecordHeaderBytes + payload_size, kChainHashBytes);
  return view;
}

std::string HexEncode(const uint8_t* data, size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

bool ParseChainHex(std::string_view hex, ChainHash* out) {
  if (hex.size() != kChainHashBytes * 2) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < kChainHashBytes; ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

void PutFixed32(std::string* out, uint32_t value) {
  char buf[4];
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  out->append(buf, sizeof(buf));
}

void PutFixed64(std::string* out, uint64_t value) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  out->append(buf, sizeof(buf));
}

uint32_t GetFixed32(const char* p) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(p[i]);
  return value;
}

uint64_t GetFixed64(const char* p) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(p[i]);
  return value;
}

}  // namespace mulin::ledger
