// `mulin keygen`, `mulin checkpoint --sign` and `mulin verify --expect-signed`: the command-line
// side of signed checkpoints (tools/mulin/signed_checkpoint.h has the formats).
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>

#include "tools/mulin/cli.h"
#include "tools/mulin/signed_checkpoint.h"

namespace mulin::cli {
namespace {

// Key files are a line of text; anything longer is not a key file.
constexpr size_t kKeyFileBytesMax = 256;

// Creates `path` with `mode`, refusing to replace an existing file: a key overwritten by mistake
// cannot be recovered, and every checkpoint it signed would become unverifiable.
Status WriteNewFile(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return Status::IoError("cannot create " + path + ": " + std::strerror(errno) +
                           (errno == EEXIST ? " (keys are never overwritten)" : ""));
  }
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return Status::IoError("cannot write " + path + ": " + std::strerror(errno));
    }
    written += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) return Status::IoError("cannot write " + path);
  return Status::Ok();
}

int RunKeygen(const std::string& secret_path, const std::string& public_path) {
  if (secret_path == public_path) {
    return Fail("keygen", Status::InvalidArgument("the secret and public key need two files"));
  }
  SigningKey key = GenerateSigningKey();
  std::string secret_text = FormatSecretKey(key);
  sodium_memzero(key.seed.data(), key.seed.size());
  // The public key first: a failure then leaves no orphaned secret behind.
  Status written = WriteNewFile(public_path, FormatPublicKey(key.public_key), 0644);
  if (!written.ok()) return Fail("keygen", written);
  written = WriteNewFile(secret_path, secret_text, 0600);
  sodium_memzero(secret_text.data(), secret_text.size());
  if (!written.ok()) {
    unlink(public_path.c_str());
    return Fail("keygen", written);
  }
  std::cout << "key pair written: secret key " << secret_path << " (keep it private), public key "
            << public_path << " (give it to auditors)\n";
  return kExitOk;
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int RunSignedCheckpoint(const Globals& globals, const std::string& key_path,
                        const std::string& output) {
  Result<std::string> key_text = ReadSmallFile(key_path, kKeyFileBytesMax);
  if (!key_text.ok()) return Fail("checkpoint", key_text.status());
  Result<SigningKey> key = ParseSecretKey(*key_text);
  sodium_memzero(key_text->data(), key_text->size());
  if (!key.ok())
    return Fail("checkpoint", Status::InvalidArgument(key_path + ": " + key.status().message()));
  Result<Ledger> ledger = OpenForRead(globals);
  if (!ledger.ok()) return Fail("checkpoint", ledger.status());
  SignedCheckpoint checkpoint;
  checkpoint.head = ledger->log->head();
  checkpoint.time_us = NowUs();
  const std::string text = SignCheckpoint(checkpoint, *key);
  sodium_memzero(key->seed.data(), key->seed.size());
  if (output.empty()) {
    std::cout << text;
    return kExitOk;
  }
  std::ofstream out(output, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Fail("checkpoint", Status::IoError("cannot write " + output));
  std::cout << "signed checkpoint of seq " << checkpoint.head.seq << " written to " << output
            << "\n";
  return kExitOk;
}

Result<ledger::Head> ReadSignedCheckpoint(const std::string& checkpoint_path,
                                          const std::string& public_key_path) {
  Result<std::string> key_text = ReadSmallFile(public_key_path, kKeyFileBytesMax);
  if (!key_text.ok()) return key_text.status();
  Result<PublicKey> key = ParsePublicKey(*key_text);
  if (!key.ok()) return Status::InvalidArgument(public_key_path + ": " + key.status().message());
  Result<std::string> text = ReadSmallFile(checkpoint_path, kSignedCheckpointBytesMax);
  if (!text.ok()) return text.status();
  Result<SignedCheckpoint> checkpoint = CheckSignedCheckpoint(*text, *key);
  if (!checkpoint.ok()) {
    const Status& s = checkpoint.status();
    const std::string message = checkpoint_path + ": " + s.message();
    return s.IsCorruption() ? Status::Corruption(message) : Status::InvalidArgument(message);
  }
  return checkpoint->head;
}

void AddKeygenCommand(CLI::App& app, int* exit_code) {
  auto secret_path = std::make_shared<std::string>();
  auto public_path = std::make_shared<std::string>();
  CLI::App* keygen = app.add_subcommand(
      "keygen",
      "Make an Ed25519 key pair for signed checkpoints: the secret key signs (`mulin checkpoint "
      "--sign`), the public key verifies (`mulin verify --expect-signed`). Never overwrites.");
  keygen->add_option("--secret-key", *secret_path, "File for the secret key (created, mode 0600)")
      ->required();
  keygen->add_option("--public-key", *public_path, "File for the public key (created)")->required();
  keygen->callback([exit_code, secret_path, public_path] {
    *exit_code = RunKeygen(*secret_path, *public_path);
  });
}

}  // namespace mulin::cli
