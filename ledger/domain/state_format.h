// The snapshot format shared by EncodeState (state_encode.cc) and DecodeState (state_decode.cc):
// State as a schema::StateSnapshot message (ledger/schema/snapshot.capnp).
//
// Snapshot bytes := a flat Cap'n Proto message (segment table, then segments) whose root is a
// StateSnapshot; nothing may follow the message. Every list is in strictly ascending id order.
// EncodeState writes one segment; DecodeState reads any number.
#pragma once

#include <cstdint>

namespace mulin::domain {

// Bump when a field changes meaning; an older snapshot is then ignored and the log replayed.
inline constexpr uint32_t kStateFormatVersion = 1;

}  // namespace mulin::domain
