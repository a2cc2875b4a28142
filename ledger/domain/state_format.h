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

// Ok when the changes end at or after the snapshot they are laid over; else kCorruption.
Status CheckChangesFollow(schema::StateSnapshot::Reader base,
                          schema::StateSnapshot::Reader changes);

// A text field's bytes, in the message.
inline std::string_view View(capnp::Text::Reader text) {
  return std::string_view(text.cStr(), text.size());
}

// The id an entry of a snapshot's list is kept under: its id, or a balance's account.
template <typename Entry>
std::string_view EntryId(Entry entry) {
  return View(entry.getId());
}
inline std::string_view EntryId(schema::StateSnapshot::Balance::Reader entry) {
  return View(entry.getAccountId());
}

// Walks the lists `base` and `changes`, each in strictly ascending order of EntryId, as one:
// `visit(entry, from_changes, index)` for every key of either once, in key order, with the entry of
// `changes` where both have the key (`index` is the entry's in the list it is from). This is how
// changes are laid over a snapshot (MergeStates, and DecodeStatePart with changes). A key empty or
// out of order in either list is kCorruption naming `what`; a `visit` that fails stops the walk
// with its status.
template <typename List, typename Visit>
Status WalkMerged(List base, List changes, const char* what, Visit visit) {
  const auto unsorted = [what](std::string_view key) {
    return Status::Corruption("state snapshot: " + std::string(what) +
                              " ids are empty, unsorted or repeated near '" + std::string(key) +
                              "'");
  };
  // Moves `*i` on in `list`, loading the next key over `*key` after checking that it follows it.
  const auto step = [](List list, unsigned* i, std::string_view* key) {
    if (++*i == list.size()) return true;
    const std::string_view next = EntryId(list[*i]);
    const bool in_order = *key < next;
    *key = next;
    return in_order;
  };
  unsigned b = 0;
  unsigned c = 0;
  std::string_view base_key = base.size() > 0 ? EntryId(base[0]) : std::string_view();
  std::string_view changed_key = changes.size() > 0 ? EntryId(changes[0]) : std::string_view();
  if ((base.size() > 0 && base_key.empty()) || (changes.size() > 0 && changed_key.empty())) {
    return unsorted("");
  }
  while (b < base.size() || c < changes.size()) {
    if (c == changes.size() || (b < base.size() && base_key < changed_key)) {
      MULIN_RETURN_IF_ERROR(visit(base[b], false, b));
      if (!step(base, &b, &base_key)) return unsorted(base_key);
      continue;
    }
    MULIN_RETURN_IF_ERROR(visit(changes[c], true, c));
    if (b < base.size() && base_key == changed_key && !step(base, &b, &base_key)) {
      return unsorted(base_key);
    }
    if (!step(changes, &c, &changed_key)) return unsorted(changed_key);
  }
  return Status::Ok();
}

}  // namespace mulin::domain
