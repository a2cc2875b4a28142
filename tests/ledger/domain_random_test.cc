// Goal: under thousands of seeded random commands of every kind, valid and invalid (and some
// with damaged bytes), Decide never crashes or mutates the state, every invariant holds after
// every command, and replaying the produced events from scratch rebuilds the live state exactly.
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <limits>
#include <map>
#include <random>
#include <set>

#include "tests/support/domain_fixture.h"
#include "tests/support/domain_generator.h"

namespace mulin::testing {
namespace {

constexpr int kCommandsPerSeed = 5000;

class DomainRandomTest : public DomainFixture, public ::testing::WithParamInterface<uint64_t> {
 protected:
  // Each unit sums to zero over all accounts; constrained accounts are >= 0; service minutes
  // never decrease.
  void CheckInvariants() {
    __int128 sums[domain::kUnitCount] = {0, 0, 0};
    for (const auto& [account, balances] : state_.balances) {
      for (size_t unit = 0; unit < domain::kUnitCount; ++unit) {
        sums[unit] += balances[unit];
        if (domain::MustStayNonNegative(account, static_cast<Unit>(unit))) {
          ASSERT_GE(balances[unit], 0) << account;
        }
      }
      if (account.rfind("volunteer:", 0) == 0) {
        const int64_t minutes = balances[static_cast<size_t>(Unit::MINUTES)];
        ASSERT_GE(minutes, minutes_seen_[account]) << account;
        minutes_seen_[account] = minutes;
      }
    }
    for (size_t unit = 0; unit < domain::kUnitCount; ++unit) ASSERT_TRUE(sums[unit] == 0) << unit;
  }

  // Runs the command after flipping a few of its bytes; only a crash or a broken invariant fails.
  void RunDamaged(capnp::MallocMessageBuilder& message, CommandGenerator* gen) {
    kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
    auto bytes = words.asBytes();
    for (int flips = 1 + static_cast<int>(gen->Below(3)); flips > 0; --flips) {
      bytes[gen->Below(bytes.size())] ^= static_cast<capnp::byte>(1 + gen->Below(255));
    }
    capnp::ReaderOptions options;
    options.traversalLimitInWords = 4 * words.size() + 64;
    options.nestingLimit = 16;
    KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
                   capnp::FlatArrayMessageReader reader(words, options);
                   Run(reader.getRoot<schema::Command>()).IgnoreError();
                 })) {
      ++unreadable_;  // the segment table or root itself did not decode: nothing to decide
    }
  }

  std::map<std::string, int64_t> minutes_seen_;
  int unreadable_ = 0;
};

TEST_P(DomainRandomTest, InvariantsHoldAndReplayRebuildsTheState) {
  CommandGenerator gen(GetParam(), &state_);
  std::map<std::string, int> codes;
  std::set<std::string> kinds;
  for (int i = 0; i < kCommandsPerSeed; ++i) {
    Advance(gen.Step());
    capnp::MallocMessageBuilder message;
    gen.Fill(message.initRoot<schema::Command>());
    if (gen.Chance(4)) {
      RunDamaged(message, &gen);
    } else {
      ++codes[CodeOf(Run(message.getRoot<schema::Command>().asReader()))];
      for (const std::string& kind : LastKinds()) kinds.insert(kind);
    }
    CheckInvariants();
    if (HasFatalFailure()) return;
  }
  ASSERT_EQ(log_.size(), state_.last_seq);
  EXPECT_TRUE(Replay() == state_) << "replaying every event must rebuild the live state";
  const std::string bytes = domain::EncodeState(state_);
  EXPECT_EQ(1u, SnapshotSegments(bytes)) << "the state outgrew EncodeState's bound";
  Result<domain::State> decoded = domain::DecodeState(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(*decoded == state_);
  // The run must have exercised the domain, not only its rejections.
  EXPECT_GT(codes["ok"], kCommandsPerSeed / 5);
  EXPECT_GE(codes.size(), 25u) << "too few distinct rejection codes were exercised";
  EXPECT_GE(kinds.size(), 24u) << "too few event kinds were produced";
}

INSTANTIATE_TEST_SUITE_P(Seeds, DomainRandomTest, ::testing::Values(1, 2, 3, 20231114));

}  // namespace
}  // namespace mulin::testing
