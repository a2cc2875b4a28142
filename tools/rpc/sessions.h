// Sessions: the RPC connections one KJ event loop serves. Each accepted connection reads through a
// BufferedStream and speaks Cap'n Proto's two-party protocol, with the bootstrap capability and
// the reader limits Accept was given; it lives until its peer hangs up or the Sessions are
// destroyed. Openings and closings go to the log at info level.
#ifndef MULIN_TOOLS_RPC_SESSIONS_H_
#define MULIN_TOOLS_RPC_SESSIONS_H_

#include <capnp/capability.h>
#include <capnp/message.h>
#include <kj/async-io.h>

#include <cstdint>

namespace mulin::rpc {

class Sessions {
 public:
  Sessions();
  ~Sessions();

  // Accepts connections on `listener` until the returned promise is dropped (or accept fails).
  kj::Promise<void> Accept(kj::ConnectionReceiver& listener, capnp::Capability::Client bootstrap,
                           capnp::ReaderOptions options);

 private:
  class Errors final : public kj::TaskSet::ErrorHandler {
   public:
    void taskFailed(kj::Exception&& exception) override;
  };

  Errors errors_;
  kj::TaskSet tasks_;
  uint64_t next_id_ = 1;
};

}  // namespace mulin::rpc

#endif  // MULIN_TOOLS_RPC_SESSIONS_H_
