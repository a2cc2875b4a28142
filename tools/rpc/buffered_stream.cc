#include "tools/rpc/buffered_stream.h"

#include <cstring>

namespace mulin::rpc {

BufferedStream::BufferedStream(kj::Own<kj::AsyncIoStream> inner, size_t capacity)
    : inner_(kj::mv(inner)), buffer_(kj::heapArray<kj::byte>(capacity)) {}

size_t BufferedStream::Take(kj::byte* out, size_t max) {
  const size_t n = kj::min(max, end_ - begin_);
  if (n > 0) std::memcpy(out, buffer_.begin() + begin_, n);
  begin_ += n;
  if (begin_ == end_) begin_ = end_ = 0;
  return n;
}

kj::Promise<size_t> BufferedStream::tryRead(void* buffer, size_t minBytes, size_t maxBytes) {
  auto* out = static_cast<kj::byte*>(buffer);
  const size_t copied = Take(out, maxBytes);
  if (copied >= minBytes) return copied;
  // The buffer is empty now (Take took all of it, or maxBytes was reached, which is >= minBytes).
  const size_t need = minBytes - copied;
  const size_t room = maxBytes - copied;
  if (room >= buffer_.size()) {
    return inner_->tryRead(out + copied, need, room).then([copied](size_t n) {
      return copied + n;
    });
  }
  return inner_->tryRead(buffer_.begin(), need, buffer_.size())
      .then([this, out, copied, room](size_t n) {
        end_ = n;
        return copied + Take(out + copied, room);
      });
}

kj::Promise<void> BufferedStream::write(const void* buffer, size_t size) {
  return inner_->write(buffer, size);
}
kj::Promise<void> BufferedStream::write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) {
  return inner_->write(pieces);
}
kj::Promise<void> BufferedStream::whenWriteDisconnected() {
  return inner_->whenWriteDisconnected();
}
void BufferedStream::shutdownWrite() { inner_->shutdownWrite(); }
void BufferedStream::abortRead() { inner_->abortRead(); }
void BufferedStream::getsockopt(int level, int option, void* value, kj::uint* length) {
  inner_->getsockopt(level, option, value, length);
}
void BufferedStream::setsockopt(int level, int option, const void* value, kj::uint length) {
  inner_->setsockopt(level, option, value, length);
}
void BufferedStream::getsockname(struct sockaddr* addr, kj::uint* length) {
  inner_->getsockname(addr, length);
}
void BufferedStream::getpeername(struct sockaddr* addr, kj::uint* length) {
  inner_->getpeername(addr, length);
}
kj::Maybe<int> BufferedStream::getFd() const { return inner_->getFd(); }

}  // namespace mulin::rpc
