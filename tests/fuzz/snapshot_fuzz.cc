// Fuzz target: snapshot bytes as a failing disk or a forger may leave them, alone and merged.
// DecodeState, MergeStates and DecodeStatePart with changes must answer a state or Corruption,
// never crash, hang or read out of bounds. The two ways changes are laid over a snapshot must
// agree: merged bytes (the snapshot thread's MergeStates) and the snapshot decoded with the changes
// laid over it (start-up's DecodeStatePart). Where the base and the changes each decode and merge,
// the decode with changes accepts them too, and wherever both accept them, the merged bytes decode
// to the same state. (A decode may accept what a merge refuses: a merge copies each entry whole,
// pointers the decoder does not read too.)
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

using mulin::Status;
using mulin::domain::StatePart;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t split = std::min<size_t>(data[0] | (size_t{data[1]} << 8), size - 2);
  const std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  // Copied into strings, as the stored value is: aligned as a heap string's bytes are.
  const std::string base(rest.substr(0, split));
  const std::string changes(rest.substr(split));
  const bool each_decodes =
      mulin::domain::DecodeState(base).ok() && mulin::domain::DecodeState(changes).ok();
  auto merged = mulin::domain::MergeStates(base, changes);
  if (!merged.ok() && !merged.status().IsCorruption()) std::abort();
  mulin::domain::State laid;
  Status status = mulin::domain::DecodeStatePart(base, changes, StatePart::kRegistry, &laid);
  if (status.ok()) {
    status = mulin::domain::DecodeStatePart(base, changes, StatePart::kActivity, &laid);
  }
  if (!status.ok()) {
    if (!status.IsCorruption() || (each_decodes && merged.ok())) std::abort();
    return 0;
  }
  if (!merged.ok()) return 0;
  auto decoded_merged = mulin::domain::DecodeState(*merged);
  if (!decoded_merged.ok() || !(*decoded_merged == laid)) std::abort();
  return 0;
}
