// MergeStates: a snapshot with an incremental one (EncodeChanges) laid over it, merged list by list
// as sorted runs, entries copied as they are: no State is built, so the merge takes the memory of
// the two snapshots and the one it makes, where decoding the base took a state's (hundreds of MB
// at 1M volunteers). OverlayChanges: the same, over a State.
#include <capnp/message.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/domain/state.h"
#include "ledger/domain/state_format.h"
#include "ledger/schema/snapshot.capnp.h"

namespace mulin::domain {
namespace {

using Snap = schema::StateSnapshot;

Status Bad(const std::string& what) { return Status::Corruption("state snapshot merge: " + what); }

std::string_view View(capnp::Text::Reader text) {
  return std::string_view(text.cStr(), text.size());
}

// Where each entry of a merged list comes from: the index of a changed entry with kFromChanges
// set, else of a base entry.
constexpr uint32_t kFromChanges = uint32_t{1} << 31;

// The ids of `list`, checked to be non-empty and strictly ascending.
template <typename List, typename KeyOf>
Status Keys(List list, const char* what, KeyOf key_of, std::vector<std::string_view>* keys) {
  keys->clear();
  keys->reserve(list.size());
  for (auto entry : list) {
    const std::string_view key = key_of(entry);
    if (key.empty() || (!keys->empty() && !(keys->back() < key))) {
      return Bad(std::string(what) + " ids are empty, unsorted or repeated");
    }
    keys->push_back(key);
  }
  return Status::Ok();
}

// Merges the sorted lists `base` and `changes` into the list `init(n)` makes: every id of either
// once, its entry from `changes` where both have it.
template <typename List, typename KeyOf, typename Init>
Status MergeList(List base, List changes, const char* what, KeyOf key_of, Init init) {
  if (base.size() >= kFromChanges || changes.size() >= kFromChanges) {
    return Bad(std::string(what) + " list too long");
  }
  std::vector<std::string_view> base_keys;
  std::vector<std::string_view> changed_keys;
  MULIN_RETURN_IF_ERROR(Keys(base, what, key_of, &base_keys));
  MULIN_RETURN_IF_ERROR(Keys(changes, what, key_of, &changed_keys));
  std::vector<uint32_t> plan;
  plan.reserve(base_keys.size() + changed_keys.size());
  size_t b = 0;
  size_t c = 0;
  while (b < base_keys.size() || c < changed_keys.size()) {
    if (c == changed_keys.size() || (b < base_keys.size() && base_keys[b] < changed_keys[c])) {
      plan.push_back(static_cast<uint32_t>(b++));
    } else {
      if (b < base_keys.size() && base_keys[b] == changed_keys[c]) ++b;
      plan.push_back(kFromChanges | static_cast<uint32_t>(c++));
    }
  }
  auto out = init(static_cast<unsigned>(plan.size()));
  for (unsigned i = 0; i < plan.size(); ++i) {
    const uint32_t from = plan[i];
    out.setWithCaveats(i, (from & kFromChanges) != 0 ? changes[from & ~kFromChanges] : base[from]);
  }
  return Status::Ok();
}

// In the order Encode (state_encode.cc) builds them, so that the bytes are those EncodeState
// gives the merged state.
Status Merge(Snap::Reader base, Snap::Reader changes, Snap::Builder out) {
  out.setFormatVersion(kStateFormatVersion);
  out.setLastSeq(changes.getLastSeq());
  out.setLastRecordedAtUs(changes.getLastRecordedAtUs());
  const auto id = [](auto entry) { return View(entry.getId()); };
  MULIN_RETURN_IF_ERROR(MergeList(base.getCommunities(), changes.getCommunities(), "community", id,
                                  [&](unsigned n) { return out.initCommunities(n); }));
  MULIN_RETURN_IF_ERROR(MergeList(base.getMembers(), changes.getMembers(), "member", id,
                                  [&](unsigned n) { return out.initMembers(n); }));
  MULIN_RETURN_IF_ERROR(MergeList(base.getMerchants(), changes.getMerchants(), "merchant", id,
                                  [&](unsigned n) { return out.initMerchants(n); }));
  MULIN_RETURN_IF_ERROR(MergeList(base.getProjects(), changes.getProjects(), "project", id,
                                  [&](unsigned n) { return out.initProjects(n); }));
  MULIN_RETURN_IF_ERROR(MergeList(base.getTerminals(), changes.getTerminals(), "terminal", id,
                                  [&](unsigned n) { return out.initTerminals(n); }));
  MULIN_RETURN_IF_ERROR(MergeList(base.getCredentials(), changes.getCredentials(), "credential", id,
                                  [&](unsigned n) { return out.initCredentials(n); }));
  MULIN_RETURN_IF_ERROR(MergeList(base.getOrders(), changes.getOrders(), "order", id,
                                  [&](unsigned n) { return out.initOrders(n); }));
  // Not tracked (ChangeLog): the changes hold them whole.
  out.setRedemptions(changes.getRedemptions());
  out.setSales(changes.getSales());
  MULIN_RETURN_IF_ERROR(MergeList(base.getPayouts(), changes.getPayouts(), "payout", id,
                                  [&](unsigned n) { return out.initPayouts(n); }));
  return MergeList(
      base.getBalances(), changes.getBalances(), "balance",
      [](Snap::Balance::Reader entry) { return View(entry.getAccountId()); },
      [&](unsigned n) { return out.initBalances(n); });
}

}  // namespace

Result<std::string> MergeStates(std::string_view base, std::string_view changes) {
  std::string merged;
  MULIN_RETURN_IF_ERROR(ReadSnapshotBytes(base, [&](Snap::Reader base_root) {
    return ReadSnapshotBytes(changes, [&](Snap::Reader changes_root) {
      if (changes_root.getLastSeq() < base_root.getLastSeq()) {
        return Bad("the changes end at seq " + std::to_string(changes_root.getLastSeq()) +
                   ", before the base's " + std::to_string(base_root.getLastSeq()));
      }
      // Each entry of the merged message is a copy of one of the two: it takes at most their
      // words together.
      const size_t bound = (base.size() + changes.size()) / sizeof(capnp::word);
      Status status;
      merged = BuildSnapshotBytes(bound, [&](capnp::MessageBuilder* message) {
        status = Merge(base_root, changes_root, message->initRoot<Snap>());
      });
      return status;
    });
  }));
  return merged;
}

Status OverlayChanges(State* state, std::string_view changes) {
  Result<State> decoded = DecodeState(changes);
  if (!decoded.ok()) return decoded.status();
  State& from = *decoded;
  if (from.last_seq < state->last_seq) {
    return Bad("the changes end at seq " + std::to_string(from.last_seq) + ", before the state's " +
               std::to_string(state->last_seq));
  }
  // The decoded entries' nodes move over whole: no entry is copied.
  ForEachTrackedMap(
      [](auto& into, auto& changed) {
        while (!changed.empty()) {
          auto node = changed.extract(changed.begin());
          auto it = into.find(node.key());
          if (it != into.end()) {
            it->second = std::move(node.mapped());
          } else {
            into.insert(std::move(node));
          }
        }
      },
      *state, from);
  state->redemptions = std::move(from.redemptions);
  state->sales = std::move(from.sales);
  state->last_seq = from.last_seq;
  state->last_recorded_at_us = from.last_recorded_at_us;
  return Status::Ok();
}

}  // namespace mulin::domain
