// Signed checkpoints (DESIGN §4): a head (seq and chain hash) and the time it was taken, signed
// with an Ed25519 key (libsodium crypto_sign), so that an auditor can hand the checkpoint to anyone
// and anyone holding the public key can prove that the ledger's history up to it is unchanged.
//
// Key files are one line each, written by `mulin keygen`:
//   secret_key_file := "mulin-ed25519-secret:" HEX64 "\n"   -- the 32-byte seed; mode 0600
//   public_key_file := "mulin-ed25519-public:" HEX64 "\n"   -- the 32-byte public key
//
// A signed checkpoint is a short text file, written by `mulin checkpoint --sign`:
//   signed_checkpoint := signed_part "signature: " HEX128 "\n"
//   signed_part       := "mulin signed checkpoint v1\n"
//                        "seq: " DECIMAL "\n"           -- the head seq (0 for an empty ledger)
//                        "chain: " HEX64 "\n"           -- the chain hash at that seq
//                        "time-us: " DECIMAL "\n"       -- when it was signed, µs since the epoch
//                        "time: " ISO8601 "\n"          -- the same instant, Asia/Shanghai, for
//                        people "key: " HEX64 "\n"             -- the signer's public key
// The signature is Ed25519 over the bytes of signed_part exactly as stored, so no byte before the
// signature line can change without the check failing; it is checked before any field is read.
//
// Thread-safety: free functions on values; safe from any thread.
#ifndef MULIN_TOOLS_MULIN_SIGNED_CHECKPOINT_H_
#define MULIN_TOOLS_MULIN_SIGNED_CHECKPOINT_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/event_log.h"
#include "ledger/status.h"

namespace mulin::cli {

inline constexpr size_t kPublicKeyBytes = 32;
inline constexpr size_t kSeedBytes = 32;
inline constexpr size_t kSignatureBytes = 64;
// A signed checkpoint is about 400 bytes; anything much longer is not one.
inline constexpr size_t kSignedCheckpointBytesMax = 4096;

using PublicKey = std::array<uint8_t, kPublicKeyBytes>;

struct SigningKey {
  std::array<uint8_t, kSeedBytes> seed{};
  PublicKey public_key{};
};

struct SignedCheckpoint {
  ledger::Head head;
  int64_t time_us = 0;
  PublicKey signer{};
};

// A fresh random key pair.
SigningKey GenerateSigningKey();
// The key files' one-line texts.
std::string FormatSecretKey(const SigningKey& key);
std::string FormatPublicKey(const PublicKey& key);
// kInvalidArgument when `text` is not a key file of that kind.
Result<SigningKey> ParseSecretKey(std::string_view text);
Result<PublicKey> ParsePublicKey(std::string_view text);

// The text of a signed checkpoint of `checkpoint.head` at `checkpoint.time_us`, signed by `key`
// (checkpoint.signer is ignored: the key's public half is written).
std::string SignCheckpoint(const SignedCheckpoint& checkpoint, const SigningKey& key);

// Checks a signed checkpoint's text against `trusted`: kInvalidArgument when the text does not
// follow the grammar; kCorruption when it names another key or its signature does not verify.
Result<SignedCheckpoint> CheckSignedCheckpoint(std::string_view text, const PublicKey& trusted);

// Reads a whole small file (at most `bytes_max`); kIoError when it cannot, kInvalidArgument when
// it is longer.
Result<std::string> ReadSmallFile(const std::string& path, size_t bytes_max);

}  // namespace mulin::cli

#endif  // MULIN_TOOLS_MULIN_SIGNED_CHECKPOINT_H_
