#include "projections/fold_rows.h"

#include <cassert>
#include <cstring>
#include <new>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace mulin::projections {

namespace {
constexpr size_t kFirstSlots = 16;
}  // namespace

uint64_t FoldRows::Hash(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

size_t FoldRows::Probe(std::string_view key, uint64_t hash) const {
  const size_t mask = slots_.size() - 1;
  for (size_t at = Home(hash);; at = (at + 1) & mask) {
    const Slot& slot = slots_[at];
    if (slot.row == nullptr || (slot.hash == hash && slot.row->first == key)) return at;
  }
}

FoldRows::value_type* FoldRows::Find(std::string_view key) const {
  if (size_ == 0) return nullptr;
  return slots_[Probe(key, Hash(key))].row;
}

FoldRows::value_type* FoldRows::NewRow(std::string_view key, FoldRow row) {
  void* memory = ::operator new(sizeof(value_type) + key.size());
  char* bytes = static_cast<char*>(memory) + sizeof(value_type);
  if (!key.empty()) std::memcpy(bytes, key.data(), key.size());
  return new (memory) value_type(std::string_view(bytes, key.size()), std::move(row));
}

void FoldRows::DeleteRow(value_type* row) {
  row->~value_type();
  ::operator delete(row);
}

FoldRows::value_type* FoldRows::Emplace(std::string_view key, FoldRow row) {
  if (2 * (size_ + 1) > slots_.size()) Grow();  // before the probe: growing moves the slots
  const uint64_t hash = Hash(key);
  Slot& slot = slots_[Probe(key, hash)];
  if (slot.row == nullptr) {
    slot = Slot{hash, NewRow(key, std::move(row))};
    ++size_;
  }
  return slot.row;
}

FoldRows::value_type* FoldRows::Insert(std::string_view key, FoldRow row) {
  [[maybe_unused]] const size_t before = size_;
  value_type* added = Emplace(key, std::move(row));
  assert(size_ == before + 1 && "FoldRows::Insert of a key already in the map");
  return added;
}

FoldRows::value_type* FoldRows::FindOrInsert(std::string_view key) {
  return Emplace(key, FoldRow());
}

void FoldRows::Grow() {
  std::vector<Slot> old(slots_.empty() ? kFirstSlots : 2 * slots_.size());
  old.swap(slots_);
  const size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.row == nullptr) continue;
    size_t at = Home(slot.hash);
    while (slots_[at].row != nullptr) at = (at + 1) & mask;
    slots_[at] = slot;
  }
}

void FoldRows::EraseAt(size_t at) {
  DeleteRow(slots_[at].row);
  --size_;
  // Backward-shift deletion: move later slots of the same probe run into the hole, so that every
  // row stays reachable from its home slot without tombstones.
  const size_t mask = slots_.size() - 1;
  size_t hole = at;
  for (size_t next = (hole + 1) & mask; slots_[next].row != nullptr; next = (next + 1) & mask) {
    const size_t home = Home(slots_[next].hash);
    // The row at `next` may fill the hole unless its home lies cyclically in (hole, next].
    const bool home_after_hole =
        hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
    if (home_after_hole) continue;
    slots_[hole] = slots_[next];
    hole = next;
  }
  slots_[hole] = Slot();
}

void FoldRows::Erase(const value_type* row) {
  const size_t at = Probe(row->first, Hash(row->first));
  if (slots_[at].row == row) EraseAt(at);
}

void FoldRows::ErasePrefix(std::string_view prefix) {
  std::vector<const value_type*> doomed;
  ForEach([&](const value_type& row) {
    if (row.first.substr(0, prefix.size()) == prefix) doomed.push_back(&row);
  });
  for (const value_type* row : doomed) Erase(row);
}

void FoldRows::clear() {
  for (Slot& slot : slots_) {
    if (slot.row != nullptr) DeleteRow(slot.row);
  }
  std::vector<Slot>().swap(slots_);  // a forgotten cache gives its index back too
  size_ = 0;
}

}  // namespace mulin::projections
