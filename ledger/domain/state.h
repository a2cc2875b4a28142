// State: everything the domain needs to decide a command, folded from the log by Evolve.
//
// State is a value: it owns all it holds, and two States built from the same events compare equal
// and encode to the same bytes (EncodeState writes every container in sorted key order). Balances
// here are the write side's own copy; projections keep theirs, both computed through Postings.
// Thread-safety: none; the writer's thread owns the live State. Copies may go to other threads.
#ifndef MULIN_LEDGER_DOMAIN_STATE_H_
#define MULIN_LEDGER_DOMAIN_STATE_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ledger/schema/event.capnp.h"
#include "ledger/status.h"

namespace mulin::domain {

// Rule defaults (DESIGN §2.3), in force in a community until its first RulesChanged takes effect.
inline constexpr int64_t kDefaultPointsPerHour = 10;
inline constexpr int64_t kDefaultMaxMinutesPerOrder = 240;
inline constexpr int64_t kDefaultRatingWindowS = 72 * 3600;
inline constexpr int64_t kDefaultReversalWindowS = 7 * 24 * 3600;
inline constexpr int64_t kMicrosPerSecond = 1000000;

struct Rules {
  int64_t effective_from_us = 0;
  int64_t points_per_hour = kDefaultPointsPerHour;
  int64_t max_minutes_per_order = kDefaultMaxMinutesPerOrder;
  int64_t rating_window_s = kDefaultRatingWindowS;
  int64_t reversal_window_s = kDefaultReversalWindowS;
  bool operator==(const Rules& other) const;
};

struct Community {
  // Sorted by effective_from_us; among equal instants, in the order they were set, so the later
  // one wins. The rules in force at t are those with the greatest effective_from_us <= t.
  std::vector<Rules> rules;
  bool operator==(const Community& other) const { return rules == other.rules; }
};

// The rules in force in `community` at `at_us` (the defaults before any rule takes effect).
Rules RulesAt(const Community& community, int64_t at_us);

// Role bits of a member: bit (1 << schema::Role value).
using RoleMask = uint8_t;
inline constexpr RoleMask RoleBit(schema::Role role) {
  return static_cast<RoleMask>(1u << static_cast<unsigned>(role));
}
inline constexpr RoleMask kAllRolesMask =
    RoleBit(schema::Role::RESIDENT) | RoleBit(schema::Role::VOLUNTEER) |
    RoleBit(schema::Role::SOCIAL_WORKER) | RoleBit(schema::Role::STAFF);

struct Member {
  std::string community_id;
  RoleMask roles = 0;
  bool Has(schema::Role role) const { return (roles & RoleBit(role)) != 0; }
  bool operator==(const Member& other) const;
};

struct Merchant {
  std::string community_id;
  uint32_t rate_bps = 0;
  bool operator==(const Merchant& other) const;
};

struct Project {
  std::string community_id;
  bool operator==(const Project& other) const { return community_id == other.community_id; }
};

struct Terminal {
  std::string merchant_id;
  bool operator==(const Terminal& other) const { return merchant_id == other.merchant_id; }
};

struct Credential {
  std::string community_id;  // the terminal's community for terminal credentials, else ""
  schema::CredentialRole role = schema::CredentialRole::TERMINAL;
  std::string subject_id;
  std::string secret_hash;  // 32 bytes
  bool revoked = false;
  bool operator==(const Credential& other) const;
};

// The order loop. kHeld: rated 1, points wait for a social worker. kClosed: points credited or
// their review decided. kCancelled: cancelled before delivery.
enum class OrderStatus : uint8_t {
  kPlaced = 0,
  kDispatched,
  kAccepted,
  kDelivered,
  kHeld,
  kClosed,
  kCancelled,
};
inline constexpr OrderStatus kLastOrderStatus = OrderStatus::kCancelled;
const char* OrderStatusName(OrderStatus status);

struct Share {
  std::string volunteer_id;
  int64_t minutes = 0;  // service minutes delivered
  int64_t points = 0;   // points earned, computed at delivery with the rules then in force
  bool operator==(const Share& other) const;
};

struct Order {
  std::string community_id;
  OrderStatus status = OrderStatus::kPlaced;
  std::string resident_id;
  std::string social_worker_id;  // set at dispatch
  int64_t delivered_at_us = 0;   // set at delivery
  uint8_t rating = 0;            // 0 until rated
  std::vector<Share> shares;     // set at delivery
  bool operator==(const Order& other) const;
};

struct Redemption {
  uint64_t seq = 0;  // of the PointsRedeemed event
  std::string volunteer_id;
  std::string merchant_id;
  int64_t points = 0;
  int64_t recorded_at_us = 0;
  bool reversed = false;
  bool operator==(const Redemption& other) const;
};

struct Sale {
  uint64_t seq = 0;  // of the SaleRecorded event
  std::string merchant_id;
  int64_t gross_fen = 0;
  int64_t contribution_fen = 0;
  bool reversed = false;
  bool operator==(const Sale& other) const;
};

enum class PayoutStatus : uint8_t { kRequested = 0, kApproved, kRejected };
inline constexpr PayoutStatus kLastPayoutStatus = PayoutStatus::kRejected;

struct Payout {
  std::string community_id;
  std::string project_id;
  int64_t amount_fen = 0;
  std::string requester_id;
  PayoutStatus status = PayoutStatus::kRequested;
  bool operator==(const Payout& other) const;
};

// One account's balance in each unit, indexed by schema::Unit.
using Balances = std::array<int64_t, 3>;
inline constexpr size_t kUnitCount = 3;

// Hashes the ids that key State's maps with XXH3: about 41 instructions a call on an append's
// ids, where std::hash<std::string> took about 70, some 19 times an append (bench/RESULTS.md §1).
// Not noexcept on purpose: libstdc++ then keeps each node's hash code, as it does for std::hash, so
// that a rehash or a walk along a bucket never hashes an id again, and a node keeps its size.
struct IdHash {
  size_t operator()(const std::string& id) const;
};
// A map keyed by id.
template <typename T>
using IdMap = std::unordered_map<std::string, T, IdHash>;

// An entry of one of State's maps.
template <typename T>
using Entry = std::pair<const std::string, T>;

// The entries Evolve inserted or changed since Restart, while tracking: what an incremental
// snapshot holds (EncodeChanges), so that the writer encodes what changed in an interval rather
// than the whole state. Entries may be named more than once. Redemptions and sales are not
// tracked: a snapshot holds them whole (the writer's state holds only those of the group in
// flight). Maps keep their nodes in place, so the pointers stay valid until an entry is erased,
// which only redemptions and sales are.
class ChangeLog {
 public:
  ChangeLog() = default;
  ChangeLog(ChangeLog&&) = default;
  ChangeLog& operator=(ChangeLog&&) = default;
  // A copy tracks nothing: the pointers point into the State it was copied from.
  ChangeLog(const ChangeLog&) {}
  ChangeLog& operator=(const ChangeLog&) {
    *this = ChangeLog();
    return *this;
  }

  bool tracking() const { return tracking_; }
  // Forgets what was noted and tracks from here on.
  void Restart() {
    *this = ChangeLog();
    tracking_ = true;
  }
  // Whether the entries of a State's map of T are tracked.
  template <typename T>
  static constexpr bool Tracks() {
    return !std::is_same_v<T, Redemption> && !std::is_same_v<T, Sale>;
  }
  template <typename T>
  void Note(const Entry<T>& entry) {
    if constexpr (Tracks<T>()) {
      if (tracking_) std::get<std::vector<const Entry<T>*>>(changed_).push_back(&entry);
    }
  }
  template <typename T>
  const std::vector<const Entry<T>*>& Changed() const {
    return std::get<std::vector<const Entry<T>*>>(changed_);
  }
  // Entries noted, each as often as it was.
  size_t noted() const {
    return std::apply([](const auto&... changed) { return (changed.size() + ... + size_t{0}); },
                      changed_);
  }

 private:
  bool tracking_ = false;
  std::tuple<std::vector<const Entry<Community>*>, std::vector<const Entry<Member>*>,
             std::vector<const Entry<Merchant>*>, std::vector<const Entry<Project>*>,
             std::vector<const Entry<Terminal>*>, std::vector<const Entry<Credential>*>,
             std::vector<const Entry<Order>*>, std::vector<const Entry<Payout>*>,
             std::vector<const Entry<Balances>*>>
      changed_;
};

struct State {
  // Each map is keyed by the entity's id (unique per kind).
  IdMap<Community> communities;
  IdMap<Member> members;
  IdMap<Merchant> merchants;
  IdMap<Project> projects;
  IdMap<Terminal> terminals;
  IdMap<Credential> credentials;
  IdMap<Order> orders;
  IdMap<Redemption> redemptions;
  IdMap<Sale> sales;
  IdMap<Payout> payouts;
  IdMap<Balances> balances;         // by account id, see postings.h
  uint64_t last_seq = 0;            // 0: no event applied yet
  int64_t last_recorded_at_us = 0;  // of the last event applied
  ChangeLog changes;                // not part of the value: == ignores it
  bool operator==(const State& other) const;
  bool operator!=(const State& other) const { return !(*this == other); }
};

// Calls f on each of the maps whose entries a ChangeLog tracks, in the order of the ChangeLog's
// lists, taking that map of every state given: f(a.members, b.members), and so on.
template <typename F, typename... States>
void ForEachTrackedMap(F&& f, States&... states) {
  f(states.communities...);
  f(states.members...);
  f(states.merchants...);
  f(states.projects...);
  f(states.terminals...);
  f(states.credentials...);
  f(states.orders...);
  f(states.payouts...);
  f(states.balances...);
}

// The balance of `account` in `unit` (0 for an account that never moved).
int64_t BalanceOf(const State& state, std::string_view account, schema::Unit unit);

// Lookups that never insert: nullptr when the id is unknown.
// A std::string id is looked up as it is: a copy allocates for ids past the 15 bytes std::string
// holds inline, as an account id is once its member id passes five characters.
template <typename T>
const T* FindIn(const IdMap<T>& map, const std::string& id) {
  auto it = map.find(id);
  return it == map.end() ? nullptr : &it->second;
}
// C++17's unordered maps take only the key type: a view is copied into a string the thread keeps,
// whose capacity stays, so that an id past 15 bytes does not allocate for every look-up.
template <typename T>
const T* FindIn(const IdMap<T>& map, std::string_view id) {
  thread_local std::string key;
  key.assign(id.data(), id.size());
  return FindIn(map, key);
}

// Snapshot bytes (ledger/schema/snapshot.capnp). Equal states give equal bytes.
std::string EncodeState(const State& state);
// Snapshot bytes of `state` that hold only what `state.changes` names (which must be tracking),
// and its redemptions and sales whole: merged into the snapshot of the state the changes were
// tracked from, they give EncodeState(state) (MergeStates).
std::string EncodeChanges(const State& state);
// Whether EncodeChanges(state) is the cheaper encoding: while the changes name fewer entries than
// the tracked maps hold. An entry is noted at every change, and sorting what was noted then costs
// more than walking the maps: at 10M events of a small state, 22-32 ms a snapshot against 0.3 ms.
bool ChangesAreSmaller(const State& state);
// The snapshot `base` with the entries of `changes` (EncodeChanges) laid over it: an entry in both
// is taken from `changes`, and so are the sequence number, the clock, and the redemptions and
// sales whole. Both are untrusted: a malformed one, or one with unsorted ids, is kCorruption.
Result<std::string> MergeStates(std::string_view base, std::string_view changes);
// Bytes are untrusted: limits are explicit, and anything malformed (bad framing, unsorted or
// duplicate keys, out-of-range enums, another format version) is kCorruption, never a crash.
Result<State> DecodeState(std::string_view bytes);
// A snapshot's two parts, which decode into disjoint members of State: two threads may decode the
// two parts of the same bytes into one State at once, each with a reader of its own (start-up does,
// ledger/snapshot.cc). At 1M volunteers each part is about half the work: the members are in one,
// the balances in the other.
enum class StatePart {
  kRegistry,  // the sequence number and clock, communities, members, merchants, projects,
              // terminals and credentials
  kActivity,  // orders, redemptions, sales, payouts and balances
};
// Decodes `part` of the snapshot `bytes` with `changes` (EncodeChanges bytes; empty for none) laid
// over it as MergeStates lays them, into `state`, whose maps of that part must be empty: that part
// of DecodeState(MergeStates(bytes, changes)), without building the merged bytes or a second state.
// DecodeState is both parts without changes. Both are untrusted, as for DecodeState and
// MergeStates; after kCorruption the part's maps may hold some entries, and `state` is to be
// dropped.
Status DecodeStatePart(std::string_view bytes, std::string_view changes, StatePart part,
                       State* state);

}  // namespace mulin::domain

#endif  // MULIN_LEDGER_DOMAIN_STATE_H_
