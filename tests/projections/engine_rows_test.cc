// Goal: what the engine keeps in its row cache, and what it does not look up, never changes what
// it folds: a cache forgotten at every batch, rows kept from one catch-up to the next (read once,
// forgotten after a failure or a drop), and pages that start past the checkpoint all fold to the
// rows a rebuild from seq 1 makes.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "projections/audit_trail.h"
#include "projections/engine.h"
#include "projections/fund_statement.h"
#include "projections/standard.h"
#include "tests/projections/engine_fixture.h"

namespace mulin::projections {
namespace {

using testing::RandomStream;

TEST_F(ProjectionEngineTest, ForgettingTheRowCacheBetweenBatchesChangesNothing) {
  RandomStream stream(13);
  ledger_.Append(stream.Next(3000));
  CatchUpOptions forgetful;
  forgetful.batch_events_max = 50;
  forgetful.row_cache_bytes_max = 0;  // every commit empties the cache: rows are read back
  auto stats = Engine(ledger_.rows(), standard_.All()).CatchUp(*ledger_.log(), forgetful);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  ExpectStoredRowsEqualARebuild();
}

// A follower's engine keeps the rows it read from one catch-up to the next, so each row is read
// from the store once however often it catches up, and the result is the same.
TEST_F(ProjectionEngineTest, KeptRowsAreReadOnceAcrossCatchUps) {
  RandomStream stream(21);
  ledger_.Append(stream.Next(1500));
  // Stored rows to read: a first engine folds the start (an engine that starts empty reads none).
  ASSERT_TRUE(Engine(ledger_.rows(), standard_.All()).CatchUp(*ledger_.log(), {}).ok());
  FailingRowStore counted(ledger_.rows(), /*fail_at=*/0);
  Engine engine(&counted, standard_.All());
  engine.KeepRowsBetweenCatchUps();
  for (int round = 0; round < 12; ++round) {
    ledger_.Append(stream.Next(150));
    ASSERT_TRUE(engine.CatchUp(*ledger_.log(), {}).ok());
  }
  std::map<std::string, int> row_reads = counted.reads();
  for (Projection* projection : standard_.All()) {
    row_reads.erase(CheckpointKey(projection->name()));  // read by every catch-up, as it must be
  }
  ASSERT_GT(row_reads.size(), 100u) << "too few rows read for the test to prove anything";
  for (const auto& [key, reads] : row_reads) {
    ASSERT_EQ(1, reads) << "row read again by a later catch-up: " << testing::PrintableKey(key);
  }
  ExpectStoredRowsEqualARebuild();
}

// Kept rows may hold part of a batch that failed to land: the next catch-up must read the store.
TEST_F(ProjectionEngineTest, KeptRowsAreForgottenWhenACatchUpFails) {
  RandomStream stream(22);
  ledger_.Append(stream.Next(3000));
  FailingRowStore failing(ledger_.rows(), /*fail_at=*/7);
  Engine engine(&failing, standard_.All());
  engine.KeepRowsBetweenCatchUps();
  CatchUpOptions options;
  options.batch_events_max = 100;
  options.to_seq = 500;
  ASSERT_TRUE(engine.CatchUp(*ledger_.log(), options).ok());
  options.to_seq = 0;
  EXPECT_EQ(Code::kIoError, engine.CatchUp(*ledger_.log(), options).status().code());
  auto retried = engine.CatchUp(*ledger_.log(), options);
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  ExpectStoredRowsEqualARebuild();
}

// Drop empties a projection in the store; kept rows of it would be folded into its rebuild.
TEST_F(ProjectionEngineTest, KeptRowsAreForgottenOnDrop) {
  RandomStream stream(23);
  ledger_.Append(stream.Next(2000));
  Engine engine(ledger_.rows(), standard_.All());
  engine.KeepRowsBetweenCatchUps();
  ASSERT_TRUE(engine.CatchUp(*ledger_.log(), {}).ok());
  ASSERT_TRUE(engine.Drop(kBalancesName).ok());
  ASSERT_TRUE(engine.CatchUp(*ledger_.log(), {}).ok());
  ExpectStoredRowsEqualARebuild();
}

// A page holds the postings of the seqs from its first on: one that starts after the checkpoint
// cannot be stored yet, and is not looked up.
TEST_F(ProjectionEngineTest, PagesOfSeqsPastTheCheckpointAreNotLookedUp) {
  RandomStream stream(24);
  ledger_.Append(stream.Next(5000));
  constexpr uint64_t kCheckpoint = 1500;
  CatchUpOptions first;
  first.to_seq = kCheckpoint;
  ASSERT_TRUE(Engine(ledger_.rows(), standard_.All()).CatchUp(*ledger_.log(), first).ok());
  FailingRowStore counted(ledger_.rows(), /*fail_at=*/0);
  CatchUpOptions rest;
  rest.batch_events_max = 300;
  ASSERT_TRUE(Engine(&counted, standard_.All()).CatchUp(*ledger_.log(), rest).ok());
  int page_reads = 0;
  for (const auto& [key, reads] : counted.reads()) {
    for (std::string_view name : {kAuditName, kFundName}) {
      if (key.rfind(RowPrefix(name) + 'p', 0) != 0) continue;
      ++page_reads;
      uint64_t page = 0;  // the key's last 8 bytes, big-endian (AppendKeyU64)
      for (size_t i = key.size() - 8; i < key.size(); ++i) {
        page = page << 8 | static_cast<unsigned char>(key[i]);
      }
      const uint64_t page_events = name == kAuditName ? kAuditPageEvents : kFundPageEvents;
      EXPECT_LE(page * page_events, kCheckpoint) << testing::PrintableKey(key);
    }
  }
  EXPECT_GT(page_reads, 0) << "no page read at all: the test would prove nothing";
  ExpectStoredRowsEqualARebuild();
}

// Stored rows carry no format version: a ledger's rows must read the same after an upgrade, so a
// change to the bytes a fold writes has to be deliberate. These are the rows a fixed stream folds
// to, per projection: how many, and XXH3-64 of each key and value with their lengths, in key
// order. A fold made faster must leave them as they are.
TEST_F(ProjectionEngineTest, AFixedStreamFoldsToTheSameRowBytesAsBefore) {
  RandomStream stream(7);
  ledger_.Append(stream.Next(20000));
  MemoryRowStore scratch;
  StandardProjections projections;
  ASSERT_TRUE(Engine(&scratch, projections.All()).CatchUp(*ledger_.log(), {}).ok());
  const std::map<std::string_view, std::pair<size_t, uint64_t>> expected = {
      {kAuditName, {1467, 0x738b81da40635507}},
      {kBalancesName, {209, 0x0cb5f34c12a62795}},
      {kFundName, {63, 0x637273745a76c07b}},
      {kOrdersName, {3851, 0x6cb572710b69ba8d}},
  };
  ASSERT_EQ(expected.size(), projections.All().size());
  for (Projection* projection : projections.All()) {
    const testing::RowMap rows = testing::DumpRows(scratch, RowPrefix(projection->name()));
    XXH3_state_t* state = XXH3_createState();
    ASSERT_EQ(XXH_OK, XXH3_64bits_reset(state));
    for (const auto& [key, value] : rows) {
      for (std::string_view piece : {std::string_view(key), std::string_view(value)}) {
        const uint64_t size = piece.size();
        XXH3_64bits_update(state, &size, sizeof(size));
        XXH3_64bits_update(state, piece.data(), piece.size());
      }
    }
    const std::pair<size_t, uint64_t> found(rows.size(), XXH3_64bits_digest(state));
    XXH3_freeState(state);
    EXPECT_EQ(expected.at(projection->name()), found)
        << projection->name() << ": " << found.first << " rows, digest 0x" << std::hex
        << found.second;
  }
}

}  // namespace
}  // namespace mulin::projections
