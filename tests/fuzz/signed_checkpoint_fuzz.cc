// Fuzz target: a signed checkpoint file, which an auditor may receive from anyone. The first byte
// picks whether the rest is read as a whole file, or is signed first with the trusted key (so that
// the field parser behind the signature check is reached). CheckSignedCheckpoint must answer with
// a checkpoint or an error, never crash, and what it accepts must name the trusted key.
#include <sodium.h>

#include <cstdint>
#include <string>

#include "tools/mulin/signed_checkpoint.h"

namespace {

const mulin::cli::SigningKey& TrustedKey() {
  static const mulin::cli::SigningKey* key = [] {
    if (sodium_init() < 0) __builtin_trap();
    auto* made = new mulin::cli::SigningKey();
    for (size_t i = 0; i < made->seed.size(); ++i) made->seed[i] = static_cast<uint8_t>(i);
    mulin::Result<mulin::cli::SigningKey> parsed =
        mulin::cli::ParseSecretKey(mulin::cli::FormatSecretKey(*made));
    if (!parsed.ok()) __builtin_trap();
    *made = *parsed;
    return made;
  }();
  return *key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const mulin::cli::SigningKey& key = TrustedKey();
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 1) {
    // Sign the bytes as they are, as a signer with a broken formatter would.
    std::array<uint8_t, crypto_sign_SECRETKEYBYTES> secret;
    mulin::cli::PublicKey public_key;
    crypto_sign_seed_keypair(public_key.data(), secret.data(), key.seed.data());
    std::array<uint8_t, crypto_sign_BYTES> signature;
    crypto_sign_detached(signature.data(), nullptr, reinterpret_cast<const uint8_t*>(text.data()),
                         text.size(), secret.data());
    char hex[2 * crypto_sign_BYTES + 1];
    sodium_bin2hex(hex, sizeof(hex), signature.data(), signature.size());
    text += "signature: " + std::string(hex) + "\n";
  }
  mulin::Result<mulin::cli::SignedCheckpoint> checked =
      mulin::cli::CheckSignedCheckpoint(text, key.public_key);
  // What verifies reads back as a checkpoint of the trusted key.
  if (checked.ok() && checked->signer != key.public_key) __builtin_trap();
  return 0;
}
