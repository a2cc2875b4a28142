// Fuzz target: snapshot bytes as a failing disk or a forger may leave them, alone and merged.
// DecodeState and MergeStates must answer a state or Corruption, never crash, hang or read out of
// bounds. Where the base and the changes both decode and MergeStates accepts them, OverlayChanges
// must accept them too, and the merged bytes must decode to the base's state with the changes laid
// over it by OverlayChanges: the two ways start-up and the snapshot thread combine them agree.
//
// The first two input bytes, little-endian, say how many of the rest are the base (less than
// that: all of it); the rest are the changes.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

#include "ledger/domain/state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t split = std::min<size_t>(data[0] | (size_t{data[1]} << 8), size - 2);
  const std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  // Copied into strings, as the stored value is: aligned as a heap string's bytes are.
  const std::string base(rest.substr(0, split));
  const std::string changes(rest.substr(split));
  auto decoded_base = mulin::domain::DecodeState(base);
  auto decoded_changes = mulin::domain::DecodeState(changes);
  auto merged = mulin::domain::MergeStates(base, changes);
  if (!merged.ok()) {
    if (!merged.status().IsCorruption()) std::abort();
    return 0;
  }
  if (!decoded_base.ok() || !decoded_changes.ok()) return 0;
  auto decoded_merged = mulin::domain::DecodeState(*merged);
  if (!decoded_merged.ok()) std::abort();
  mulin::domain::State overlaid = std::move(decoded_base).value();
  if (!mulin::domain::OverlayChanges(&overlaid, changes).ok()) std::abort();
  if (!(*decoded_merged == overlaid)) std::abort();
  return 0;
}
