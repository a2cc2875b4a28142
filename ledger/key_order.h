// Bytewise key order at the cost of integer comparisons. Keys here (request keys, receipt ids,
// account and member ids) are short and often share a prefix, so std::string's comparison is a
// memcmp call that walks the shared prefix every time; the first 16 bytes as two big-endian words
// decide nearly every comparison of a sort instead.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace mulin::ledger {

// Eight bytes of a key from `offset`, big-endian, zeros past its end. Where two keys' words differ
// they order the keys as RocksDB's bytewise comparator does; where they are equal, it decides.
inline uint64_t KeyWord(const char* data, size_t size, size_t offset) {
  uint64_t word = 0;
  for (size_t i = offset; i < offset + 8; ++i) {
    word = (word << 8) | (i < size ? static_cast<unsigned char>(data[i]) : 0u);
  }
  return word;
}

// Fetches what `key_of(items[i])` will read some turns before `i` comes: items that point at map
// entries (a snapshot's ids) lie anywhere in memory, and the entry and the bytes of its key are
// each a cache miss. The entry is fetched twice as far ahead as the key, whose address it holds.
template <typename T, typename KeyOf>
void FetchKeyAhead(const std::vector<T>& items, size_t i, KeyOf key_of) {
  constexpr size_t kAhead = 8;
  if constexpr (std::is_pointer_v<T>) {
    if (i + 2 * kAhead < items.size()) __builtin_prefetch(items[i + 2 * kAhead]);
  }
  if (i + kAhead < items.size()) __builtin_prefetch(key_of(items[i + kAhead]).data());
}

// Sorts `items` by `key_of(item)` (a std::string_view) in bytewise order: as std::sort with
// `key_of(a) < key_of(b)`, in fewer instructions. Equal keys keep no particular order.
template <typename T, typename KeyOf>
void SortByKey(std::vector<T>* items, KeyOf key_of) {
  struct Keyed {
    uint64_t high;
    uint64_t low;
    T item;
  };
  std::vector<Keyed> keyed;
  const size_t n = items->size();
  keyed.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    FetchKeyAhead(*items, i, key_of);
    T& item = (*items)[i];
    const std::string_view key = key_of(item);
    keyed.push_back(Keyed{KeyWord(key.data(), key.size(), 0), KeyWord(key.data(), key.size(), 8),
                          std::move(item)});
  }
  std::sort(keyed.begin(), keyed.end(), [&key_of](const Keyed& a, const Keyed& b) {
    if (a.high != b.high) return a.high < b.high;
    if (a.low != b.low) return a.low < b.low;
    return key_of(a.item) < key_of(b.item);
  });
  items->clear();
  for (Keyed& k : keyed) items->push_back(std::move(k.item));
}

}  // namespace mulin::ledger
