// Goal: State snapshots round-trip exactly, equal states encode to equal bytes whatever their
// history of insertions, and hostile snapshot bytes give Corruption, never a crash.
#include <capnp/message.h>
#include <capnp/serialize.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/schema/snapshot.capnp.h"
#include "tests/support/domain_fixture.h"

namespace mulin::testing {
namespace {

class DomainStateTest : public DomainFixture {
 protected:
  // A state holding at least one of everything State can hold.
  void BuildRichState() {
    BuildWorld();
    ASSERT_EQ("ok", CodeOf(SetRules("xishan", 12, 180, 3600, 86400)));
    ASSERT_EQ("ok", CodeOf(SetRules("xishan", 15, 180, 3600, 86400, now_us_ + kHourUs)));
    Earn("O1", "V1", 30);
    DeliveredOrder("O2", {{"V1", 60}, {"V2", 45}});
    ASSERT_EQ("ok", CodeOf(Rate("R1", "O2", 1)));
    ASSERT_EQ("ok", CodeOf(PlaceOrder("R2", "O3", "R2")));
    ASSERT_EQ("ok", CodeOf(Redeem("T1", "RD1", "V1", "T1", 5)));
    ASSERT_EQ("ok", CodeOf(Redeem("T1", "RD2", "V1", "T1", 4)));
    ASSERT_EQ("ok", CodeOf(ReverseRedemption("T1", "RD2", "T1")));
    ASSERT_EQ("ok", CodeOf(RecordSale("T2", "SL1", "M2", 123456)));
    ASSERT_EQ("ok", CodeOf(RecordSale("T2", "SL2", "M2", 1000)));
    ASSERT_EQ("ok", CodeOf(ReverseSale("T2", "SL2", "M2")));
    ASSERT_EQ("ok", CodeOf(RequestPayout("S1", "Y1", "P1", 1000)));
    ASSERT_EQ("ok", CodeOf(ApprovePayout("S2", "Y1")));
    ASSERT_EQ("ok", CodeOf(RequestPayout("S1", "Y2", "P1", 10)));
    ASSERT_EQ("ok", CodeOf(IssueCredential("C1", schema::CredentialRole::TERMINAL, "T1")));
    ASSERT_EQ("ok", CodeOf(IssueCredential("C2", schema::CredentialRole::AUDITOR, "audit")));
    ASSERT_EQ("ok", CodeOf(RevokeCredential("C2")));
  }
};

TEST_F(DomainStateTest, RulesAtFollowsEffectiveDates) {
  domain::Community community;
  EXPECT_EQ(domain::Rules(), domain::RulesAt(community, 0));
  EXPECT_EQ(10, domain::RulesAt(community, 0).points_per_hour);
  EXPECT_EQ(240, domain::RulesAt(community, 0).max_minutes_per_order);
  EXPECT_EQ(72 * 3600, domain::RulesAt(community, 0).rating_window_s);
  EXPECT_EQ(7 * 24 * 3600, domain::RulesAt(community, 0).reversal_window_s);
  community.rules = {{100, 20, 60, 1, 1}, {200, 30, 60, 1, 1}, {200, 40, 60, 1, 1}};
  EXPECT_EQ(10, domain::RulesAt(community, 99).points_per_hour);
  EXPECT_EQ(20, domain::RulesAt(community, 100).points_per_hour);
  EXPECT_EQ(20, domain::RulesAt(community, 199).points_per_hour);
  EXPECT_EQ(40, domain::RulesAt(community, 200).points_per_hour) << "the later of equal instants";
}

TEST_F(DomainStateTest, EncodeDecodeRoundTrips) {
  BuildRichState();
  const std::string bytes = domain::EncodeState(state_);
  EXPECT_EQ(1u, SnapshotSegments(bytes)) << "every kind of entry within EncodeState's bound";
  Result<domain::State> decoded = domain::DecodeState(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_TRUE(*decoded == state_);
  EXPECT_EQ(bytes, domain::EncodeState(*decoded));
  EXPECT_EQ(state_.last_seq, decoded->last_seq);
  EXPECT_EQ(2u, decoded->communities.at("xishan").rules.size());
  EXPECT_EQ(domain::OrderStatus::kHeld, decoded->orders.at("O2").status);
  EXPECT_TRUE(decoded->redemptions.at("RD2").reversed);
  EXPECT_TRUE(decoded->credentials.at("C2").revoked);
  EXPECT_EQ(domain::PayoutStatus::kApproved, decoded->payouts.at("Y1").status);
}

TEST_F(DomainStateTest, EqualStatesEncodeEquallyWhateverTheirInsertionOrder) {
  BuildRichState();
  // Rebuild every map in reverse iteration order and with other bucket counts.
  domain::State shuffled;
  auto reinsert = [](const auto& from, auto* to) {
    std::vector<typename std::decay_t<decltype(from)>::value_type> entries(from.begin(),
                                                                           from.end());
    to->rehash(entries.size() * 7 + 3);
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) to->insert(*it);
  };
  reinsert(state_.communities, &shuffled.communities);
  reinsert(state_.members, &shuffled.members);
  reinsert(state_.merchants, &shuffled.merchants);
  reinsert(state_.projects, &shuffled.projects);
  reinsert(state_.terminals, &shuffled.terminals);
  reinsert(state_.credentials, &shuffled.credentials);
  reinsert(state_.orders, &shuffled.orders);
  reinsert(state_.redemptions, &shuffled.redemptions);
  reinsert(state_.sales, &shuffled.sales);
  reinsert(state_.payouts, &shuffled.payouts);
  reinsert(state_.balances, &shuffled.balances);
  shuffled.last_seq = state_.last_seq;
  shuffled.last_recorded_at_us = state_.last_recorded_at_us;
  ASSERT_TRUE(shuffled == state_);
  EXPECT_EQ(domain::EncodeState(state_), domain::EncodeState(shuffled));
  shuffled.balances["volunteer:V1"][0] += 1;
  EXPECT_FALSE(shuffled == state_);
  EXPECT_NE(domain::EncodeState(state_), domain::EncodeState(shuffled));
}

TEST_F(DomainStateTest, ReplayedStateEqualsLiveState) {
  BuildRichState();
  EXPECT_TRUE(Replay() == state_);
}

// Ids that differ in one character anywhere, or only in length, hash apart: the state's maps
// would still be right with collisions, but a look-up would walk them.
TEST(IdHashTest, IdsThatDifferAnywhereHashApart) {
  std::set<size_t> hashes;
  std::vector<std::string> ids;
  const std::string base = "account:member:XS-V0000000";
  for (size_t at = 0; at < base.size(); ++at) {
    for (char c : std::string("0123456789")) {
      std::string id = base;
      id[at] = c;
      ids.push_back(id);
    }
  }
  for (size_t n = 0; n <= base.size(); ++n) ids.push_back(base.substr(0, n));
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (const std::string& id : ids) {
    EXPECT_EQ(domain::IdHash()(id), domain::IdHash()(std::string(id.data(), id.size())));
    hashes.insert(domain::IdHash()(id));
  }
  EXPECT_EQ(ids.size(), hashes.size());
}

// A view is looked up through a string the thread reuses: long ids, then shorter ones, then a view
// into the middle of a longer string, each finds its own entry and nothing else.
TEST(FindInTest, ViewsOfEveryLengthFindTheirOwnEntry) {
  domain::IdMap<int> map;
  const std::string long_id = "volunteer:" + std::string(40, 'x');
  map[long_id] = 1;
  map["volunteer:V1"] = 2;
  map["V1"] = 3;
  auto at = [&](std::string_view id) {  // 0: not found
    const int* value = domain::FindIn(map, id);
    return value == nullptr ? 0 : *value;
  };
  const std::string_view long_view = long_id;
  EXPECT_EQ(1, at(long_view));
  EXPECT_EQ(2, at("volunteer:V1"));
  EXPECT_EQ(0, at(long_view.substr(0, long_view.size() - 1)));
  const std::string around = "[volunteer:V1]";
  EXPECT_EQ(2, at(std::string_view(around).substr(1, 12)));
  EXPECT_EQ(3, at(std::string_view(around).substr(11, 2)));
  EXPECT_EQ(0, at(std::string_view()));
  EXPECT_EQ(1, at(long_view));
}

// A large state encodes as one segment too (far pointers between segments cost the reader a
// locked look-up each), and decodes the same from bytes at any address.
TEST_F(DomainStateTest, LargeStatesEncodeAsOneSegmentAndDecodeAtAnyAlignment) {
  BuildRichState();
  for (int i = 0; i < 50000; ++i) {
    const std::string id = "V-" + std::to_string(i);
    state_.members[id] = domain::Member{"xishan", domain::RoleBit(schema::Role::VOLUNTEER)};
    state_.balances[id][static_cast<size_t>(schema::Unit::POINTS)] = i;
  }
  const std::string bytes = domain::EncodeState(state_);
  EXPECT_EQ(1u, SnapshotSegments(bytes));
  const std::string shifted = "x" + bytes;  // a heap string's bytes from its second byte on
  for (std::string_view view : {std::string_view(bytes), std::string_view(shifted).substr(1)}) {
    Result<domain::State> decoded = domain::DecodeState(view);
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    EXPECT_TRUE(*decoded == state_);
    EXPECT_EQ(bytes, domain::EncodeState(*decoded));
  }
}

TEST_F(DomainStateTest, EmptyStateRoundTrips) {
  Result<domain::State> decoded = domain::DecodeState(domain::EncodeState(domain::State()));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_TRUE(*decoded == domain::State());
}

TEST_F(DomainStateTest, GarbageBytesAreCorruption) {
  for (const std::string& bytes :
       {std::string(), std::string(7, 'x'), std::string(64, '\xff'), std::string(8, '\0'),
        std::string("\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 16)}) {
    Result<domain::State> decoded = domain::DecodeState(bytes);
    EXPECT_TRUE(decoded.status().IsCorruption()) << bytes.size() << " bytes";
  }
  std::mt19937_64 random(42);
  for (int round = 0; round < 200; ++round) {
    std::string bytes(8 * (1 + random() % 64), '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    Result<domain::State> decoded = domain::DecodeState(bytes);
    EXPECT_FALSE(decoded.ok() && !decoded.status().IsCorruption());
  }
}

TEST_F(DomainStateTest, TruncatedOrExtendedSnapshotsAreCorruption) {
  BuildRichState();
  const std::string bytes = domain::EncodeState(state_);
  for (size_t size = 0; size < bytes.size(); size += 8) {
    EXPECT_TRUE(domain::DecodeState(bytes.substr(0, size)).status().IsCorruption()) << size;
  }
  EXPECT_TRUE(domain::DecodeState(bytes + std::string(8, '\0')).status().IsCorruption());
}

TEST_F(DomainStateTest, FlippedBytesNeverCrash) {
  BuildRichState();
  const std::string bytes = domain::EncodeState(state_);
  size_t corrupt = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
    Result<domain::State> decoded = domain::DecodeState(flipped);
    if (!decoded.ok()) {
      EXPECT_TRUE(decoded.status().IsCorruption()) << decoded.status().message();
      ++corrupt;
    }
  }
  EXPECT_GT(corrupt, 0u);
}

// Writes a snapshot message by hand; `fill` may break one of its rules.
std::string HandMadeSnapshot(const std::function<void(schema::StateSnapshot::Builder)>& fill) {
  capnp::MallocMessageBuilder message;
  auto snap = message.initRoot<schema::StateSnapshot>();
  snap.setFormatVersion(1);
  fill(snap);
  return ledger::EncodeMessage(message);
}

TEST_F(DomainStateTest, SnapshotRulesAreEnforced) {
  EXPECT_TRUE(domain::DecodeState(HandMadeSnapshot([](auto) {})).ok());
  EXPECT_TRUE(domain::DecodeState(HandMadeSnapshot([](auto s) { s.setFormatVersion(2); }))
                  .status()
                  .IsCorruption());
  auto two_members = [](const char* first, const char* second) {
    return HandMadeSnapshot([&](auto s) {
      auto members = s.initMembers(2);
      members[0].setId(first);
      members[1].setId(second);
    });
  };
  EXPECT_TRUE(domain::DecodeState(two_members("A", "B")).ok());
  EXPECT_TRUE(domain::DecodeState(two_members("B", "A")).status().IsCorruption());
  EXPECT_TRUE(domain::DecodeState(two_members("A", "A")).status().IsCorruption());
  EXPECT_TRUE(domain::DecodeState(two_members("", "A")).status().IsCorruption());
  EXPECT_TRUE(domain::DecodeState(HandMadeSnapshot([](auto s) {
                auto orders = s.initOrders(1);
                orders[0].setId("O1");
                orders[0].setRating(9);
              }))
                  .status()
                  .IsCorruption());
  EXPECT_TRUE(domain::DecodeState(HandMadeSnapshot([](auto s) {
                auto roles = s.initMembers(1)[0];
                roles.setId("M");
                auto list = roles.initRoles(2);
                list.set(0, schema::Role::STAFF);
                list.set(1, schema::Role::RESIDENT);
              }))
                  .status()
                  .IsCorruption());
}

}  // namespace
}  // namespace mulin::testing
