// The stored form of one log record and of the keys around it.
//
// Column family `events`:
//   key    := seq: fixed64 big-endian              (keys sort in seq order; seq is gapless from 1)
//   value  := record
//   record := version: u8 (= kRecordVersion)
//             reserved: u8[3] (= 0)
//             payload_size: fixed32 little-endian   (≤ kRecordPayloadBytesMax)
//             payload: u8[payload_size]             (one unpacked Cap'n Proto message: an Event)
//             chain: u8[32]                         (see below)
//             checksum: fixed64 little-endian       (XXH3-64, seed = seq, of every byte above)
//   chain(seq) := BLAKE2b-256(chain(seq - 1) || seq_be || payload), chain(0) := 32 zero bytes
//
// The checksum catches accidents (a flipped bit, a torn write) cheaply on every read. The chain is
// cryptographic: a forger who rewrites a record and recomputes its checksum still breaks the chain
// link of that record, and rewriting every later link changes the head an auditor holds.
// Thread-safety: pure functions.
#ifndef MULIN_LEDGER_RECORD_FORMAT_H_
#define MULIN_LEDGER_RECORD_FORMAT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace mulin::ledger {

inline constexpr uint8_t kRecordVersion = 1;
inline constexpr size_t kRecordHeaderBytes = 8;
inline constexpr size_t kChainHashBytes = 32;
inline constexpr size_t kRecordTrailerBytes = kChainHashBytes + 8;
// An event is a few hundred bytes; a delivery with many volunteers a few KiB. Anything larger is
// refused at append and reported as corruption at read.
inline constexpr size_t kRecordPayloadBytesMax = 256 * 1024;
inline constexpr size_t kSeqKeyBytes = 8;

using ChainHash = std::array<uint8_t, kChainHashBytes>;

// The chain value before seq 1.
inline constexpr ChainHash kGenesisChain{};

std::string EncodeSeqKey(uint64_t seq);
// Returns false when `key` is not an 8-byte seq key.
bool DecodeSeqKey(std::string_view key, uint64_t* seq);

ChainHash ComputeChain(const ChainHash& previous, uint64_t seq, std::string_view payload);

// Appends the record for (seq, payload, chain) to `out`. The payload size is checked by the caller.
void EncodeRecord(uint64_t seq, std::string_view payload, const ChainHash& chain, std::string* out);

struct RecordView {
  std::string_view payload;  // points into the bytes given to DecodeRecord
  ChainHash chain;
};

// Checks framing and checksum of the stored record of `seq`; does not check the chain link, which
// needs the previous record. Errors are kCorruption naming `seq`.
Result<RecordView> DecodeRecord(uint64_t seq, std::string_view bytes);

std::string HexEncode(const uint8_t* data, size_t size);
inline std::string HexEncode(const ChainHash& hash) { return HexEncode(hash.data(), hash.size()); }
// Parses 64 hex digits; false on anything else.
bool ParseChainHex(std::string_view hex, ChainHash* out);

// Little-endian fixed-width helpers shared by the stored formats of this component.
void PutFixed32(std::string* out, uint32_t value);
void PutFixed64(std::string* out, uint64_t value);
uint32_t GetFixed32(const char* p);
uint64_t GetFixed64(const char* p);

}  // namespace mulin::ledger

#endif  // MULIN_LEDGER_RECORD_FORMAT_H_
