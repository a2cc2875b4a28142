#include "ledger/append_memtable.h"

#include <rocksdb/slice.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include "ledger/memtable_support.h"

namespace mulin::ledger {
namespace {

using rocksdb::KeyHandle;
using rocksdb::MemTableRep;
using rocksdb::Slice;

// Entries in insertion order, in chunks that never move: chunk c holds kFirst << c entries, so
// 40 chunks hold more than any memtable. One thread appends; any thread reads the entries below
// size(), which the append publishes after it has written them.
class EntryArray {
 public:
  static constexpr int kFirstBits = 10;
  static constexpr size_t kFirst = size_t{1} << kFirstBits;
  static constexpr int kChunks = 40;

  EntryArray() {
    for (auto& chunk : chunks_) chunk.store(nullptr, std::memory_order_relaxed);
  }
  ~EntryArray() {
    for (auto& chunk : chunks_) delete[] chunk.load(std::memory_order_relaxed);
  }
  EntryArray(const EntryArray&) = delete;
  EntryArray& operator=(const EntryArray&) = delete;

  size_t size() const { return count_.load(std::memory_order_acquire); }

  // Entry i < size().
  const char* operator[](size_t i) const {
    const Place place = PlaceOf(i);
    return chunks_[place.chunk].load(std::memory_order_relaxed)[place.offset];
  }

  // The appending thread's own view of the last entry (nullptr when empty).
  const char* Last() const {
    const size_t count = count_.load(std::memory_order_relaxed);
    return count == 0 ? nullptr : (*this)[count - 1];
  }

  void Append(const char* entry) {
    const size_t count = count_.load(std::memory_order_relaxed);
    const Place place = PlaceOf(count);
    const char** chunk = chunks_[place.chunk].load(std::memory_order_relaxed);
    if (chunk == nullptr) {
      const size_t entries = kFirst << place.chunk;
      chunk = new const char*[entries];
      chunks_[place.chunk].store(chunk, std::memory_order_relaxed);
      bytes_.fetch_add(entries * sizeof(const char*), std::memory_order_relaxed);
    }
    chunk[place.offset] = entry;
    count_.store(count + 1, std::memory_order_release);  // readers see the entry, and its chunk
  }

  size_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

 private:
  struct Place {
    int chunk;
    size_t offset;
  };

  // Entry i is entry j = i + kFirst of a run whose chunk c starts at kFirst << c.
  static Place PlaceOf(size_t i) {
    const uint64_t j = i + kFirst;
    const int chunk = 63 - __builtin_clzll(j) - kFirstBits;
    return Place{chunk, static_cast<size_t>(j - (uint64_t{kFirst} << chunk))};
  }

  std::atomic<const char**> chunks_[kChunks];
  std::atomic<size_t> count_{0};
  std::atomic<size_t> bytes_{0};
};

// The first `count` entries of the array, which are in order.
struct ArrayView {
  const EntryArray* array;
  size_t count;
  size_t size() const { return count; }
  const char* operator[](size_t i) const { return (*array)[i]; }
};

using ArrayIterator = internal::OrderedIterator<ArrayView>;
using CopyIterator = internal::OrderedIterator<std::vector<const char*>>;

// A point read over entries that are not in order: Seek finds the least entry at or after the
// target, Next the least after the current one, both by a scan of every entry. Only
// MemTableRep::Get makes one, and it reads the target user key's versions from the first until
// its callback stops; nothing else positions it.
class ScanIterator final : public MemTableRep::Iterator {
 public:
  ScanIterator(const MemTableRep::KeyComparator& compare, ArrayView entries)
      : compare_(compare), entries_(entries) {}
  static void operator delete(void* /*space*/) {}  // it lives in space kept per thread

  bool Valid() const override { return at_ != nullptr; }
  const char* key() const override { return at_; }
  void Prev() override { at_ = nullptr; }
  void SeekToFirst() override { at_ = nullptr; }
  void SeekToLast() override { at_ = nullptr; }
  void SeekForPrev(const Slice&, const char*) override { at_ = nullptr; }

  void Seek(const Slice& internal_key, const char* /*memtable_key*/) override {
    at_ = LeastWhere([&](const char* entry) { return compare_(entry, internal_key) >= 0; });
  }
  void Next() override {
    const char* current = at_;
    at_ = LeastWhere([&](const char* entry) { return compare_(entry, current) > 0; });
  }

 private:
  template <typename Predicate>
  const char* LeastWhere(const Predicate& holds) const {
    const char* least = nullptr;
    for (size_t i = 0; i < entries_.size(); ++i) {
      const char* entry = entries_[i];
      if (holds(entry) && (least == nullptr || compare_(entry, least) < 0)) least = entry;
    }
    return least;
  }

  const MemTableRep::KeyComparator& compare_;
  const ArrayView entries_;
  const char* at_ = nullptr;
};

class AppendMemTable final : public MemTableRep {
 public:
  AppendMemTable(const KeyComparator& compare, rocksdb::Allocator* allocator)
      : MemTableRep(allocator),
        compare_(compare),
        slots_(std::max(sizeof(ArrayIterator), sizeof(CopyIterator))) {}

  // One inserting thread at a time: the factory refuses concurrent memtable writes.
  void Insert(KeyHandle handle) override {
    const char* entry = static_cast<const char*>(handle);
    const char* last = entries_.Last();
    // Before the append publishes the entry: a reader that sees it sees this too.
    if (last != nullptr && compare_(last, entry) >= 0) {
      in_order_.store(false, std::memory_order_relaxed);
    }
    entries_.Append(entry);
  }

  bool Contains(const char* entry) const override {
    const ArrayView view = View();
    if (in_order_.load(std::memory_order_relaxed)) {
      const size_t at =
          internal::FirstWhere(view, [&](const char* at) { return compare_(at, entry) >= 0; });
      return at < view.size() && compare_(view[at], entry) == 0;
    }
    for (size_t i = 0; i < view.size(); ++i) {
      if (compare_(view[i], entry) == 0) return true;
    }
    return false;
  }

  size_t ApproximateMemoryUsage() override { return entries_.bytes(); }

  Iterator* GetIterator(rocksdb::Arena* arena) override {
    const ArrayView view = View();
    const bool in_order = in_order_.load(std::memory_order_relaxed);
    if (in_order) return ArrayIterator::New(arena, &slots_, compare_, view);
    return CopyIterator::New(arena, &slots_, compare_, SortedCopy(view));
  }

  Iterator* GetDynamicPrefixIterator(rocksdb::Arena* arena) override {
    // With an arena the caller is RocksDB's own iterator, which wants a total order.
    if (arena != nullptr) return GetIterator(arena);
    // The caller is MemTableRep::Get, which in RocksDB 7.8 never deletes the iterator it asks for
    // (one leaked per read that reaches the memtable); its callers for in-place updates and
    // merges, which this family does not use, delete theirs. Either iterator here holds nothing
    // to free, so space kept per thread serves them all: each use ends before the thread asks
    // again, and deleting one frees nothing.
    const ArrayView view = View();
    thread_local PointReadBytes space;
    if (in_order_.load(std::memory_order_relaxed)) {
      return new (&space) PointRead(compare_, view);
    }
    return new (&space) ScanIterator(compare_, view);
  }

 private:
  // An ArrayIterator for MemTableRep::Get, in space kept per thread.
  class PointRead final : public ArrayIterator {
   public:
    using ArrayIterator::ArrayIterator;
    static void operator delete(void* /*space*/) {}
  };
  struct alignas(ArrayIterator) alignas(ScanIterator) PointReadBytes {
    unsigned char bytes[std::max(sizeof(PointRead), sizeof(ScanIterator))];
  };

  // The entries published now. Read the order flag after this: an entry out of order that the
  // view holds was flagged before it was published.
  ArrayView View() const { return ArrayView{&entries_, entries_.size()}; }

  std::vector<const char*> SortedCopy(const ArrayView& view) const {
    std::vector<const char*> copy;
    copy.reserve(view.size());
    for (size_t i = 0; i < view.size(); ++i) copy.push_back(view[i]);
    std::sort(copy.begin(), copy.end(),
              [this](const char* a, const char* b) { return compare_(a, b) < 0; });
    return copy;
  }

  const KeyComparator& compare_;
  EntryArray entries_;
  std::atomic<bool> in_order_{true};
  internal::IteratorSlots slots_;
};

}  // namespace

rocksdb::MemTableRep* AppendMemTableFactory::CreateMemTableRep(
    const rocksdb::MemTableRep::KeyComparator& compare, rocksdb::Allocator* allocator,
    const rocksdb::SliceTransform* /*transform*/, rocksdb::Logger* /*logger*/) {
  return new AppendMemTable(compare, allocator);
}

}  // namespace mulin::ledger
