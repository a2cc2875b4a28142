// What the ledger's memtables (point_memtable.h, append_memtable.h) share: an iterator over
// entries already in the family's internal-key order, and space for the iterators that RocksDB
// places in its read's arena.
#pragma once

#include <rocksdb/memtablerep.h>
#include <rocksdb/slice.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mulin::ledger::internal {

// Space for iterators that RocksDB places in its arena: it destroys them in place and frees the
// arena later, and the arena's allocator is not public. A slot given back goes to the list of the
// thread that destroyed its iterator, and only that thread takes it again. A destructor's last
// writes (the base class's) come after the slot is given back, and that thread has finished them
// before it asks for a slot again. Slots last as long as the memtable, which outlives its
// iterators; there are as many as iterators were alive at once on each thread.
class IteratorSlots {
 public:
  explicit IteratorSlots(size_t slot_bytes) : slot_words_(WordsFor(slot_bytes)) {}
  ~IteratorSlots() { all_bytes_.fetch_sub(slots_.size() * SlotBytes(), std::memory_order_relaxed); }
  IteratorSlots(const IteratorSlots&) = delete;
  IteratorSlots& operator=(const IteratorSlots&) = delete;

  void* Take() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<void*>& mine = free_[std::this_thread::get_id()];
    if (!mine.empty()) {
      void* slot = mine.back();
      mine.pop_back();
      return slot;
    }
    slots_.push_back(std::make_unique<std::max_align_t[]>(slot_words_));
    all_bytes_.fetch_add(SlotBytes(), std::memory_order_relaxed);
    return slots_.back().get();
  }

  void Give(void* slot) {
    std::lock_guard<std::mutex> lock(mu_);
    free_[std::this_thread::get_id()].push_back(slot);
  }

  // The bytes of the slots of every memtable in the process. Not a memtable's
  // ApproximateMemoryUsage: RocksDB requires that to stay put once the memtable is immutable, and
  // reads of an immutable memtable may still take slots.
  static size_t AllBytes() { return all_bytes_.load(std::memory_order_relaxed); }

 private:
  size_t SlotBytes() const { return slot_words_ * sizeof(std::max_align_t); }
  static size_t WordsFor(size_t bytes) {
    return (bytes + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t);
  }

  const size_t slot_words_;
  std::mutex mu_;
  std::vector<std::unique_ptr<std::max_align_t[]>> slots_;
  std::unordered_map<std::thread::id, std::vector<void*>> free_;
  static inline std::atomic<size_t> all_bytes_{0};
};

// The first position of `entries` (size() and operator[]) whose entry satisfies `holds`, which
// holds for every entry after it too; entries.size() when none does.
template <typename Entries, typename Predicate>
size_t FirstWhere(const Entries& entries, const Predicate& holds) {
  size_t low = 0;
  size_t high = entries.size();
  while (low < high) {
    const size_t middle = low + (high - low) / 2;
    if (holds(entries[middle])) {
      high = middle;
    } else {
      low = middle + 1;
    }
  }
  return low;
}

// An iterator over `Entries` (size() and operator[], the entries in the family's internal-key
// order). Made with `slots`, it lives in a slot taken from them and gives it back when destroyed.
template <typename Entries>
class OrderedIterator : public rocksdb::MemTableRep::Iterator {
 public:
  OrderedIterator(const rocksdb::MemTableRep::KeyComparator& compare, Entries entries,
                  IteratorSlots* slots = nullptr)
      : compare_(compare), entries_(std::move(entries)), at_(entries_.size()), slots_(slots) {}
  ~OrderedIterator() override {
    if (slots_ != nullptr) slots_->Give(this);
  }
  OrderedIterator(const OrderedIterator&) = delete;
  OrderedIterator& operator=(const OrderedIterator&) = delete;

  // A new iterator for MemTableRep::GetIterator: on the heap when RocksDB gives no arena (it then
  // deletes the iterator), else in a slot of `slots` (it then only destroys it).
  static OrderedIterator* New(rocksdb::Arena* arena, IteratorSlots* slots,
                              const rocksdb::MemTableRep::KeyComparator& compare, Entries entries) {
    if (arena == nullptr) return new OrderedIterator(compare, std::move(entries));
    static_assert(alignof(OrderedIterator) <= alignof(std::max_align_t));
    return new (slots->Take()) OrderedIterator(compare, std::move(entries), slots);
  }

  bool Valid() const override { return at_ < entries_.size(); }
  const char* key() const override { return entries_[at_]; }
  void Next() override { ++at_; }
  void Prev() override { at_ = at_ == 0 ? entries_.size() : at_ - 1; }
  void SeekToFirst() override { at_ = 0; }
  void SeekToLast() override { at_ = entries_.size() == 0 ? 0 : entries_.size() - 1; }

  void Seek(const rocksdb::Slice& internal_key, const char* /*memtable_key*/) override {
    at_ =
        FirstWhere(entries_, [&](const char* entry) { return compare_(entry, internal_key) >= 0; });
  }

  void SeekForPrev(const rocksdb::Slice& internal_key, const char* /*memtable_key*/) override {
    const size_t after =
        FirstWhere(entries_, [&](const char* entry) { return compare_(entry, internal_key) > 0; });
    at_ = after == 0 ? entries_.size() : after - 1;
  }

 private:
  const rocksdb::MemTableRep::KeyComparator& compare_;
  const Entries entries_;
  size_t at_;  // entries_.size() when not positioned
  IteratorSlots* const slots_;
};

}  // namespace mulin::ledger::internal
