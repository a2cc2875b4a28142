// The projection engine tests' fixture: a ledger of random rule-abiding events, and a row store
// that counts reads and fails a chosen commit.
#ifndef MULIN_TESTS_PROJECTIONS_ENGINE_FIXTURE_H_
#define MULIN_TESTS_PROJECTIONS_ENGINE_FIXTURE_H_

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "projections/engine.h"
#include "projections/standard.h"
#include "tests/projections/ledger_fixture.h"
#include "tests/projections/random_stream.h"
#include "tests/support/temp_dir.h"

namespace mulin::projections {

class ProjectionEngineTest : public ::testing::Test {
 protected:
  void SetUp() override { ledger_.Open(); }

  // Appends `rounds` random chunks, catching the stored projections up after each.
  void GrowIncrementally(testing::RandomStream* stream, int rounds, size_t batch_events_max) {
    Engine engine(ledger_.rows(), standard_.All());
    std::mt19937_64 rng(99);
    for (int round = 0; round < rounds; ++round) {
      ledger_.Append(stream->Next(std::uniform_int_distribution<size_t>(1, 700)(rng)));
      CatchUpOptions options;
      options.batch_events_max = batch_events_max;
      auto stats = engine.CatchUp(*ledger_.log(), options);
      ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    }
  }

  // The stored projections equal every projection rebuilt from seq 1 in scratch memory.
  void ExpectStoredRowsEqualARebuild() {
    MemoryRowStore scratch;
    StandardProjections rebuilt;
    ASSERT_TRUE(Engine(&scratch, rebuilt.All()).CatchUp(*ledger_.log(), CatchUpOptions()).ok());
    const testing::RowMap expected = testing::DumpRows(scratch);
    const testing::RowMap found = testing::DumpRows(*ledger_.rows());
    EXPECT_TRUE(expected == found) << testing::FirstDifference(expected, found);
  }

  testing::TempDir dir_;
  testing::LedgerFixture ledger_{dir_.path()};
  StandardProjections standard_;
};

// Passes everything to `target`, counting the rows read by key, except the `fail_at`-th commit
// (none when 0), which fails as a full disk would.
class FailingRowStore final : public RowStore {
 public:
  FailingRowStore(RowStore* target, int fail_at) : target_(target), fail_at_(fail_at) {}
  Result<bool> Get(const std::string& key, std::string* value) const override {
    ++reads_[key];
    return target_->Get(key, value);
  }
  std::unique_ptr<RowIterator> NewIterator() const override { return target_->NewIterator(); }
  Status Commit(RowBatch batch) override {
    if (++commits_ == fail_at_) return Status::IoError("no space left on device (test)");
    return target_->Commit(std::move(batch));
  }
  bool CommitsBesideReads() const override { return target_->CommitsBesideReads(); }
  int commits() const { return commits_; }
  const std::map<std::string, int>& reads() const { return reads_; }

 private:
  RowStore* target_;
  int fail_at_;
  std::atomic<int> commits_{0};
  mutable std::map<std::string, int> reads_;  // Get is called from the folding thread only
};

}  // namespace mulin::projections

#endif  // MULIN_TESTS_PROJECTIONS_ENGINE_FIXTURE_H_
