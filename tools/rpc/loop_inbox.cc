#include "tools/rpc/loop_inbox.h"

#include <utility>

namespace mulin::rpc {

namespace {

// KJ fulfils a cross-thread promise with atomics inside libkj-async, which is not built with
// ThreadSanitizer. The wake-up carries no value (the work travels under mu_, which TSan sees), so
// KJ's own bookkeeping in fulfilling and releasing the fulfiller is left out of the analysis.
#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_ignore_thread_begin();
extern "C" void __tsan_ignore_thread_end();
void Wake(kj::Own<kj::CrossThreadPromiseFulfiller<void>> wake) {
  __tsan_ignore_thread_begin();
  wake->fulfill();
  wake = nullptr;
  __tsan_ignore_thread_end();
}
#else
void Wake(kj::Own<kj::CrossThreadPromiseFulfiller<void>> wake) { wake->fulfill(); }
#endif

}  // namespace

LoopInbox::LoopInbox()
    : pump_(Pump().eagerlyEvaluate([](kj::Exception&& e) { kj::throwFatalException(kj::mv(e)); })) {
}

LoopInbox::~LoopInbox() {
  pump_ = nullptr;
  RunAll();
}

void LoopInbox::Post(std::function<void()> work) {
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    items_.push_back(std::move(work));
    wake = kj::mv(wake_);
  }
  if (wake.get() != nullptr) Wake(kj::mv(wake));
}

void LoopInbox::RunAll() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(items_);
  }
  for (auto& work : batch) work();
}

kj::Promise<void> LoopInbox::Pump() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (items_.empty()) {
      auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
      wake_ = kj::mv(paf.fulfiller);
      return paf.promise.then([this] { return Pump(); });
    }
  }
  RunAll();
  // Lets the loop turn (the answers just fulfilled go out) before the next batch.
  return kj::evalLater([this] { return Pump(); });
}

}  // namespace mulin::rpc
