// FoldRows: the rows a catch-up's fold reads and changes, by full key (see Rows in projection.h),
// and the rows a memory store keeps in the same form so that a fold can work on them in place.
//
// A fold looks up a few rows for every event, most of them once per batch, in a map of up to
// millions of rows: each look-up is bound by cache misses, not instructions. std::unordered_map
// needs three dependent ones (the bucket, the node before the sought one, the node's cached
// hash), and a fourth for the key's bytes when a std::string key outgrows its inline buffer (15
// bytes: a projection's prefix and a row's key mostly do). Here the index is one array of (hash,
// row) slots with linear probing, and each row holds its key's bytes in its own allocation, right
// after it: a look-up misses on its slot and then on the row it compares. Rows are allocated one by
// one and never move: the engine keeps pointers to the rows a batch changed, and a memory store's
// iterators point at them, until they are erased. Growing the index moves slots only.
// Thread-safety: none; one fold (or one store) at a time.
#ifndef MULIN_PROJECTIONS_FOLD_ROWS_H_
#define MULIN_PROJECTIONS_FOLD_ROWS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mulin::projections {

// A row as a catch-up's fold holds it: its value and the fold's bookkeeping.
struct FoldRow {
  std::string value;   // "" when the row does not exist (no row value is empty)
  bool dirty = false;  // changed in the batch being folded
  size_t counted = 0;  // bytes of value counted against the fold's cache limit (rows grow: pages)
};

class FoldRows {
 public:
  // A row and its key, whose bytes follow it in the same allocation (so it is never copied).
  struct value_type {
    value_type(std::string_view key, FoldRow row) : first(key), second(std::move(row)) {}
    value_type(const value_type&) = delete;
    value_type& operator=(const value_type&) = delete;
    const std::string_view first;  // the key
    FoldRow second;
  };

  FoldRows() = default;
  ~FoldRows() { clear(); }
  FoldRows(const FoldRows&) = delete;
  FoldRows& operator=(const FoldRows&) = delete;

  // The row with this key, or null.
  value_type* Find(std::string_view key) const;
  // Adds a row whose key is not in the map yet.
  value_type* Insert(std::string_view key, FoldRow row);
  // The row with this key, added empty if it was not there.
  value_type* FindOrInsert(std::string_view key);
  // Removes `row` (from this map); pointers to other rows stay valid.
  void Erase(const value_type* row);
  // Removes every row whose key starts with `prefix`.
  void ErasePrefix(std::string_view prefix);
  void clear();
  size_t size() const { return size_; }

  // Calls `visit(const value_type&)` for every row, in no particular order.
  template <typename Visit>
  void ForEach(Visit&& visit) const {
    for (const Slot& slot : slots_) {
      if (slot.row != nullptr) visit(static_cast<const value_type&>(*slot.row));
    }
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    value_type* row = nullptr;  // null: empty
  };
  // XXH3-64 of a key: on keys of a few dozen bytes a fraction of std::hash's cost.
  static uint64_t Hash(std::string_view key);
  size_t Home(uint64_t hash) const { return static_cast<size_t>(hash) & (slots_.size() - 1); }
  // The slot holding `key`, or the empty slot where it would go.
  size_t Probe(std::string_view key, uint64_t hash) const;
  // The row with this key, added as `row` if it was not there.
  value_type* Emplace(std::string_view key, FoldRow row);
  static value_type* NewRow(std::string_view key, FoldRow row);
  static void DeleteRow(value_type* row);
  void Grow();
  void EraseAt(size_t at);

  // A power of two in size, at most half full; empty before the first row.
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace mulin::projections

#endif  // MULIN_PROJECTIONS_FOLD_ROWS_H_
