// BatchedWrites: the benchmark clients' connection, whose writes made before the event loop runs
// out of work leave in one write(2) (kj::evalLast). Cap'n Proto 0.9.2 writes each message on its
// own, from a continuation of the write before, so a terminal redeeming back to back sent two
// segments per call: the Finish of the last answer and the next call. The server then took two
// TCP receives and could wake twice; clients of later Cap'n Proto versions batch these. Reads go
// through rpc::BufferedStream.
//
// A write is copied and reported done at once; a failed send fails the writes after it
// (tests/tools/rpc_transport_test.cc).
#ifndef MULIN_BENCH_BATCHED_WRITES_H_
#define MULIN_BENCH_BATCHED_WRITES_H_

#include <kj/async-io.h>

#include <vector>

#include "tools/rpc/buffered_stream.h"

namespace mulin::bench {

class BatchedWrites final : public kj::AsyncIoStream {
 public:
  explicit BatchedWrites(kj::Own<kj::AsyncIoStream> inner)
      : inner_(kj::mv(inner)), reads_(kj::heap<rpc::BufferedStream>(kj::attachRef(*inner_))) {}

  kj::Promise<size_t> tryRead(void* buffer, size_t minBytes, size_t maxBytes) override {
    return reads_->tryRead(buffer, minBytes, maxBytes);
  }
  kj::Promise<void> write(const void* buffer, size_t size) override {
    const kj::ArrayPtr<const kj::byte> piece(static_cast<const kj::byte*>(buffer), size);
    return write(kj::arrayPtr(&piece, 1));
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    KJ_IF_MAYBE (e, failed_) {
      return kj::cp(*e);
    }
    for (auto piece : pieces) pending_.insert(pending_.end(), piece.begin(), piece.end());
    if (!flush_due_) {
      flush_due_ = true;
      sending_ = sending_.then([this] { return kj::evalLast([this] { return Flush(); }); })
                     .eagerlyEvaluate(nullptr);
    }
    return kj::READY_NOW;
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override { inner_->shutdownWrite(); }

 private:
  kj::Promise<void> Flush() {
    flush_due_ = false;
    in_flight_.swap(pending_);
    pending_.clear();
    // evalNow: KJ 0.9.2's socket write throws at once when the peer is gone (EPIPE), rather
    // than returning a broken promise; caught only as a promise, that failure would stop every
    // later flush without failing a write.
    return kj::evalNow([this] { return inner_->write(in_flight_.data(), in_flight_.size()); })
        .catch_([this](kj::Exception&& e) { failed_ = kj::mv(e); });
  }

  kj::Own<kj::AsyncIoStream> inner_;
  kj::Own<rpc::BufferedStream> reads_;
  std::vector<kj::byte> pending_;    // written since the last flush began
  std::vector<kj::byte> in_flight_;  // being sent
  bool flush_due_ = false;
  kj::Maybe<kj::Exception> failed_;
  kj::Promise<void> sending_ = kj::READY_NOW;
};

}  // namespace mulin::bench

#endif  // MULIN_BENCH_BATCHED_WRITES_H_
