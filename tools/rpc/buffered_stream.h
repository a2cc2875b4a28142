// BufferedStream: a connection whose reads go through a buffer of its own. Cap'n Proto 0.9.2 reads
// each message in two reads (its first word, then the rest) and then tries the next message's
// first word, which on an idle socket fails with EAGAIN: five read(2) calls per redemption on the
// server (the call, and the client's Finish of the answer before). Reading whatever the socket
// holds into the buffer serves all of those from one or two read(2)s. Writes pass through.
#ifndef MULIN_TOOLS_RPC_BUFFERED_STREAM_H_
#define MULIN_TOOLS_RPC_BUFFERED_STREAM_H_

#include <kj/async-io.h>

namespace mulin::rpc {

class BufferedStream final : public kj::AsyncIoStream {
 public:
  static constexpr size_t kDefaultCapacity = 8192;

  explicit BufferedStream(kj::Own<kj::AsyncIoStream> inner, size_t capacity = kDefaultCapacity);

  // Copies what the buffer holds; when that is less than minBytes, reads more: into the buffer
  // (as much as the socket has, up to the capacity), or straight into `buffer` when the caller
  // asks for at least a buffer's worth.
  kj::Promise<size_t> tryRead(void* buffer, size_t minBytes, size_t maxBytes) override;

  kj::Promise<void> write(const void* buffer, size_t size) override;
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override;
  kj::Promise<void> whenWriteDisconnected() override;
  void shutdownWrite() override;
  void abortRead() override;
  void getsockopt(int level, int option, void* value, kj::uint* length) override;
  void setsockopt(int level, int option, const void* value, kj::uint length) override;
  void getsockname(struct sockaddr* addr, kj::uint* length) override;
  void getpeername(struct sockaddr* addr, kj::uint* length) override;
  kj::Maybe<int> getFd() const override;

 private:
  // Moves up to `max` buffered bytes to `out`; returns how many.
  size_t Take(kj::byte* out, size_t max);

  kj::Own<kj::AsyncIoStream> inner_;
  kj::Array<kj::byte> buffer_;
  size_t begin_ = 0;  // buffered bytes are buffer_[begin_, end_)
  size_t end_ = 0;
};

}  // namespace mulin::rpc

#endif  // MULIN_TOOLS_RPC_BUFFERED_STREAM_H_
