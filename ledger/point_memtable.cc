#include "ledger/point_memtable.h"

#include <rocksdb/slice.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <random>
#include <utility>
#include <vector>

#include "ledger/key_order.h"
#include "ledger/memtable_support.h"

namespace mulin::ledger {
namespace {

using rocksdb::KeyHandle;
using rocksdb::MemTableRep;
using rocksdb::Slice;

// An entry as RocksDB lays it out (a length-prefixed internal key, then the value) follows its node
// in the same allocation.
struct Node {
  std::atomic<Node*> next{nullptr};

  const char* Entry() const { return reinterpret_cast<const char*>(this + 1); }
};

using SortedIterator = internal::OrderedIterator<std::vector<const char*>>;

class PointKeyMemTable final : public MemTableRep {
 public:
  PointKeyMemTable(const KeyComparator& compare, rocksdb::Allocator* allocator, size_t buckets)
      : MemTableRep(allocator),
        compare_(compare),
        mask_(buckets - 1),
        seed_(std::random_device{}()),
        buckets_(new std::atomic<Node*>[buckets]),
        slots_(sizeof(SortedIterator)) {
    for (size_t i = 0; i < buckets; ++i) buckets_[i].store(nullptr, std::memory_order_relaxed);
  }

  KeyHandle Allocate(const size_t len, char** buf) override {
    char* raw = nullptr;
    MemTableRep::Allocate(len + sizeof(Node) + alignof(Node) - 1, &raw);
    // The allocator's plain Allocate does not align; the node's pointer must be.
    const auto address = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (address + alignof(Node) - 1) & ~uintptr_t{alignof(Node) - 1};
    Node* node = new (reinterpret_cast<void*>(aligned)) Node;
    *buf = reinterpret_cast<char*>(node + 1);
    return node;
  }

  // Puts the entry at the head of its bucket, touching no other entry: a bucket is newest first,
  // and so is each user key's run of versions in it, as RocksDB inserts in sequence order. One
  // inserting thread at a time: the factory refuses concurrent memtable writes.
  void Insert(KeyHandle handle) override {
    Node* node = static_cast<Node*>(handle);
    std::atomic<Node*>* head = Bucket(UserKey(node->Entry()));
    node->next.store(head->load(std::memory_order_relaxed), std::memory_order_relaxed);
    head->store(node, std::memory_order_release);  // readers see the node whole, or not at all
    count_.fetch_add(1, std::memory_order_relaxed);
  }

  bool Contains(const char* entry) const override {
    const Node* at = Bucket(UserKey(entry))->load(std::memory_order_acquire);
    for (; at != nullptr; at = at->next.load(std::memory_order_acquire)) {
      if (compare_(at->Entry(), entry) == 0) return true;
    }
    return false;
  }

  size_t ApproximateMemoryUsage() override { return (mask_ + 1) * sizeof(std::atomic<Node*>); }

  Iterator* GetIterator(rocksdb::Arena* arena) override {
    return SortedIterator::New(arena, &slots_, compare_, SortedEntries());
  }

  Iterator* GetDynamicPrefixIterator(rocksdb::Arena* arena) override {
    // With an arena the caller is RocksDB's own iterator, which wants a total order.
    if (arena != nullptr) return GetIterator(arena);
    // The caller is MemTableRep::Get, which in RocksDB 7.8 never deletes the iterator it asks for
    // (one leaked per read that reaches the memtable); RocksDB's other callers, for in-place
    // updates and merges, which these families do not use, delete theirs. Space kept per thread
    // serves both: each use ends before the thread asks again, and deleting it frees nothing.
    thread_local PointIteratorBytes space;
    return new (&space) PointIterator(*this);
  }

 private:
  // A point read: Seek finds the target user key's newest version at or after the target (not
  // newer than the read's sequence number), and Next its older versions, skipping the other keys
  // that share the bucket. It has no total order, so the other ways of positioning leave it
  // invalid. Only MemTableRep::Get makes one: without a prefix extractor RocksDB builds its own
  // iterators with GetIterator. User keys that compare equal are taken to be equal bytes, as they
  // are under RocksDB's bytewise comparators.
  class PointIterator final : public Iterator {
   public:
    explicit PointIterator(const PointKeyMemTable& rep) : rep_(rep) {}
    static void operator delete(void* /*space*/) {}  // it lives in space kept per thread

    bool Valid() const override { return at_ != nullptr; }
    const char* key() const override { return at_->Entry(); }
    void Prev() override { at_ = nullptr; }
    void SeekToFirst() override { at_ = nullptr; }
    void SeekToLast() override { at_ = nullptr; }
    void SeekForPrev(const Slice&, const char*) override { at_ = nullptr; }

    void Next() override {
      do {
        at_ = at_->next.load(std::memory_order_acquire);
      } while (at_ != nullptr && rep_.UserKey(at_->Entry()) != user_key_);
    }

    void Seek(const Slice& internal_key, const char* /*memtable_key*/) override {
      // An internal key is the user key, then 8 bytes of sequence number and type. The target
      // outlives this iterator's use: MemTableRep::Get reads through it before returning.
      user_key_ = Slice(internal_key.data(), internal_key.size() - 8);
      at_ = rep_.Bucket(user_key_)->load(std::memory_order_acquire);
      while (at_ != nullptr && (rep_.UserKey(at_->Entry()) != user_key_ ||
                                rep_.compare_(at_->Entry(), internal_key) < 0)) {
        at_ = at_->next.load(std::memory_order_acquire);
      }
    }

   private:
    const PointKeyMemTable& rep_;
    Slice user_key_;
    const Node* at_ = nullptr;
  };

  struct alignas(PointIterator) PointIteratorBytes {
    unsigned char bytes[sizeof(PointIterator)];
  };

  std::atomic<Node*>* Bucket(const Slice& user_key) const {
    return &buckets_[XXH3_64bits_withSeed(user_key.data(), user_key.size(), seed_) & mask_];
  }

  // Every entry present now, in the comparator's order. Sorted as KeyedItems (ledger/key_order.h):
  // the first words of each entry's user key order most pairs as RocksDB's bytewise comparator
  // does, so most of a sort's comparisons read no entry; where they are equal the comparator
  // decides. Request keys share long prefixes (an actor's id, then a request id that is often a
  // counter): with one word RocksDB's comparator took a third of the sort (perf, bench/RESULTS.md
  // §1). The key words assume the family compares user keys bytewise (the ledger's do); one pass
  // over neighbours checks the result with the comparator itself, and a family that compares
  // otherwise is sorted again by the comparator.
  std::vector<const char*> SortedEntries() const {
    std::vector<KeyedItem<const char*>> keyed;
    keyed.reserve(count_.load(std::memory_order_relaxed));
    // Each bucket's first node is a cache miss of its own: ask for the one a few buckets on
    // while this one is read.
    constexpr size_t kAhead = 8;
    for (size_t i = 0; i <= mask_; ++i) {
      if (i + kAhead <= mask_) {
        __builtin_prefetch(buckets_[i + kAhead].load(std::memory_order_relaxed));
      }
      for (const Node* at = buckets_[i].load(std::memory_order_acquire); at != nullptr;
           at = at->next.load(std::memory_order_acquire)) {
        const Slice user_key = UserKey(at->Entry());
        keyed.push_back(KeyedOf(std::string_view(user_key.data(), user_key.size()), at->Entry()));
      }
    }
    const auto before = [this](const char* a, const char* b) { return compare_(a, b) < 0; };
    SortKeyed(&keyed, before);
    std::vector<const char*> entries;
    entries.reserve(keyed.size());
    for (const KeyedItem<const char*>& k : keyed) entries.push_back(k.item);
    if (!std::is_sorted(entries.begin(), entries.end(), before)) {
      std::sort(entries.begin(), entries.end(), before);
    }
    return entries;
  }

  const KeyComparator& compare_;
  const size_t mask_;
  const uint64_t seed_;  // a fresh seed per memtable: request ids are chosen by clients
  const std::unique_ptr<std::atomic<Node*>[]> buckets_;
  std::atomic<size_t> count_{0};  // entries inserted, to size an iterator's list
  internal::IteratorSlots slots_;
};

size_t PowerOfTwoAtLeast(size_t n) {
  size_t power = 1;
  while (power < n) power <<= 1;
  return power;
}

}  // namespace

PointKeyMemTableFactory::PointKeyMemTableFactory(size_t bucket_count)
    : bucket_count_(PowerOfTwoAtLeast(std::max<size_t>(bucket_count, 1))) {}

rocksdb::MemTableRep* PointKeyMemTableFactory::CreateMemTableRep(
    const rocksdb::MemTableRep::KeyComparator& compare, rocksdb::Allocator* allocator,
    const rocksdb::SliceTransform* /*transform*/, rocksdb::Logger* /*logger*/) {
  return new PointKeyMemTable(compare, allocator, bucket_count_);
}

}  // namespace mulin::ledger
