// Bytewise key order at the cost of integer comparisons. Keys here (request keys, receipt ids,
// account and member ids) are short and often share a prefix, so std::string's comparison is a
// memcmp call that walks the shared prefix every time; the first 24 bytes as three big-endian words
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

// An item and the first 24 bytes of its key as three words (KeyWord). Three, not two: ids such as
// `volunteer:W123456` are 17 bytes, and those of ten volunteers share their first 16; a tie sent
// the comparison to both keys' bytes, behind two pointers each (at 1M such ids, a sort of 0.17 s
// against 0.10 s; bench/HISTORY.md, stop 35).
template <typename T>
struct KeyedItem {
  uint64_t words[3];
  T item;
};

template <typename T>
void SetKeyWords(std::string_view key, KeyedItem<T>* keyed) {
  for (size_t w = 0; w < 3; ++w) keyed->words[w] = KeyWord(key.data(), key.size(), 8 * w);
}

template <typename T>
KeyedItem<T> KeyedOf(std::string_view key, T item) {
  KeyedItem<T> keyed{{}, std::move(item)};
  SetKeyWords(key, &keyed);
  return keyed;
}

// Sorts `keyed` by its items' keys in bytewise order: the words decide where they differ, and
// `tie_less(a.item, b.item)` where they are equal (the keys' bytes, or a comparator that also
// orders equal keys).
template <typename T, typename TieLess>
void SortKeyed(std::vector<KeyedItem<T>>* keyed, TieLess tie_less) {
  std::sort(keyed->begin(), keyed->end(),
            [&tie_less](const KeyedItem<T>& a, const KeyedItem<T>& b) {
              for (size_t w = 0; w < 3; ++w) {
                if (a.words[w] != b.words[w]) return a.words[w] < b.words[w];
              }
              return tie_less(a.item, b.item);
            });
}

// Sorts `items` by `key_of(item)` (a std::string_view) in bytewise order: as std::sort with
// `key_of(a) < key_of(b)`, in fewer instructions. Equal keys keep no particular order.
template <typename T, typename KeyOf>
void SortByKey(std::vector<T>* items, KeyOf key_of) {
  std::vector<KeyedItem<T>> keyed;
  keyed.reserve(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    FetchKeyAhead(*items, i, key_of);
    T& item = (*items)[i];
    const std::string_view key = key_of(item);
    keyed.push_back(KeyedOf(key, std::move(item)));
  }
  SortKeyed(&keyed, [&key_of](const T& a, const T& b) { return key_of(a) < key_of(b); });
  items->clear();
  for (KeyedItem<T>& k : keyed) items->push_back(std::move(k.item));
}

// Pointers to `map`'s entries in bytewise order of their keys (std::string), calling
// `visit(entry)` on each on the way. One walk of the map's nodes does what collecting pointers
// and then SortByKey would do in two: each node is a cache miss that the next one waits on, and
// the second pass missed again on every entry and every key held outside it. The bytes of a key
// held outside its entry are fetched as the walk reaches the entry, and read 8 entries later.
template <typename Map, typename Visit>
std::vector<const typename Map::value_type*> SortEntriesByKey(const Map& map, Visit visit) {
  using Entry = const typename Map::value_type*;
  constexpr size_t kLag = 8;
  std::vector<KeyedItem<Entry>> keyed;
  keyed.reserve(map.size());
  const auto set_words = [](KeyedItem<Entry>* k) { SetKeyWords(k->item->first, k); };
  for (const auto& entry : map) {
    visit(entry);
    __builtin_prefetch(entry.first.data());
    keyed.push_back(KeyedItem<Entry>{{}, &entry});  // its words once its key's bytes are here
    if (keyed.size() > kLag) set_words(&keyed[keyed.size() - 1 - kLag]);
  }
  const size_t n = keyed.size();
  for (size_t i = n > kLag ? n - kLag : 0; i < n; ++i) set_words(&keyed[i]);
  SortKeyed(&keyed, [](Entry a, Entry b) { return a->first < b->first; });
  std::vector<Entry> sorted;
  sorted.reserve(n);
  for (const KeyedItem<Entry>& k : keyed) sorted.push_back(k.item);
  return sorted;
}

}  // namespace mulin::ledger
