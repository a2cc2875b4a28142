// The snapshot format shared by EncodeState and EncodeChanges (state_encode.cc), DecodeState
// (state_decode.cc) and MergeStates (state_merge.cc): State as a schema::StateSnapshot message
// (ledger/schema/snapshot.capnp).
//
// Snapshot bytes := a flat Cap'n Proto message (segment table, then segments) whose root is a
// StateSnapshot; nothing may follow the message. Every list is in strictly ascending id order.
// EncodeState writes one segment; DecodeState reads any number.
#pragma once

#include <capnp/message.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "ledger/schema/snapshot.capnp.h"
#include "ledger/status.h"

namespace mulin::domain {

// Bump when a field changes meaning; an older snapshot is then ignored and the log replayed.
inline constexpr uint32_t kStateFormatVersion = 1;

// The bytes of the message `build(message)` makes: in one segment when it takes at most
// `words_bound` words, else in several (larger and slower to read, never wrong). `build` may be
// called twice.
std::string BuildSnapshotBytes(size_t words_bound,
                               const std::function<void(capnp::MessageBuilder*)>& build);

// `read(root)` of `bytes` read as a snapshot message of this format version, with every limit set:
// the bytes are untrusted. Bytes that are not such a message, or a read that throws, are
// kCorruption.
Status ReadSnapshotBytes(std::string_view bytes,
                         const std::function<Status(schema::StateSnapshot::Reader)>& read);

}  // namespace mulin::domain
