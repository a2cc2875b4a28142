#include "ledger/huge_pages.h"

#include <sys/mman.h>

#include <cstddef>

#if __has_include(<jemalloc/jemalloc.h>)
#include <jemalloc/jemalloc.h>
// Weak: the programs link jemalloc and the sanitizer builds do not; without it mallctl is null.
#pragma weak mallctl
#define MULIN_HUGE_PAGES_WITH_JEMALLOC 1
#endif

namespace mulin::ledger {
namespace {

#ifdef MULIN_HUGE_PAGES_WITH_JEMALLOC

// jemalloc's own extent hooks, which the arena's hooks call through.
extent_hooks_t* default_hooks = nullptr;
extent_hooks_t huge_page_hooks;

// jemalloc's allocation of an extent (with its default of retaining address space, a run of
// megabytes at a time), then the advice. Advice that the kernel refuses changes nothing.
void* AllocateExtent(extent_hooks_t* /*hooks*/, void* new_addr, size_t size, size_t alignment,
                     bool* zero, bool* commit, unsigned arena_index) {
  void* memory =
      default_hooks->alloc(default_hooks, new_addr, size, alignment, zero, commit, arena_index);
  if (memory != nullptr) madvise(memory, size, MADV_HUGEPAGE);
  return memory;
}

// The huge-page arena's index, made on first use; 0 (jemalloc's first arena, never this one) when
// there is no jemalloc or it refused.
unsigned HugePageArena() {
  static const unsigned index = [] {
    if (mallctl == nullptr) return 0u;
    size_t size = sizeof(default_hooks);
    if (mallctl("arena.0.extent_hooks", &default_hooks, &size, nullptr, 0) != 0 ||
        default_hooks == nullptr) {
      return 0u;
    }
    huge_page_hooks = *default_hooks;
    huge_page_hooks.alloc = AllocateExtent;
    extent_hooks_t* hooks = &huge_page_hooks;
    unsigned created = 0;
    size = sizeof(created);
    if (mallctl("arenas.create", &created, &size, &hooks, sizeof(hooks)) != 0) return 0u;
    return created;
  }();
  return index;
}

#endif

}  // namespace

HugePageScope::HugePageScope() {
#ifdef MULIN_HUGE_PAGES_WITH_JEMALLOC
  unsigned arena = HugePageArena();
  if (arena == 0) return;
  size_t size = sizeof(previous_arena_);
  active_ = mallctl("thread.arena", &previous_arena_, &size, &arena, sizeof(arena)) == 0;
#endif
}

HugePageScope::~HugePageScope() {
#ifdef MULIN_HUGE_PAGES_WITH_JEMALLOC
  if (active_) mallctl("thread.arena", nullptr, nullptr, &previous_arena_, sizeof(previous_arena_));
#endif
}

}  // namespace mulin::ledger
