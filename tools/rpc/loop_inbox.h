// LoopInbox: work that other threads hand to one KJ event loop, run there in batches.
//
// A cross-thread promise per answer costs the thread that fulfils it a write(2) to the loop's
// eventfd, and the loop one wake-up and one event each. The writer completes a whole group of
// commands at once, so with an inbox the first answer of a group wakes the loop and the others
// join the same batch: one write(2) and one wake-up per group instead of one per command.
#ifndef MULIN_TOOLS_RPC_LOOP_INBOX_H_
#define MULIN_TOOLS_RPC_LOOP_INBOX_H_

#include <kj/async.h>

#include <functional>
#include <mutex>
#include <vector>

namespace mulin::rpc {

class LoopInbox {
 public:
  // On the loop's thread; that loop runs what is posted.
  LoopInbox();
  // On the loop's thread: runs what is still in the inbox. Nothing may post from then on.
  ~LoopInbox();
  LoopInbox(const LoopInbox&) = delete;
  LoopInbox& operator=(const LoopInbox&) = delete;

  // From any thread, the loop's own included: `work` runs on the loop's thread, after the work
  // posted before it.
  void Post(std::function<void()> work);

 private:
  // Runs each batch as it arrives; waits on a cross-thread promise while the inbox is empty.
  kj::Promise<void> Pump();
  void RunAll();

  std::mutex mu_;
  std::vector<std::function<void()>> items_;             // guarded by mu_
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> wake_;  // guarded by mu_; set while the loop waits
  kj::Promise<void> pump_;
};

}  // namespace mulin::rpc

#endif  // MULIN_TOOLS_RPC_LOOP_INBOX_H_
