// Goal: the row stores behave alike — sorted iteration, atomic commits with drops — an overlay
// shows its writes over an untouched base, a read-only store refuses writes, and scratch space
// disappears with its owner.
#include "projections/row_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/projections/ledger_fixture.h"
#include "tests/support/temp_dir.h"

namespace mulin::projections {
namespace {

using testing::DumpRows;
using testing::RowMap;

void Put(RowStore* store, std::vector<std::pair<std::string, std::string>> puts,
         std::vector<std::string> drops = {}) {
  RowBatch batch;
  batch.puts = std::move(puts);
  batch.drop_prefixes = std::move(drops);
  Status s = store->Commit(batch);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

TEST(ProjectionRowStoreTest, OverlayShowsItsWritesOverAnUntouchedBase) {
  MemoryRowStore base;
  Put(&base, {{"a", "1"}, {"b", "2"}, {"c", "3"}});
  OverlayRowStore overlay(&base);
  Put(&overlay, {{"b", "20"}, {"d", "40"}, {"0", "0"}});
  EXPECT_EQ((RowMap{{"0", "0"}, {"a", "1"}, {"b", "20"}, {"c", "3"}, {"d", "40"}}),
            DumpRows(overlay));
  EXPECT_EQ((RowMap{{"a", "1"}, {"b", "2"}, {"c", "3"}}), DumpRows(base));
  std::string value;
  EXPECT_TRUE(*overlay.Get("a", &value));
  EXPECT_EQ("1", value);
  EXPECT_TRUE(*overlay.Get("b", &value));
  EXPECT_EQ("20", value);
  EXPECT_FALSE(*overlay.Get("e", &value));
  auto it = overlay.NewIterator();
  it->Seek("b");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("b", it->key());
  it->Next();
  EXPECT_EQ("c", it->key());
  RowBatch drop;
  drop.drop_prefixes.push_back("a");
  EXPECT_EQ(Code::kInvalidArgument, overlay.Commit(drop).code());
}

TEST(ProjectionRowStoreTest, DropsComeBeforePutsInOneCommit) {
  testing::TempDir dir;
  auto scratch = ScratchDb::Create(dir.path());
  ASSERT_TRUE(scratch.ok()) << scratch.status().ToString();
  MemoryRowStore memory;
  for (RowStore* store : {static_cast<RowStore*>(&memory), (*scratch)->rows()}) {
    Put(store, {{"x\x01"
                 "1",
                 "a"},
                {"x\x01"
                 "2",
                 "b"},
                {"y\x01"
                 "1",
                 "c"},
                {"x\xff", "d"}});
    Put(store,
        {{"x\x01"
          "3",
          "e"}},
        {"x\x01"});
    EXPECT_EQ((RowMap{{"x\x01"
                       "3",
                       "e"},
                      {"x\xff", "d"},
                      {"y\x01"
                       "1",
                       "c"}}),
              DumpRows(*store));
    EXPECT_EQ((RowMap{{"y\x01"
                       "1",
                       "c"}}),
              DumpRows(*store, "y"));
  }
}

TEST(ProjectionRowStoreTest, ScratchSpaceIsRemovedWithItsOwner) {
  testing::TempDir dir;
  std::string path;
  {
    auto scratch = ScratchDb::Create(dir.path());
    ASSERT_TRUE(scratch.ok());
    path = (*scratch)->dir();
    Put((*scratch)->rows(), {{"k", "v"}});
    EXPECT_TRUE(std::filesystem::exists(path));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(ScratchDb::Create(dir.Sub("no/such/parent")).ok());
}

TEST(ProjectionRowStoreTest, ReadOnlyLedgerRowsRefuseWrites) {
  testing::TempDir dir;
  testing::LedgerFixture ledger(dir.path());
  ledger.Open();
  Put(ledger.rows(), {{"k", "v"}});
  ledger.Close();
  ledger.Open(/*read_only=*/true);
  EXPECT_EQ((RowMap{{"k", "v"}}), DumpRows(*ledger.rows()));
  RowBatch batch;
  batch.puts.emplace_back("k", "w");
  EXPECT_FALSE(ledger.rows()->Commit(batch).ok());
}

}  // namespace
}  // namespace mulin::projections
