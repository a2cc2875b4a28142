// Fuzz target: snapshot bytes as a failing disk or a forger may leave them, alone and merged.
// DecodeState and MergeStates must answer a state or Corruption, never crash, hang or read out of
// bounds. Where the base and the changes both decode and MergeStates accepts them, the merged
// bytes must decode to the base's state with the changes' entries laid over it: every entry of
// the changes in place of the base's, the redemptions, sales, seq and clock of the changes.
//
// The first two input bytes, little-endian, say how many of the rest are the base (less than
// that: all of it); the rest are the changes.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "ledger/domain/state.h"

namespace {

using mulin::domain::State;

template <typename T>
void LayOver(const std::unordered_map<std::string, T>& changes,
             std::unordered_map<std::string, T>* base) {
  for (const auto& [id, value] : changes) (*base)[id] = value;
}

State Overlay(State base, const State& changes) {
  LayOver(changes.communities, &base.communities);
  LayOver(changes.members, &base.members);
  LayOver(changes.merchants, &base.merchants);
  LayOver(changes.projects, &base.projects);
  LayOver(changes.terminals, &base.terminals);
  LayOver(changes.credentials, &base.credentials);
  LayOver(changes.orders, &base.orders);
  LayOver(changes.payouts, &base.payouts);
  LayOver(changes.balances, &base.balances);
  base.redemptions = changes.redemptions;
  base.sales = changes.sales;
  base.last_seq = changes.last_seq;
  base.last_recorded_at_us = changes.last_recorded_at_us;
  return base;
}

}  // namespace

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
  if (!(*decoded_merged == Overlay(std::move(decoded_base).value(), *decoded_changes))) {
    std::abort();
  }
  return 0;
}
