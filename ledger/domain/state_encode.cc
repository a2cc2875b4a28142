// EncodeState: State as a snapshot message in one segment (ledger/domain/state_format.h).
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "ledger/domain/state.h"
#include "ledger/domain/state_format.h"
#include "ledger/key_order.h"
#include "ledger/schema/snapshot.capnp.h"

namespace mulin::domain {
namespace {

using Snap = schema::StateSnapshot;

// A map's entries in id order. SortByKey compares the ids' first 16 bytes as integers: at 1M
// volunteers, sorting the members and balances with std::string's comparison had taken a billion
// instructions more of an encoding's 4.4 billion (bench/RESULTS.md section 6).
template <typename T>
std::vector<const std::pair<const std::string, T>*> SortedEntries(
    const std::unordered_map<std::string, T>& map) {
  std::vector<const std::pair<const std::string, T>*> entries;
  entries.reserve(map.size());
  for (const auto& entry : map) entries.push_back(&entry);
  ledger::SortByKey(&entries, [](const auto* entry) { return std::string_view(entry->first); });
  return entries;
}

// Fetches entry i's successors ahead of their turn (ledger::FetchKeyAhead): in id order, a large
// map's entries and their ids' bytes are each a cache miss.
template <typename Entry>
void FetchAhead(const std::vector<const Entry*>& entries, size_t i) {
  ledger::FetchKeyAhead(entries, i,
                        [](const Entry* entry) { return std::string_view(entry->first); });
}

// Writes `map` in id order: `init(n)` makes the list, `fill(builder, value)` one entry.
template <typename T, typename Init, typename Fill>
void EncodeMap(const std::unordered_map<std::string, T>& map, Init init, Fill fill) {
  const auto entries = SortedEntries(map);
  auto list = init(static_cast<unsigned>(entries.size()));
  for (unsigned i = 0; i < entries.size(); ++i) {
    FetchAhead(entries, i);
    auto builder = list[i];
    builder.setId(entries[i]->first);
    fill(builder, entries[i]->second);
  }
}

void FillRules(const std::vector<Rules>& rules, capnp::List<schema::RulesChanged>::Builder list) {
  for (unsigned i = 0; i < rules.size(); ++i) {
    list[i].setEffectiveFromUs(rules[i].effective_from_us);
    list[i].setPointsPerHour(rules[i].points_per_hour);
    list[i].setMaxMinutesPerOrder(rules[i].max_minutes_per_order);
    list[i].setRatingWindowS(rules[i].rating_window_s);
    list[i].setReversalWindowS(rules[i].reversal_window_s);
  }
}

void EncodeRegistry(const State& state, Snap::Builder snap) {
  EncodeMap(
      state.communities, [&](unsigned n) { return snap.initCommunities(n); },
      [](Snap::Community::Builder b, const Community& c) {
        FillRules(c.rules, b.initRules(static_cast<unsigned>(c.rules.size())));
      });
  EncodeMap(
      state.members, [&](unsigned n) { return snap.initMembers(n); },
      [](Snap::Member::Builder b, const Member& m) {
        b.setCommunityId(m.community_id);
        std::vector<schema::Role> roles;
        for (uint16_t r = 0; r <= static_cast<uint16_t>(schema::Role::STAFF); ++r) {
          if (m.Has(static_cast<schema::Role>(r))) roles.push_back(static_cast<schema::Role>(r));
        }
        auto list = b.initRoles(static_cast<unsigned>(roles.size()));
        for (unsigned i = 0; i < roles.size(); ++i) list.set(i, roles[i]);
      });
  EncodeMap(
      state.merchants, [&](unsigned n) { return snap.initMerchants(n); },
      [](Snap::Merchant::Builder b, const Merchant& m) {
        b.setCommunityId(m.community_id);
        b.setContributionRateBps(m.rate_bps);
      });
  EncodeMap(
      state.projects, [&](unsigned n) { return snap.initProjects(n); },
      [](Snap::Project::Builder b, const Project& p) { b.setCommunityId(p.community_id); });
  EncodeMap(
      state.terminals, [&](unsigned n) { return snap.initTerminals(n); },
      [](Snap::Terminal::Builder b, const Terminal& t) { b.setMerchantId(t.merchant_id); });
  EncodeMap(
      state.credentials, [&](unsigned n) { return snap.initCredentials(n); },
      [](Snap::Credential::Builder b, const Credential& c) {
        b.setCommunityId(c.community_id);
        b.setRole(c.role);
        b.setSubjectId(c.subject_id);
        b.setSecretHash(capnp::Data::Reader(
            reinterpret_cast<const capnp::byte*>(c.secret_hash.data()), c.secret_hash.size()));
        b.setRevoked(c.revoked);
      });
}

void EncodeOrder(Snap::Order::Builder b, const Order& o) {
  b.setCommunityId(o.community_id);
  b.setStatus(static_cast<Snap::OrderStatus>(o.status));
  b.setResidentId(o.resident_id);
  b.setSocialWorkerId(o.social_worker_id);
  b.setDeliveredAtUs(o.delivered_at_us);
  b.setRating(o.rating);
  auto shares = b.initShares(static_cast<unsigned>(o.shares.size()));
  for (unsigned i = 0; i < o.shares.size(); ++i) {
    shares[i].setVolunteerId(o.shares[i].volunteer_id);
    shares[i].setMinutes(o.shares[i].minutes);
    shares[i].setPoints(o.shares[i].points);
  }
}

void EncodeActivity(const State& state, Snap::Builder snap) {
  EncodeMap(
      state.orders, [&](unsigned n) { return snap.initOrders(n); }, EncodeOrder);
  EncodeMap(
      state.redemptions, [&](unsigned n) { return snap.initRedemptions(n); },
      [](Snap::Redemption::Builder b, const Redemption& r) {
        b.setSeq(r.seq);
        b.setVolunteerId(r.volunteer_id);
        b.setMerchantId(r.merchant_id);
        b.setPoints(r.points);
        b.setRecordedAtUs(r.recorded_at_us);
        b.setReversed(r.reversed);
      });
  EncodeMap(
      state.sales, [&](unsigned n) { return snap.initSales(n); },
      [](Snap::Sale::Builder b, const Sale& s) {
        b.setSeq(s.seq);
        b.setMerchantId(s.merchant_id);
        b.setGrossFen(s.gross_fen);
        b.setContributionFen(s.contribution_fen);
        b.setReversed(s.reversed);
      });
  EncodeMap(
      state.payouts, [&](unsigned n) { return snap.initPayouts(n); },
      [](Snap::Payout::Builder b, const Payout& p) {
        b.setCommunityId(p.community_id);
        b.setProjectId(p.project_id);
        b.setAmountFen(p.amount_fen);
        b.setRequesterId(p.requester_id);
        b.setStatus(static_cast<Snap::PayoutStatus>(p.status));
      });
  const auto balances = SortedEntries(state.balances);
  auto list = snap.initBalances(static_cast<unsigned>(balances.size()));
  for (unsigned i = 0; i < balances.size(); ++i) {
    FetchAhead(balances, i);
    list[i].setAccountId(balances[i]->first);
    list[i].setPoints(balances[i]->second[static_cast<size_t>(schema::Unit::POINTS)]);
    list[i].setMinutes(balances[i]->second[static_cast<size_t>(schema::Unit::MINUTES)]);
    list[i].setFen(balances[i]->second[static_cast<size_t>(schema::Unit::FEN)]);
  }
}

// Words of a text field: its bytes and the NUL, rounded up.
size_t TextWords(const std::string& text) { return text.size() / sizeof(capnp::word) + 1; }

// Words of a list of `n` structs S: its tag and the structs.
template <typename S>
size_t ListWords(size_t n) {
  return 1 + n * capnp::sizeInWords<S>();
}

// Words of the entries of `map`, a list of S: each entry's struct and id, and `more(value)`.
template <typename S, typename T, typename More>
size_t MapWords(const std::unordered_map<std::string, T>& map, More more) {
  size_t words = ListWords<S>(map.size());
  for (const auto& [id, value] : map) words += TextWords(id) + more(value);
  return words;
}

// At least the words EncodeState's message takes, so that it is built in one segment. Built in
// segments that grow as it goes, a large state's lists each filled a segment of their own and had
// every text of their entries in the next, each behind a far pointer that the reader resolves
// under a lock (capnp::_::ReaderArena::tryGetSegment): at 1M volunteers a sixth of a start-up's
// instructions (bench/RESULTS.md section 6). Should the bound fall short, the message takes a
// second segment: larger and slower to read, never wrong.
size_t EncodedWordsBound(const State& state) {
  const auto nothing = [](const auto&) { return size_t{0}; };
  size_t words = 1 + capnp::sizeInWords<Snap>();  // the root pointer, the root
  words += MapWords<Snap::Community>(state.communities, [](const Community& c) {
    return ListWords<schema::RulesChanged>(c.rules.size());
  });
  // A member's roles are at most four UInt16s: one word.
  words += MapWords<Snap::Member>(state.members,
                                  [](const Member& m) { return TextWords(m.community_id) + 1; });
  words += MapWords<Snap::Merchant>(state.merchants,
                                    [](const Merchant& m) { return TextWords(m.community_id); });
  words += MapWords<Snap::Project>(state.projects,
                                   [](const Project& p) { return TextWords(p.community_id); });
  words += MapWords<Snap::Terminal>(state.terminals,
                                    [](const Terminal& t) { return TextWords(t.merchant_id); });
  words += MapWords<Snap::Credential>(state.credentials, [](const Credential& c) {
    return TextWords(c.community_id) + TextWords(c.subject_id) + TextWords(c.secret_hash);
  });
  words += MapWords<Snap::Order>(state.orders, [](const Order& o) {
    size_t more = TextWords(o.community_id) + TextWords(o.resident_id) +
                  TextWords(o.social_worker_id) +
                  ListWords<schema::VolunteerMinutes>(o.shares.size());
    for (const Share& share : o.shares) more += TextWords(share.volunteer_id);
    return more;
  });
  words += MapWords<Snap::Redemption>(state.redemptions, [](const Redemption& r) {
    return TextWords(r.volunteer_id) + TextWords(r.merchant_id);
  });
  words +=
      MapWords<Snap::Sale>(state.sales, [](const Sale& x) { return TextWords(x.merchant_id); });
  words += MapWords<Snap::Payout>(state.payouts, [](const Payout& p) {
    return TextWords(p.community_id) + TextWords(p.project_id) + TextWords(p.requester_id);
  });
  words += MapWords<Snap::Balance>(state.balances, nothing);
  return words;
}

void Encode(const State& state, capnp::MessageBuilder* message) {
  auto snap = message->initRoot<Snap>();
  snap.setFormatVersion(kStateFormatVersion);
  snap.setLastSeq(state.last_seq);
  snap.setLastRecordedAtUs(state.last_recorded_at_us);
  EncodeRegistry(state, snap);
  EncodeActivity(state, snap);
}

}  // namespace

std::string EncodeState(const State& state) {
  // In one segment (EncodedWordsBound). A segment holds at most 2^29 - 1 words (capnp/common.h,
  // SEGMENT_WORD_COUNT_BITS); a larger state takes more than one.
  constexpr size_t kSegmentWordsMax = (size_t{1} << capnp::SEGMENT_WORD_COUNT_BITS) - 1;
  const size_t bound = EncodedWordsBound(state);
  if (bound <= kSegmentWordsMax) {
    // Built where its bytes are returned: in the string's zeroed buffer, behind one word for the
    // segment table. Built in a segment of its own, then copied into a flat array and that into a
    // string, it took three passes over fresh memory of the snapshot's size, each faulting its
    // pages in (bench/RESULTS.md section 6: 104 MB at 1M volunteers).
    std::string bytes(sizeof(capnp::word) * (1 + bound), '\0');
    capnp::FlatMessageBuilder message(
        kj::arrayPtr(reinterpret_cast<capnp::word*>(&bytes[0]) + 1, bound));
    bool built = false;
    try {
      Encode(state, &message);
      built = true;
    } catch (const kj::Exception&) {
      // The bound fell short (a bug): the message is built again below, in several segments.
    }
    if (built) {
      // One segment's table (capnp/serialize.h): its count less one (0), then its size in words,
      // each a little-endian UInt32.
      const size_t used = message.getSegmentsForOutput()[0].size();
      for (size_t i = 0; i < 4; ++i) bytes[4 + i] = static_cast<char>((used >> (8 * i)) & 0xff);
      bytes.resize(sizeof(capnp::word) * (1 + used));
      return bytes;
    }
  }
  capnp::MallocMessageBuilder message(static_cast<unsigned>(std::min(bound, kSegmentWordsMax)));
  Encode(state, &message);
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  return std::string(words.asChars().begin(), words.asChars().size());
}

}  // namespace mulin::domain
