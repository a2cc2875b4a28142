// DecodeState: a snapshot message back into State (ledger/domain/state_format.h), with every
// limit explicit: the bytes are untrusted.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <utility>

#include "ledger/domain/state.h"
#include "ledger/domain/state_format.h"
#include "ledger/schema/snapshot.capnp.h"

namespace mulin::domain {
namespace {

using Snap = schema::StateSnapshot;

// Snapshot nesting is StateSnapshot → list → entry → list → struct; anything deeper is hostile.
constexpr int kSnapshotNestingMax = 16;
// Decoding reads every word a small, bounded number of times (ids are read once for the order
// check and once to store); the margin covers the segment table and empty messages.
constexpr uint64_t kTraversalWordsPerWord = 4;
constexpr uint64_t kTraversalWordsMargin = 1024;

std::string Str(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

Status Bad(const std::string& what) { return Status::Corruption("state snapshot: " + what); }

// The snapshot being decoded, and the changes laid over it when there are any (an empty message
// when there are none: its lists are empty).
struct Sources {
  Snap::Reader base;
  Snap::Reader changes;
  bool with_changes = false;
  // Where the lists that changes hold whole come from (ChangeLog: redemptions and sales), and the
  // sequence number and clock.
  Snap::Reader last() const { return with_changes ? changes : base; }
};

// Reads the entries of `base` in id order into `out`, those of `changes` laid over them
// (WalkMerged); `read(entry, &value)` decodes one entry.
template <typename T, typename List, typename Read>
Status DecodeLists(List base, List changes, const char* what, IdMap<T>* out, Read read) {
  out->reserve(base.size() + changes.size());
  return WalkMerged(base, changes, what,
                    [&](auto entry, bool /*from_changes*/, unsigned /*index*/) {
                      T value{};
                      MULIN_RETURN_IF_ERROR(read(entry, &value));
                      out->emplace(std::string(EntryId(entry)), std::move(value));
                      return Status::Ok();
                    });
}

// DecodeLists of the list `get` names, in the snapshot and in the changes.
template <typename T, typename Get, typename Read>
Status DecodeMap(const Sources& from, Get get, const char* what, IdMap<T>* out, Read read) {
  return DecodeLists((from.base.*get)(), (from.changes.*get)(), what, out, read);
}

Status DecodeCommunity(Snap::Community::Reader r, Community* c) {
  for (auto rule : r.getRules()) {
    Rules rules{rule.getEffectiveFromUs(), rule.getPointsPerHour(), rule.getMaxMinutesPerOrder(),
                rule.getRatingWindowS(), rule.getReversalWindowS()};
    if (!c->rules.empty() && rules.effective_from_us < c->rules.back().effective_from_us) {
      return Bad("community rules out of effective order");
    }
    c->rules.push_back(rules);
  }
  return Status::Ok();
}

Status DecodeMember(Snap::Member::Reader r, Member* m) {
  m->community_id = Str(r.getCommunityId());
  int previous = -1;
  for (schema::Role role : r.getRoles()) {
    const int value = static_cast<int>(role);
    if (value <= previous || value > static_cast<int>(schema::Role::STAFF)) {
      return Bad("member roles unknown, unsorted or repeated");
    }
    m->roles |= RoleBit(role);
    previous = value;
  }
  return Status::Ok();
}

Status DecodeCredential(Snap::Credential::Reader r, Credential* c) {
  if (static_cast<uint16_t>(r.getRole()) >
      static_cast<uint16_t>(schema::CredentialRole::OPERATOR)) {
    return Bad("unknown credential role");
  }
  c->community_id = Str(r.getCommunityId());
  c->role = r.getRole();
  c->subject_id = Str(r.getSubjectId());
  auto hash = r.getSecretHash();
  c->secret_hash.assign(reinterpret_cast<const char*>(hash.begin()), hash.size());
  c->revoked = r.getRevoked();
  return Status::Ok();
}

Status DecodeOrder(Snap::Order::Reader r, Order* o) {
  if (static_cast<uint16_t>(r.getStatus()) > static_cast<uint16_t>(kLastOrderStatus) ||
      r.getRating() > 5) {
    return Bad("order status or rating out of range");
  }
  o->community_id = Str(r.getCommunityId());
  o->status = static_cast<OrderStatus>(r.getStatus());
  o->resident_id = Str(r.getResidentId());
  o->social_worker_id = Str(r.getSocialWorkerId());
  o->delivered_at_us = r.getDeliveredAtUs();
  o->rating = r.getRating();
  for (auto share : r.getShares()) {
    o->shares.push_back(Share{Str(share.getVolunteerId()), share.getMinutes(), share.getPoints()});
  }
  return Status::Ok();
}

Status DecodeRegistry(const Sources& from, State* state) {
  state->last_seq = from.last().getLastSeq();
  state->last_recorded_at_us = from.last().getLastRecordedAtUs();
  MULIN_RETURN_IF_ERROR(DecodeMap(from, &Snap::Reader::getCommunities, "community",
                                  &state->communities, DecodeCommunity));
  MULIN_RETURN_IF_ERROR(
      DecodeMap(from, &Snap::Reader::getMembers, "member", &state->members, DecodeMember));
  MULIN_RETURN_IF_ERROR(DecodeMap(from, &Snap::Reader::getMerchants, "merchant", &state->merchants,
                                  [](Snap::Merchant::Reader r, Merchant* m) {
                                    m->community_id = Str(r.getCommunityId());
                                    m->rate_bps = r.getContributionRateBps();
                                    return Status::Ok();
                                  }));
  MULIN_RETURN_IF_ERROR(DecodeMap(from, &Snap::Reader::getProjects, "project", &state->projects,
                                  [](Snap::Project::Reader r, Project* p) {
                                    p->community_id = Str(r.getCommunityId());
                                    return Status::Ok();
                                  }));
  MULIN_RETURN_IF_ERROR(DecodeMap(from, &Snap::Reader::getTerminals, "terminal", &state->terminals,
                                  [](Snap::Terminal::Reader r, Terminal* t) {
                                    t->merchant_id = Str(r.getMerchantId());
                                    return Status::Ok();
                                  }));
  return DecodeMap(from, &Snap::Reader::getCredentials, "credential", &state->credentials,
                   DecodeCredential);
}

Status DecodeActivity(const Sources& from, State* state) {
  MULIN_RETURN_IF_ERROR(
      DecodeMap(from, &Snap::Reader::getOrders, "order", &state->orders, DecodeOrder));
  // Not tracked (ChangeLog): changes hold them whole, in place of the snapshot's.
  MULIN_RETURN_IF_ERROR(
      DecodeLists(from.last().getRedemptions(), {}, "redemption", &state->redemptions,
                  [](Snap::Redemption::Reader r, Redemption* x) {
                    *x = Redemption{r.getSeq(),    Str(r.getVolunteerId()), Str(r.getMerchantId()),
                                    r.getPoints(), r.getRecordedAtUs(),     r.getReversed()};
                    return Status::Ok();
                  }));
  MULIN_RETURN_IF_ERROR(DecodeLists(from.last().getSales(), {}, "sale", &state->sales,
                                    [](Snap::Sale::Reader r, Sale* x) {
                                      *x = Sale{r.getSeq(), Str(r.getMerchantId()), r.getGrossFen(),
                                                r.getContributionFen(), r.getReversed()};
                                      return Status::Ok();
                                    }));
  MULIN_RETURN_IF_ERROR(DecodeMap(
      from, &Snap::Reader::getPayouts, "payout", &state->payouts,
      [](Snap::Payout::Reader r, Payout* x) {
        if (static_cast<uint16_t>(r.getStatus()) > static_cast<uint16_t>(kLastPayoutStatus)) {
          return Bad("unknown payout status");
        }
        *x = Payout{Str(r.getCommunityId()), Str(r.getProjectId()), r.getAmountFen(),
                    Str(r.getRequesterId()), static_cast<PayoutStatus>(r.getStatus())};
        return Status::Ok();
      }));
  return DecodeMap(from, &Snap::Reader::getBalances, "balance", &state->balances,
                   [](Snap::Balance::Reader entry, Balances* balances) {
                     (*balances)[static_cast<size_t>(schema::Unit::POINTS)] = entry.getPoints();
                     (*balances)[static_cast<size_t>(schema::Unit::MINUTES)] = entry.getMinutes();
                     (*balances)[static_cast<size_t>(schema::Unit::FEN)] = entry.getFen();
                     return Status::Ok();
                   });
}

}  // namespace

Status ReadSnapshotBytes(std::string_view bytes,
                         const std::function<Status(schema::StateSnapshot::Reader)>& read) {
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0) {
    return Bad(std::to_string(bytes.size()) + " bytes is not a whole number of words");
  }
  // Cap'n Proto readers need 8-byte alignment, which stored bytes need not have. A stored
  // snapshot's state has it (ledger/snapshot.h: a heap string, past a 40-byte header) and is read
  // where it lies; at 1M volunteers a copy was 128 MB of a start-up's peak memory.
  const size_t word_count = bytes.size() / sizeof(capnp::word);
  kj::Array<capnp::word> copy;
  kj::ArrayPtr<const capnp::word> words;
  if (reinterpret_cast<uintptr_t>(bytes.data()) % alignof(capnp::word) == 0) {
    words = kj::arrayPtr(reinterpret_cast<const capnp::word*>(bytes.data()), word_count);
  } else {
    copy = kj::heapArray<capnp::word>(word_count);
    std::memcpy(copy.begin(), bytes.data(), bytes.size());
    words = copy;
  }
  capnp::ReaderOptions options;
  options.traversalLimitInWords = words.size() * kTraversalWordsPerWord + kTraversalWordsMargin;
  options.nestingLimit = kSnapshotNestingMax;
  Status status;
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
                 capnp::FlatArrayMessageReader reader(words, options);
                 if (reader.getEnd() != words.end()) {
                   status = Bad("bytes follow the message");
                   return;
                 }
                 Snap::Reader snap = reader.getRoot<Snap>();
                 if (snap.getFormatVersion() != kStateFormatVersion) {
                   status = Bad("format version " + std::to_string(snap.getFormatVersion()) +
                                ", this build reads " + std::to_string(kStateFormatVersion));
                   return;
                 }
                 status = read(snap);
               })) {
    return Bad("undecodable: " + std::string(exception->getDescription().cStr()));
  }
  return status;
}

Status CheckChangesFollow(Snap::Reader base, Snap::Reader changes) {
  if (changes.getLastSeq() >= base.getLastSeq()) return Status::Ok();
  return Bad("the changes end at seq " + std::to_string(changes.getLastSeq()) +
             ", before the snapshot's " + std::to_string(base.getLastSeq()));
}

Status DecodeStatePart(std::string_view bytes, std::string_view changes, StatePart part,
                       State* state) {
  const auto decode = [part, state](const Sources& from) {
    return part == StatePart::kRegistry ? DecodeRegistry(from, state) : DecodeActivity(from, state);
  };
  return ReadSnapshotBytes(bytes, [&](Snap::Reader base) {
    if (changes.empty()) return decode(Sources{base, Snap::Reader(), false});
    return ReadSnapshotBytes(changes, [&](Snap::Reader changed) {
      MULIN_RETURN_IF_ERROR(CheckChangesFollow(base, changed));
      return decode(Sources{base, changed, true});
    });
  });
}

Result<State> DecodeState(std::string_view bytes) {
  State state;
  MULIN_RETURN_IF_ERROR(DecodeStatePart(bytes, {}, StatePart::kRegistry, &state));
  MULIN_RETURN_IF_ERROR(DecodeStatePart(bytes, {}, StatePart::kActivity, &state));
  return state;
}

}  // namespace mulin::domain
