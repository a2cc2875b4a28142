// MergeStates: a snapshot with an incremental one (EncodeChanges) laid over it, merged list by list
// as sorted runs, entries copied as they are: no State is built, so the merge takes the memory of
// the two snapshots and the one it makes, where decoding the base took a state's (hundreds of MB
// at 1M volunteers).
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

// Where each entry of a merged list comes from: the index of a changed entry with kFromChanges
// set, else of a base entry.
constexpr uint32_t kFromChanges = uint32_t{1} << 31;

// Merges the sorted lists `base` and `changes` into the list `init(n)` makes: every id of either
// once, its entry from `changes` where both have it (WalkMerged). The walk plans the list, which is
// then copied: a list is sized when it is made.
template <typename List, typename Init>
Status MergeList(List base, List changes, const char* what, Init init) {
  if (base.size() >= kFromChanges || changes.size() >= kFromChanges) {
    return Bad(std::string(what) + " list too long");
  }
  std::vector<uint32_t> plan;
  plan.reserve(base.size() + changes.size());
  MULIN_RETURN_IF_ERROR(
      WalkMerged(base, changes, what, [&plan](auto, bool from_changes, unsigned index) {
        plan.push_back(from_changes ? kFromChanges | index : index);
        return Status::Ok();
      }));
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
  MULIN_RETURN_IF_ERROR(MergeList(base.getCommunities(), changes.getCommunities(), "community",
                                  [&](unsigned n) { return out.initCommunities(n); }));
  MULIN_RETURN_IF_ERROR(MergeList(base.getMembers(), changes.getMembers(), "member",
                                  [&](unsigned n) { return out.initMembers(n); }));
  MULIN_RETURN_IF_ERROR(MergeList(base.getMerchants(), changes.getMerchants(), "merchant",
                                  [&](unsigned n) { return out.initMerchants(n); }));
  MULIN_RETURN_IF_ERROR(MergeList(base.getProjects(), changes.getProjects(), "project",
                                  [&](unsigned n) { return out.initProjects(n); }));
  MULIN_RETURN_IF_ERROR(MergeList(base.getTerminals(), changes.getTerminals(), "terminal",
                                  [&](unsigned n) { return out.initTerminals(n); }));
  MULIN_RETURN_IF_ERROR(MergeList(base.getCredentials(), changes.getCredentials(), "credential",
                                  [&](unsigned n) { return out.initCredentials(n); }));
  MULIN_RETURN_IF_ERROR(MergeList(base.getOrders(), changes.getOrders(), "order",
                                  [&](unsigned n) { return out.initOrders(n); }));
  // Not tracked (ChangeLog): the changes hold them whole.
  out.setRedemptions(changes.getRedemptions());
  out.setSales(changes.getSales());
  MULIN_RETURN_IF_ERROR(MergeList(base.getPayouts(), changes.getPayouts(), "payout",
                                  [&](unsigned n) { return out.initPayouts(n); }));
  return MergeList(base.getBalances(), changes.getBalances(), "balance",
                   [&](unsigned n) { return out.initBalances(n); });
}

}  // namespace

Result<std::string> MergeStates(std::string_view base, std::string_view changes) {
  std::string merged;
  MULIN_RETURN_IF_ERROR(ReadSnapshotBytes(base, [&](Snap::Reader base_root) {
    return ReadSnapshotBytes(changes, [&](Snap::Reader changes_root) {
      MULIN_RETURN_IF_ERROR(CheckChangesFollow(base_root, changes_root));
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

}  // namespace mulin::domain
