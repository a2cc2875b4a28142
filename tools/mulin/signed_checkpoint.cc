#include "tools/mulin/signed_checkpoint.h"

#include <sodium.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "ledger/record_format.h"
#include "projections/format.h"

namespace mulin::cli {
namespace {

static_assert(kPublicKeyBytes == crypto_sign_PUBLICKEYBYTES);
static_assert(kSeedBytes == crypto_sign_SEEDBYTES);
static_assert(kSignatureBytes == crypto_sign_BYTES);

constexpr std::string_view kSecretKeyTag = "mulin-ed25519-secret:";
constexpr std::string_view kPublicKeyTag = "mulin-ed25519-public:";
constexpr std::string_view kMagicLine = "mulin signed checkpoint v1\n";
constexpr std::string_view kSignatureTag = "signature: ";

// Decodes exactly `out.size()` bytes of lowercase hex.
template <size_t N>
bool ParseHex(std::string_view hex, std::array<uint8_t, N>* out) {
  if (hex.size() != 2 * N) return false;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  size_t decoded = 0;
  return sodium_hex2bin(out->data(), N, hex.data(), hex.size(), nullptr, &decoded, nullptr) == 0 &&
         decoded == N;
}

template <size_t N>
std::string Hex(const std::array<uint8_t, N>& bytes) {
  return ledger::HexEncode(bytes.data(), N);
}

// One key file: TAG HEX "\n" (the final newline optional, as editors differ).
template <size_t N>
bool ParseKeyLine(std::string_view text, std::string_view tag, std::array<uint8_t, N>* out) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (text.substr(0, tag.size()) != tag) return false;
  return ParseHex(text.substr(tag.size()), out);
}

// Splits off the next line of `*rest` if it is `name` ": " VALUE "\n"; returns VALUE.
bool TakeField(std::string_view* rest, std::string_view name, std::string_view* value) {
  const size_t newline = rest->find('\n');
  if (newline == std::string_view::npos) return false;
  std::string_view line = rest->substr(0, newline);
  if (line.size() < name.size() + 2 || line.substr(0, name.size()) != name ||
      line.substr(name.size(), 2) != ": ") {
    return false;
  }
  *value = line.substr(name.size() + 2);
  rest->remove_prefix(newline + 1);
  return true;
}

// A decimal without sign or leading zeros (so each value has one spelling).
template <typename Int>
bool ParseDecimal(std::string_view text, Int* out) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end && *out >= 0;
}

std::string SignedPart(const SignedCheckpoint& checkpoint) {
  std::ostringstream out;
  out << kMagicLine << "seq: " << checkpoint.head.seq << "\n"
      << "chain: " << ledger::HexEncode(checkpoint.head.chain) << "\n"
      << "time-us: " << checkpoint.time_us << "\n"
      << "time: " << projections::FormatTime(checkpoint.time_us) << "\n"
      << "key: " << Hex(checkpoint.signer) << "\n";
  return out.str();
}

Status NotACheckpoint(const std::string& what) {
  return Status::InvalidArgument("not a signed checkpoint of `mulin checkpoint --sign`: " + what);
}

// Parses signed_part (without the signature line) into `out`.
Status ParseSignedPart(std::string_view part, SignedCheckpoint* out) {
  if (part.substr(0, kMagicLine.size()) != kMagicLine) return NotACheckpoint("no header line");
  part.remove_prefix(kMagicLine.size());
  std::string_view seq, chain, time_us, time, key;
  if (!TakeField(&part, "seq", &seq) || !ParseDecimal(seq, &out->head.seq)) {
    return NotACheckpoint("bad seq line");
  }
  if (!TakeField(&part, "chain", &chain) || !ParseHex(chain, &out->head.chain)) {
    return NotACheckpoint("bad chain line");
  }
  if (!TakeField(&part, "time-us", &time_us) || !ParseDecimal(time_us, &out->time_us)) {
    return NotACheckpoint("bad time-us line");
  }
  // The time line is for people and covered by the signature; time-us is what counts, so a
  // change in how times are shown never invalidates old checkpoints.
  if (!TakeField(&part, "time", &time)) return NotACheckpoint("bad time line");
  if (!TakeField(&part, "key", &key) || !ParseHex(key, &out->signer)) {
    return NotACheckpoint("bad key line");
  }
  if (!part.empty()) return NotACheckpoint("unexpected lines before the signature");
  return Status::Ok();
}

}  // namespace

SigningKey GenerateSigningKey() {
  SigningKey key;
  randombytes_buf(key.seed.data(), key.seed.size());
  std::array<uint8_t, crypto_sign_SECRETKEYBYTES> secret;
  crypto_sign_seed_keypair(key.public_key.data(), secret.data(), key.seed.data());
  sodium_memzero(secret.data(), secret.size());
  return key;
}

std::string FormatSecretKey(const SigningKey& key) {
  return std::string(kSecretKeyTag) + Hex(key.seed) + "\n";
}

std::string FormatPublicKey(const PublicKey& key) {
  return std::string(kPublicKeyTag) + Hex(key) + "\n";
}

Result<SigningKey> ParseSecretKey(std::string_view text) {
  SigningKey key;
  if (!ParseKeyLine(text, kSecretKeyTag, &key.seed)) {
    return Status::InvalidArgument("not a secret key of `mulin keygen` (expected " +
                                   std::string(kSecretKeyTag) + "<64 hex digits>)");
  }
  std::array<uint8_t, crypto_sign_SECRETKEYBYTES> secret;
  crypto_sign_seed_keypair(key.public_key.data(), secret.data(), key.seed.data());
  sodium_memzero(secret.data(), secret.size());
  return key;
}

Result<PublicKey> ParsePublicKey(std::string_view text) {
  PublicKey key;
  if (!ParseKeyLine(text, kPublicKeyTag, &key)) {
    return Status::InvalidArgument("not a public key of `mulin keygen` (expected " +
                                   std::string(kPublicKeyTag) + "<64 hex digits>)");
  }
  return key;
}

std::string SignCheckpoint(const SignedCheckpoint& checkpoint, const SigningKey& key) {
  SignedCheckpoint signed_by_key = checkpoint;
  signed_by_key.signer = key.public_key;
  const std::string part = SignedPart(signed_by_key);
  std::array<uint8_t, crypto_sign_SECRETKEYBYTES> secret;
  PublicKey public_key;
  crypto_sign_seed_keypair(public_key.data(), secret.data(), key.seed.data());
  std::array<uint8_t, kSignatureBytes> signature;
  crypto_sign_detached(signature.data(), nullptr, reinterpret_cast<const uint8_t*>(part.data()),
                       part.size(), secret.data());
  sodium_memzero(secret.data(), secret.size());
  return part + std::string(kSignatureTag) + Hex(signature) + "\n";
}

Result<SignedCheckpoint> CheckSignedCheckpoint(std::string_view text, const PublicKey& trusted) {
  if (text.size() > kSignedCheckpointBytesMax) return NotACheckpoint("too long");
  if (text.substr(0, kMagicLine.size()) != kMagicLine) return NotACheckpoint("no header line");
  // The signature line is the last line; everything before it is what was signed.
  if (text.back() != '\n') return NotACheckpoint("no final line end");
  const size_t last_line = text.rfind('\n', text.size() - 2);
  if (last_line == std::string_view::npos) return NotACheckpoint("no signature line");
  const std::string_view part = text.substr(0, last_line + 1);
  std::string_view signature_line = text.substr(last_line + 1);
  signature_line.remove_suffix(1);
  std::array<uint8_t, kSignatureBytes> signature;
  if (signature_line.substr(0, kSignatureTag.size()) != kSignatureTag ||
      !ParseHex(signature_line.substr(kSignatureTag.size()), &signature)) {
    return NotACheckpoint("bad signature line");
  }
  // The signature is checked before any field is believed: an altered file is an integrity
  // problem, whatever the alteration did to its fields.
  SignedCheckpoint checkpoint;
  const Status parsed = ParseSignedPart(part, &checkpoint);
  if (crypto_sign_verify_detached(signature.data(), reinterpret_cast<const uint8_t*>(part.data()),
                                  part.size(), trusted.data()) != 0) {
    if (parsed.ok() &&
        sodium_memcmp(checkpoint.signer.data(), trusted.data(), trusted.size()) != 0) {
      return Status::Corruption("the checkpoint was signed by key " + Hex(checkpoint.signer) +
                                ", not by the trusted key " + Hex(trusted));
    }
    return Status::Corruption(
        "the checkpoint's signature does not verify: the file was altered or not signed with "
        "this key");
  }
  MULIN_RETURN_IF_ERROR(parsed);
  // Only a signer with a broken formatter writes another key than its own; the file is then not
  // what it claims to be.
  if (sodium_memcmp(checkpoint.signer.data(), trusted.data(), trusted.size()) != 0) {
    return Status::Corruption("the checkpoint names key " + Hex(checkpoint.signer) +
                              " but was signed by the trusted key " + Hex(trusted));
  }
  return checkpoint;
}

Result<std::string> ReadSmallFile(const std::string& path, size_t bytes_max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read " + path);
  std::string text(bytes_max + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return Status::IoError("reading " + path + " failed");
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > bytes_max) {
    return Status::InvalidArgument(path + " is longer than " + std::to_string(bytes_max) +
                                   " bytes");
  }
  return text;
}

}  // namespace mulin::cli
