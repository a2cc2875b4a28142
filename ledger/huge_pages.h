// HugePageScope: while one is alive, the thread that made it allocates from a jemalloc arena whose
// memory is advised for transparent huge pages (madvise MADV_HUGEPAGE).
//
// Used where a thread fills fresh memory in bulk: a fold into memory (projections/engine.cc), and
// the writer's start-up, which reads a snapshot and builds its state, and its snapshots
// (ledger/writer.cc).
//
// A fold into memory writes its rows and page entries on fresh memory, about 250 bytes an event.
// With 4 KiB pages a fresh process takes a page fault every 16 events or so, and on a guest whose
// page faults trap to the host a fresh fold of 1M events took 2.0-2.1 s against 1.6 s on huge
// pages (bench/RESULTS.md §4), which take a fault every 8,000 events or so. Only for a thread
// that fills memory in bulk: a server keeps 4 KiB pages for its steady state, where the writer's
// tail latency was higher with huge pages everywhere (the same section).
//
// Without jemalloc (the sanitizer builds), or where the arena cannot be made, a scope changes
// nothing and active() is false. The kernel may still refuse huge pages (transparent_hugepage
// set to never); the advice then changes nothing either.
// Thread-safety: a scope belongs to the thread that made it; scopes nest.
#ifndef MULIN_LEDGER_HUGE_PAGES_H_
#define MULIN_LEDGER_HUGE_PAGES_H_

namespace mulin::ledger {

class HugePageScope {
 public:
  HugePageScope();
  ~HugePageScope();
  HugePageScope(const HugePageScope&) = delete;
  HugePageScope& operator=(const HugePageScope&) = delete;

  // True when this thread's allocations come from the huge-page arena until the scope ends.
  bool active() const { return active_; }

 private:
  bool active_ = false;
  unsigned previous_arena_ = 0;
};

}  // namespace mulin::ledger

#endif  // MULIN_LEDGER_HUGE_PAGES_H_
