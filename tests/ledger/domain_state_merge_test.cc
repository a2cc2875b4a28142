// Goal: a snapshot with the changes of the events after it laid over it (EncodeChanges, then
// MergeStates) is, byte for byte, the snapshot of the state those events lead to, through every
// kind of event and many intervals in a row, also laid over the snapshot as it decodes
// (DecodeStatePart, two threads decoding the two parts) and over the changes before them; only a
// tracking state's own changes are noted; and hostile bytes on either side give Corruption, never
// a crash.
#include <capnp/message.h>
#include <capnp/serialize.h>

#include <random>
#include <string>
#include <thread>
#include <utility>

#include "ledger/domain/state_format.h"
#include "ledger/schema/snapshot.capnp.h"
#include "tests/support/domain_fixture.h"
#include "tests/support/domain_generator.h"

namespace mulin::testing {
namespace {

// `base` with `changes` laid over it, its two parts decoded on two threads into one state, as
// start-up decodes them (ledger/snapshot.cc).
Result<domain::State> DecodeOnTwoThreads(const std::string& base, const std::string& changes) {
  domain::State state;
  Status activity;
  std::thread beside([&] {
    activity = domain::DecodeStatePart(base, changes, domain::StatePart::kActivity, &state);
  });
  const Status registry =
      domain::DecodeStatePart(base, changes, domain::StatePart::kRegistry, &state);
  beside.join();
  MULIN_RETURN_IF_ERROR(registry);
  MULIN_RETURN_IF_ERROR(activity);
  return state;
}

class DomainStateMergeTest : public DomainFixture, public ::testing::WithParamInterface<uint64_t> {
 protected:
  // Lays the changes since the last Restart over `base` and starts tracking afresh. The same
  // changes go two other ways, which must agree: over the changes since the first base, then those
  // over the first base (as a writer storing its changes beside a whole snapshot does), and those
  // laid over the first base as it decodes (as start-up does).
  void MergeInto(std::string* base) {
    const std::string changes = domain::EncodeChanges(state_);
    Result<std::string> merged = domain::MergeStates(*base, changes);
    ASSERT_TRUE(merged.ok()) << merged.status().ToString();
    const std::string whole = domain::EncodeState(state_);
    ASSERT_EQ(whole, *merged) << "after seq " << state_.last_seq;
    ASSERT_LE(changes.size(), whole.size());
    *base = std::move(merged).value();
    state_.changes.Restart();

    Result<std::string> cumulative = domain::MergeStates(cumulative_, changes);
    ASSERT_TRUE(cumulative.ok()) << cumulative.status().ToString();
    cumulative_ = std::move(cumulative).value();
    Result<std::string> from_first = domain::MergeStates(first_base_, cumulative_);
    ASSERT_TRUE(from_first.ok()) << from_first.status().ToString();
    ASSERT_EQ(whole, *from_first) << "from the first base, after seq " << state_.last_seq;
    Result<domain::State> decoded = DecodeOnTwoThreads(first_base_, cumulative_);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    ASSERT_TRUE(*decoded == state_) << "decoded with the changes, after seq " << state_.last_seq;
  }

  std::string first_base_;
  std::string cumulative_;  // the changes since the first base
};

TEST_P(DomainStateMergeTest, MergedChangesGiveTheWholeSnapshotIntervalAfterInterval) {
  CommandGenerator gen(GetParam(), &state_);
  std::string base = domain::EncodeState(state_);
  first_base_ = cumulative_ = base;
  state_.changes.Restart();
  int merges = 0;
  for (int i = 1; i <= 3000; ++i) {
    Advance(gen.Step());
    capnp::MallocMessageBuilder message;
    gen.Fill(message.initRoot<schema::Command>());
    Run(message.getRoot<schema::Command>().asReader()).IgnoreError();
    // Intervals of every length, down to one command and to none.
    if (i % 97 == 0 || i % 500 == 1 || i % 500 == 2) {
      MergeInto(&base);
      if (HasFatalFailure()) return;
      ++merges;
    }
  }
  MergeInto(&base);
  Result<domain::State> decoded = domain::DecodeState(base);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_TRUE(*decoded == state_);
  EXPECT_GT(merges, 30);
  EXPECT_GT(state_.balances.size(), 10u) << "the run must have moved points";
  EXPECT_GT(state_.orders.size(), 10u) << "the run must have placed orders";
}

INSTANTIATE_TEST_SUITE_P(Seeds, DomainStateMergeTest, ::testing::Values(7, 8, 20261203));

class DomainChangesTest : public DomainFixture {};

// The changes hold the entries the events touched, and no others.
TEST_F(DomainChangesTest, OnlyTouchedEntriesAreInTheChanges) {
  BuildWorld();
  Earn("O1", "V1", 60);
  state_.changes.Restart();
  ASSERT_EQ("ok", CodeOf(Redeem("T1", "RD1", "V1", "T1", 5)));
  const std::string changes = domain::EncodeChanges(state_);
  Result<domain::State> decoded = domain::DecodeState(changes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(state_.last_seq, decoded->last_seq);
  EXPECT_TRUE(decoded->members.empty());
  EXPECT_TRUE(decoded->orders.empty());
  EXPECT_EQ(1u, decoded->redemptions.size()) << "redemptions are held whole";
  ASSERT_EQ(2u, decoded->balances.size()) << "the volunteer's and the merchant's";
  EXPECT_EQ(decoded->balances.at("volunteer:V1"), state_.balances.at("volunteer:V1"));
}

TEST_F(DomainChangesTest, ACopyTracksNothingAndAMoveKeepsTracking) {
  BuildWorld();
  state_.changes.Restart();
  Earn("O1", "V1", 60);
  EXPECT_FALSE(state_.changes.Changed<domain::Balances>().empty());
  domain::State copy = state_;
  EXPECT_FALSE(copy.changes.tracking());
  EXPECT_TRUE(copy.changes.Changed<domain::Balances>().empty());
  EXPECT_TRUE(copy == state_) << "the changes are not part of the value";
  copy = state_;
  EXPECT_FALSE(copy.changes.tracking());
  const std::string expected = domain::EncodeChanges(state_);
  domain::State moved = std::move(state_);
  ASSERT_TRUE(moved.changes.tracking());
  EXPECT_EQ(expected, domain::EncodeChanges(moved)) << "the moved maps keep their entries";
  state_ = std::move(moved);
}

TEST_F(DomainChangesTest, StatesThatDoNotTrackNoteNothing) {
  BuildWorld();
  Earn("O1", "V1", 60);
  EXPECT_FALSE(state_.changes.tracking());
  EXPECT_TRUE(state_.changes.Changed<domain::Balances>().empty());
  EXPECT_TRUE(state_.changes.Changed<domain::Member>().empty());
}

// A base with two members in the wrong order, otherwise well formed.
// A snapshot at `last_seq` whose member ids and balance accounts are out of order.
std::string Unsorted(uint64_t last_seq = 0) {
  capnp::MallocMessageBuilder message;
  auto snap = message.initRoot<schema::StateSnapshot>();
  snap.setFormatVersion(domain::kStateFormatVersion);
  snap.setLastSeq(last_seq);
  auto members = snap.initMembers(2);
  members[0].setId("m2");
  members[1].setId("m1");
  auto balances = snap.initBalances(2);
  balances[0].setAccountId("b2");
  balances[1].setAccountId("b1");
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  return std::string(words.asChars().begin(), words.asChars().size());
}

TEST_F(DomainChangesTest, HostileBasesAndChangesAreCorruption) {
  BuildWorld();
  const std::string base = domain::EncodeState(state_);
  state_.changes.Restart();
  Earn("O1", "V1", 60);
  const std::string changes = domain::EncodeChanges(state_);
  ASSERT_TRUE(domain::MergeStates(base, changes).ok());
  EXPECT_TRUE(domain::MergeStates("", changes).status().IsCorruption());
  EXPECT_TRUE(domain::MergeStates(base, "garbage!").status().IsCorruption());
  EXPECT_TRUE(domain::MergeStates(Unsorted(), changes).status().IsCorruption());
  EXPECT_TRUE(domain::MergeStates(changes, base).status().IsCorruption())
      << "changes that end before their base";
  // Laid over the snapshot as it decodes, as start-up does: Corruption in each part.
  const std::string unsorted = Unsorted(state_.last_seq);
  for (const domain::StatePart part :
       {domain::StatePart::kRegistry, domain::StatePart::kActivity}) {
    const auto decode = [part](const std::string& snapshot, const std::string& laid_over) {
      domain::State decoded;
      return domain::DecodeStatePart(snapshot, laid_over, part, &decoded);
    };
    ASSERT_TRUE(decode(base, changes).ok());
    EXPECT_TRUE(decode(base, "garbage!").IsCorruption());
    EXPECT_TRUE(decode(base, unsorted).IsCorruption()) << "ids out of order in the changes";
    EXPECT_TRUE(decode(unsorted, changes).IsCorruption()) << "ids out of order in the snapshot";
    EXPECT_TRUE(decode(changes, base).IsCorruption()) << "changes that end before the snapshot";
  }
  // Flipped bytes: a result or Corruption, never a crash (the sanitizer builds run this too).
  std::mt19937_64 random(42);
  for (int i = 0; i < 2000; ++i) {
    std::string bad_base = base;
    std::string bad_changes = changes;
    std::string* bad = i % 2 == 0 ? &bad_base : &bad_changes;
    for (int flips = 1 + static_cast<int>(random() % 3); flips > 0; --flips) {
      (*bad)[random() % bad->size()] ^= static_cast<char>(1 + random() % 255);
    }
    Result<std::string> merged = domain::MergeStates(bad_base, bad_changes);
    if (!merged.ok()) {
      EXPECT_TRUE(merged.status().IsCorruption()) << merged.status().ToString();
    }
    // Decoded with the changes laid over it: a state or Corruption, and where the bytes also
    // merge, the state the merged bytes decode to. (Not always both: a merge copies each entry
    // whole, pointers the decoder does not read too.)
    Result<domain::State> decoded = DecodeOnTwoThreads(bad_base, bad_changes);
    if (!decoded.ok()) {
      EXPECT_TRUE(decoded.status().IsCorruption()) << decoded.status().ToString();
    }
    if (!decoded.ok() || !merged.ok()) continue;
    Result<domain::State> merged_decoded = domain::DecodeState(*merged);
    ASSERT_TRUE(merged_decoded.ok()) << merged_decoded.status().ToString();
    EXPECT_TRUE(*merged_decoded == *decoded) << i;
  }
}

}  // namespace
}  // namespace mulin::testing
