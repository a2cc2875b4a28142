// EncodeState: State as a snapshot message in one segment (ledger/domain/state_format.h).
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdint>
#include <functional>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "ledger/domain/state.h"
#include "ledger/domain/state_format.h"
#include "ledger/key_order.h"
#include "ledger/schema/snapshot.capnp.h"

namespace mulin::domain {
namespace {

using Snap = schema::StateSnapshot;

template <typename T>
using Entries = std::vector<const std::pair<const std::string, T>*>;

// Fetches entry i's successors ahead of their turn (ledger::FetchKeyAhead): in id order, a large
// map's entries and their ids' bytes are each a cache miss.
template <typename Entry>
void FetchAhead(const std::vector<const Entry*>& entries, size_t i) {
  ledger::FetchKeyAhead(entries, i,
                        [](const Entry* entry) { return std::string_view(entry->first); });
}

// Writes a map's `entries`, in id order: `init(n)` makes the list, `fill(builder, value)` one
// entry.
template <typename T, typename Init, typename Fill>
void EncodeMap(const Entries<T>& entries, Init init, Fill fill) {
  auto list = init(static_cast<unsigned>(entries.size()));
  for (unsigned i = 0; i < entries.size(); ++i) {
    FetchAhead(entries, i);
    auto builder = list[i];
    builder.setId(entries[i]->first);
    fill(builder, entries[i]->second);
  }
}

// Words of a text field: its bytes and the NUL, rounded up.
size_t TextWords(const std::string& text) { return text.size() / sizeof(capnp::word) + 1; }

// Words of a list of `n` structs S: its tag and the structs.
template <typename S>
size_t ListWords(size_t n) {
  return 1 + n * capnp::sizeInWords<S>();
}

// A map's entries in id order, and at least the words its list takes in the message: each entry's
// struct and id, and what `more(value)` counts.
template <typename T>
struct SortedMap {
  Entries<T> entries;
  size_t words = 0;
};

// Collects `map`'s entries, counting their words on the way, and sorts them, on one walk of the
// map (ledger::SortEntriesByKey) with the ids' first 24 bytes compared as integers: at 1M
// volunteers, sorting the members and balances with std::string's comparison had taken a billion
// instructions more of an encoding's 4.4 billion (bench/RESULTS.md section 6).
template <typename S, typename T, typename More>
void SortMap(const IdMap<T>& map, More more, SortedMap<T>* out) {
  size_t words = ListWords<S>(map.size());
  out->entries = ledger::SortEntriesByKey(map, [&words, &more](const auto& entry) {
    words += TextWords(entry.first) + more(entry.second);
  });
  out->words = words;
}

// The entries of `changed` (ChangeLog::Changed) once each, in id order, counting their words.
template <typename S, typename T, typename More>
void SortChanged(const std::vector<const Entry<T>*>& changed, More more, SortedMap<T>* out) {
  Entries<T> entries = changed;
  ledger::SortByKey(&entries, [](const Entry<T>* entry) { return std::string_view(entry->first); });
  // An entry noted twice has one key: its copies are next to each other.
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  size_t words = ListWords<S>(entries.size());
  for (const Entry<T>* entry : entries) words += TextWords(entry->first) + more(entry->second);
  out->entries = std::move(entries);
  out->words = words;
}

// Every map of a State, sorted.
struct SortedState {
  SortedMap<Community> communities;
  SortedMap<Member> members;
  SortedMap<Merchant> merchants;
  SortedMap<Project> projects;
  SortedMap<Terminal> terminals;
  SortedMap<Credential> credentials;
  SortedMap<Order> orders;
  SortedMap<Redemption> redemptions;
  SortedMap<Sale> sales;
  SortedMap<Payout> payouts;
  SortedMap<Balances> balances;
  // At least the words the message takes, so that it is built in one segment. Built in segments
  // that grow as it goes, a large state's lists each filled a segment of their own and had every
  // text of their entries in the next, each behind a far pointer that the reader resolves under a
  // lock (capnp::_::ReaderArena::tryGetSegment): at 1M volunteers a sixth of a start-up's
  // instructions (bench/RESULTS.md section 6). Should the bound fall short, the message takes a
  // second segment: larger and slower to read, never wrong.
  size_t words = 0;
};

// Below this many entries in all, one thread sorts every map: starting a second costs more.
constexpr size_t kParallelSortEntriesMin = 16384;

using SortTasks = std::vector<std::pair<size_t, std::function<void()>>>;

// Adds the task that sorts `map` into `out`, paired with the entries it sorts: only those that
// `changes` names when it is given and tracks the map, else all of them.
template <typename S, typename T, typename More>
void AddSortTask(const IdMap<T>& map, [[maybe_unused]] const ChangeLog* changes, More more,
                 SortedMap<T>* out, SortTasks* tasks) {
  if constexpr (ChangeLog::Tracks<T>()) {
    if (changes != nullptr) {
      const auto& changed = changes->Changed<T>();
      tasks->emplace_back(changed.size(),
                          [&changed, more, out] { SortChanged<S>(changed, more, out); });
      return;
    }
  }
  tasks->emplace_back(map.size(), [&map, more, out] { SortMap<S>(map, more, out); });
}

// Runs `tasks`, each paired with the entries it sorts, the largest first, on this thread and, when
// there are at least kParallelSortEntriesMin entries in all, on one more.
void RunSortTasks(SortTasks tasks) {
  std::sort(tasks.begin(), tasks.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  size_t entries = 0;
  for (const auto& task : tasks) entries += task.first;
  std::atomic<size_t> next{0};
  const auto work = [&] {
    for (size_t i = next++; i < tasks.size(); i = next++) tasks[i].second();
  };
  std::thread helper;
  if (entries >= kParallelSortEntriesMin) {
    try {
      helper = std::thread(work);
    } catch (const std::system_error&) {
      // No thread to be had: this one sorts every map.
    }
  }
  work();
  if (helper.joinable()) helper.join();
}

// Collecting a map's entries follows its nodes, each a cache miss that the next one waits on: at
// 1M volunteers, walking and sorting the members and the balances took most of a snapshot's
// encoding (bench/RESULTS.md section 6). Two threads walk two maps at once. With `changes`, only
// the entries it names, and the redemptions and sales whole.
SortedState SortState(const State& state, const ChangeLog* changes) {
  SortedState sorted;
  SortTasks tasks;
  AddSortTask<Snap::Community>(
      state.communities, changes,
      [](const Community& c) { return ListWords<schema::RulesChanged>(c.rules.size()); },
      &sorted.communities, &tasks);
  // A member's roles are at most four UInt16s: one word.
  AddSortTask<Snap::Member>(
      state.members, changes, [](const Member& m) { return TextWords(m.community_id) + 1; },
      &sorted.members, &tasks);
  AddSortTask<Snap::Merchant>(
      state.merchants, changes, [](const Merchant& m) { return TextWords(m.community_id); },
      &sorted.merchants, &tasks);
  AddSortTask<Snap::Project>(
      state.projects, changes, [](const Project& p) { return TextWords(p.community_id); },
      &sorted.projects, &tasks);
  AddSortTask<Snap::Terminal>(
      state.terminals, changes, [](const Terminal& t) { return TextWords(t.merchant_id); },
      &sorted.terminals, &tasks);
  AddSortTask<Snap::Credential>(
      state.credentials, changes,
      [](const Credential& c) {
        return TextWords(c.community_id) + TextWords(c.subject_id) + TextWords(c.secret_hash);
      },
      &sorted.credentials, &tasks);
  AddSortTask<Snap::Order>(
      state.orders, changes,
      [](const Order& o) {
        size_t more = TextWords(o.community_id) + TextWords(o.resident_id) +
                      TextWords(o.social_worker_id) +
                      ListWords<schema::VolunteerMinutes>(o.shares.size());
        for (const Share& share : o.shares) more += TextWords(share.volunteer_id);
        return more;
      },
      &sorted.orders, &tasks);
  AddSortTask<Snap::Redemption>(
      state.redemptions, changes,
      [](const Redemption& r) { return TextWords(r.volunteer_id) + TextWords(r.merchant_id); },
      &sorted.redemptions, &tasks);
  AddSortTask<Snap::Sale>(
      state.sales, changes, [](const Sale& x) { return TextWords(x.merchant_id); }, &sorted.sales,
      &tasks);
  AddSortTask<Snap::Payout>(
      state.payouts, changes,
      [](const Payout& p) {
        return TextWords(p.community_id) + TextWords(p.project_id) + TextWords(p.requester_id);
      },
      &sorted.payouts, &tasks);
  AddSortTask<Snap::Balance>(
      state.balances, changes, [](const Balances&) { return size_t{0}; }, &sorted.balances, &tasks);
  RunSortTasks(std::move(tasks));
  sorted.words = 1 + capnp::sizeInWords<Snap>() +  // the root pointer, the root
                 sorted.communities.words + sorted.members.words + sorted.merchants.words +
                 sorted.projects.words + sorted.terminals.words + sorted.credentials.words +
                 sorted.orders.words + sorted.redemptions.words + sorted.sales.words +
                 sorted.payouts.words + sorted.balances.words;
  return sorted;
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

void EncodeRegistry(const SortedState& sorted, Snap::Builder snap) {
  EncodeMap(
      sorted.communities.entries, [&](unsigned n) { return snap.initCommunities(n); },
      [](Snap::Community::Builder b, const Community& c) {
        FillRules(c.rules, b.initRules(static_cast<unsigned>(c.rules.size())));
      });
  EncodeMap(
      sorted.members.entries, [&](unsigned n) { return snap.initMembers(n); },
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
      sorted.merchants.entries, [&](unsigned n) { return snap.initMerchants(n); },
      [](Snap::Merchant::Builder b, const Merchant& m) {
        b.setCommunityId(m.community_id);
        b.setContributionRateBps(m.rate_bps);
      });
  EncodeMap(
      sorted.projects.entries, [&](unsigned n) { return snap.initProjects(n); },
      [](Snap::Project::Builder b, const Project& p) { b.setCommunityId(p.community_id); });
  EncodeMap(
      sorted.terminals.entries, [&](unsigned n) { return snap.initTerminals(n); },
      [](Snap::Terminal::Builder b, const Terminal& t) { b.setMerchantId(t.merchant_id); });
  EncodeMap(
      sorted.credentials.entries, [&](unsigned n) { return snap.initCredentials(n); },
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

void EncodeActivity(const SortedState& sorted, Snap::Builder snap) {
  EncodeMap(
      sorted.orders.entries, [&](unsigned n) { return snap.initOrders(n); }, EncodeOrder);
  EncodeMap(
      sorted.redemptions.entries, [&](unsigned n) { return snap.initRedemptions(n); },
      [](Snap::Redemption::Builder b, const Redemption& r) {
        b.setSeq(r.seq);
        b.setVolunteerId(r.volunteer_id);
        b.setMerchantId(r.merchant_id);
        b.setPoints(r.points);
        b.setRecordedAtUs(r.recorded_at_us);
        b.setReversed(r.reversed);
      });
  EncodeMap(
      sorted.sales.entries, [&](unsigned n) { return snap.initSales(n); },
      [](Snap::Sale::Builder b, const Sale& s) {
        b.setSeq(s.seq);
        b.setMerchantId(s.merchant_id);
        b.setGrossFen(s.gross_fen);
        b.setContributionFen(s.contribution_fen);
        b.setReversed(s.reversed);
      });
  EncodeMap(
      sorted.payouts.entries, [&](unsigned n) { return snap.initPayouts(n); },
      [](Snap::Payout::Builder b, const Payout& p) {
        b.setCommunityId(p.community_id);
        b.setProjectId(p.project_id);
        b.setAmountFen(p.amount_fen);
        b.setRequesterId(p.requester_id);
        b.setStatus(static_cast<Snap::PayoutStatus>(p.status));
      });
  const auto& balances = sorted.balances.entries;
  auto list = snap.initBalances(static_cast<unsigned>(balances.size()));
  for (unsigned i = 0; i < balances.size(); ++i) {
    FetchAhead(balances, i);
    list[i].setAccountId(balances[i]->first);
    list[i].setPoints(balances[i]->second[static_cast<size_t>(schema::Unit::POINTS)]);
    list[i].setMinutes(balances[i]->second[static_cast<size_t>(schema::Unit::MINUTES)]);
    list[i].setFen(balances[i]->second[static_cast<size_t>(schema::Unit::FEN)]);
  }
}

void Encode(const State& state, const SortedState& sorted, capnp::MessageBuilder* message) {
  auto snap = message->initRoot<Snap>();
  snap.setFormatVersion(kStateFormatVersion);
  snap.setLastSeq(state.last_seq);
  snap.setLastRecordedAtUs(state.last_recorded_at_us);
  EncodeRegistry(sorted, snap);
  EncodeActivity(sorted, snap);
}

std::string EncodeSorted(const State& state, const SortedState& sorted) {
  return BuildSnapshotBytes(sorted.words, [&state, &sorted](capnp::MessageBuilder* message) {
    Encode(state, sorted, message);
  });
}

}  // namespace

std::string BuildSnapshotBytes(size_t words_bound,
                               const std::function<void(capnp::MessageBuilder*)>& build) {
  // A segment holds at most 2^29 - 1 words (capnp/common.h, SEGMENT_WORD_COUNT_BITS); a larger
  // state takes more than one.
  constexpr size_t kSegmentWordsMax = (size_t{1} << capnp::SEGMENT_WORD_COUNT_BITS) - 1;
  if (words_bound <= kSegmentWordsMax) {
    // Built where its bytes are returned: in the string's zeroed buffer, behind one word for the
    // segment table. Built in a segment of its own, then copied into a flat array and that into a
    // string, it took three passes over fresh memory of the snapshot's size, each faulting its
    // pages in (bench/RESULTS.md section 6: 104 MB at 1M volunteers).
    std::string bytes(sizeof(capnp::word) * (1 + words_bound), '\0');
    capnp::FlatMessageBuilder message(
        kj::arrayPtr(reinterpret_cast<capnp::word*>(&bytes[0]) + 1, words_bound));
    bool built = false;
    try {
      build(&message);
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
  capnp::MallocMessageBuilder message(
      static_cast<unsigned>(std::min(words_bound, kSegmentWordsMax)));
  build(&message);
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  return std::string(words.asChars().begin(), words.asChars().size());
}

std::string EncodeState(const State& state) {
  return EncodeSorted(state, SortState(state, nullptr));
}

std::string EncodeChanges(const State& state) {
  assert(state.changes.tracking());
  return EncodeSorted(state, SortState(state, &state.changes));
}

}  // namespace mulin::domain
