// The terminal service's transport (tools/rpc): the buffered connection every peer reads through,
// and the inbox the writer's threads hand answers back to the event loop with; and the benchmark
// clients' connection built on them (bench/batched_writes.h).
#include <gtest/gtest.h>
#include <kj/async-io.h>
#include <signal.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "bench/batched_writes.h"
#include "tools/rpc/buffered_stream.h"
#include "tools/rpc/loop_inbox.h"

namespace mulin::rpc {
namespace {

std::string Bytes(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7) & 0xff);
  return s;
}

// Counts the reads and writes that reach the socket under a BufferedStream or BatchedWrites.
class CountingStream final : public kj::AsyncIoStream {
 public:
  CountingStream(kj::Own<kj::AsyncIoStream> inner, int* reads, int* writes = nullptr)
      : inner_(kj::mv(inner)), reads_(reads), writes_(writes) {}
  kj::Promise<size_t> tryRead(void* buffer, size_t minBytes, size_t maxBytes) override {
    ++*reads_;
    return inner_->tryRead(buffer, minBytes, maxBytes);
  }
  kj::Promise<void> write(const void* buffer, size_t size) override {
    if (writes_ != nullptr) ++*writes_;
    return inner_->write(buffer, size);
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    if (writes_ != nullptr) ++*writes_;
    return inner_->write(pieces);
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override { inner_->shutdownWrite(); }

 private:
  kj::Own<kj::AsyncIoStream> inner_;
  int* reads_;
  int* writes_;
};

// An in-process socket pair: `writer` at one end, a BufferedStream of 64 bytes at the other. A
// plain struct, not a gtest fixture: KJ's destructors may throw, which a fixture's may not.
struct Pipe {
  kj::AsyncIoContext io = kj::setupAsyncIo();
  kj::TwoWayPipe pipe = io.provider->newTwoWayPipe();
  kj::Own<kj::AsyncIoStream> writer = kj::mv(pipe.ends[0]);
  int socket_reads = 0;
  BufferedStream reader{kj::heap<CountingStream>(kj::mv(pipe.ends[1]), &socket_reads), 64};

  void Send(const std::string& bytes) {
    writer->write(bytes.data(), bytes.size()).wait(io.waitScope);
  }
  std::string Read(size_t min, size_t max) {
    std::string out(max, '\0');
    const size_t n = reader.tryRead(&out[0], min, max).wait(io.waitScope);
    out.resize(n);
    return out;
  }
};

// Reads of every size in turn, smaller and larger than the buffer, see the sent bytes in order.
TEST(BufferedStreamTest, ReadsOfAnySizeSeeTheBytesInOrder) {
  Pipe p;
  const std::string sent = Bytes(5000, 1);
  p.Send(sent);
  std::string got;
  for (size_t size = 1; got.size() < sent.size(); size = size % 150 + 7) {
    const size_t want = std::min(size, sent.size() - got.size());
    got += p.Read(want, want);
  }
  EXPECT_EQ(got, sent);
}

// One read(2) fills the buffer with what the socket holds; later small reads come from it.
TEST(BufferedStreamTest, SmallReadsAfterOneFillComeFromTheBuffer) {
  Pipe p;
  p.Send("abcdefgh12345678");
  EXPECT_EQ(p.Read(8, 8), "abcdefgh");
  EXPECT_EQ(p.socket_reads, 1);
  EXPECT_EQ(p.Read(8, 8), "12345678");
  EXPECT_EQ(p.socket_reads, 1);
  p.writer->shutdownWrite();
  EXPECT_EQ(p.Read(1, 8), "");  // end of stream
  EXPECT_EQ(p.socket_reads, 2);
}

// A read asking for at least a buffer's worth bypasses the buffer but keeps what it holds first.
TEST(BufferedStreamTest, LargeReadsTakeTheBufferedBytesFirst) {
  Pipe p;
  const std::string sent = Bytes(1000, 2);
  p.Send(sent.substr(0, 10));
  EXPECT_EQ(p.Read(3, 3), sent.substr(0, 3));  // buffers all 10
  p.Send(sent.substr(10));
  EXPECT_EQ(p.Read(997, 997), sent.substr(3));
  EXPECT_EQ(p.socket_reads, 2);  // the second straight into the caller's 990 bytes
}

// At the end of the stream a read returns what there was, fewer than it asked for.
TEST(BufferedStreamTest, EndOfStreamReturnsTheRest) {
  Pipe p;
  p.Send("xyz");
  p.writer->shutdownWrite();
  EXPECT_EQ(p.Read(8, 8), "xyz");
  EXPECT_EQ(p.Read(8, 8), "");
}

// Writes pass through to the peer unchanged.
TEST(BufferedStreamTest, WritesPassThrough) {
  Pipe p;
  const std::string sent = Bytes(300, 3);
  p.reader.write(sent.data(), sent.size()).wait(p.io.waitScope);
  std::string got(sent.size(), '\0');
  EXPECT_EQ(p.writer->read(&got[0], got.size(), got.size()).wait(p.io.waitScope), sent.size());
  EXPECT_EQ(got, sent);
}

// The benchmark clients' connection (bench/batched_writes.h): what is written before the loop runs
// out of work (a Finish, and the next call from a later turn, as Cap'n Proto writes each message
// from a continuation) reaches the socket in one write, in order.
TEST(BatchedWritesTest, WritesBeforeTheLoopIdlesLeaveInOneSend) {
  auto io = kj::setupAsyncIo();
  auto pipe = io.provider->newTwoWayPipe();
  int reads = 0;
  int writes = 0;
  bench::BatchedWrites client(kj::heap<CountingStream>(kj::mv(pipe.ends[0]), &reads, &writes));
  auto first = client.write("finish;", 7);
  auto second = kj::evalLater([&] { return client.write("call", 4); });
  EXPECT_EQ(writes, 0);  // sent at the end of the turn
  std::string got(11, '\0');
  EXPECT_EQ(pipe.ends[1]->read(&got[0], got.size(), got.size()).wait(io.waitScope), got.size());
  EXPECT_EQ(got, "finish;call");
  EXPECT_EQ(writes, 1);
  first.wait(io.waitScope);
  second.wait(io.waitScope);
  // Reads come through the buffer: the peer's bytes arrive as they were sent.
  pipe.ends[1]->write("answer", 6).wait(io.waitScope);
  std::string answer(6, '\0');
  EXPECT_EQ(client.tryRead(&answer[0], 6, 6).wait(io.waitScope), 6u);
  EXPECT_EQ(answer, "answer");
}

// Once a send has failed (the peer is gone), every later write fails instead of vanishing.
TEST(BatchedWritesTest, AFailedSendFailsTheWritesAfterIt) {
  signal(SIGPIPE, SIG_IGN);  // a write to a closed socket must fail, not end the test
  auto io = kj::setupAsyncIo();
  auto pipe = io.provider->newTwoWayPipe();
  bench::BatchedWrites client(kj::mv(pipe.ends[0]));
  pipe.ends[1] = nullptr;
  bool failed = false;
  for (int i = 0; i < 100 && !failed; ++i) {
    failed = client.write("x", 1)
                 .then([] { return false; }, [](kj::Exception&&) { return true; })
                 .wait(io.waitScope);
    io.waitScope.poll();  // lets the flush of this turn run
  }
  EXPECT_TRUE(failed);
}

// Eight threads post 20,000 items each; the loop runs every one, each thread's in its order, and
// keeps serving its own promises meanwhile.
TEST(LoopInboxTest, RunsEveryPostFromManyThreadsInOrder) {
  auto io = kj::setupAsyncIo();
  constexpr int kThreads = 8;
  constexpr int kEach = 20000;
  std::vector<int> next(kThreads, 0);  // touched on the loop's thread only
  int run = 0;
  bool in_order = true;
  auto all_run = kj::newPromiseAndFulfiller<void>();
  {
    LoopInbox inbox;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          inbox.Post([&, t, i] {
            in_order = in_order && next[t] == i;
            next[t] = i + 1;
            if (++run == kThreads * kEach) all_run.fulfiller->fulfill();
          });
        }
      });
    }
    all_run.promise.wait(io.waitScope);
    for (auto& thread : threads) thread.join();
  }
  EXPECT_EQ(run, kThreads * kEach);
  EXPECT_TRUE(in_order);
}

// A post from the loop's own thread runs once the loop turns, not inside Post.
TEST(LoopInboxTest, PostFromTheLoopsThreadRunsLater) {
  auto io = kj::setupAsyncIo();
  LoopInbox inbox;
  bool ran = false;
  inbox.Post([&] { ran = true; });
  EXPECT_FALSE(ran);
  kj::evalLater([] {}).wait(io.waitScope);
  for (int turns = 0; !ran && turns < 10; ++turns) io.waitScope.poll();
  EXPECT_TRUE(ran);
}

// What is still in the inbox when it is destroyed runs then, on the loop's thread.
TEST(LoopInboxTest, DestroyingRunsWhatIsLeft) {
  auto io = kj::setupAsyncIo();
  std::atomic<int> ran{0};
  {
    LoopInbox inbox;
    std::thread poster([&] {
      for (int i = 0; i < 100; ++i) inbox.Post([&] { ++ran; });
    });
    poster.join();
  }
  EXPECT_EQ(ran.load(), 100);
}

}  // namespace
}  // namespace mulin::rpc
