// Goal: FoldRows finds exactly the rows a std::map model holds through any mix of inserts, erases
// (which shift later rows of a probe run back), prefix erases, growth and clears, and a row's
// address never changes while it is in the map.
#include "projections/fold_rows.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

namespace mulin::projections {
namespace {

// Each key the map should hold, and the address its row was given.
using Model = std::map<std::string, const FoldRows::value_type*, std::less<>>;

// Keys of a few prefixes, as projections' full keys are, from a small space so that look-ups hit,
// erases find rows, and probe runs form.
std::string RandomKey(std::mt19937_64* rng) {
  static const char* const kPrefixes[] = {"balances/", "audit/", "fund/", "orders/"};
  const uint64_t r = (*rng)();
  return std::string(kPrefixes[r % 4]) + "volunteer:V" + std::to_string((r >> 8) % 3000);
}

// Adds `key` with the value ExpectSame checks, to the map and to the model.
void Add(FoldRows* rows, Model* model, const std::string& key) {
  (*model)[key] = rows->Insert(key, FoldRow{"v:" + key, false, 0});
}

// Every row of the model is found at the address it was given, and nothing else is in the map.
void ExpectSame(const FoldRows& rows, const Model& model) {
  ASSERT_EQ(model.size(), rows.size());
  for (const auto& [key, address] : model) {
    const FoldRows::value_type* found = rows.Find(key);
    ASSERT_EQ(address, found) << key;
    ASSERT_EQ(key, found->first);
    ASSERT_EQ("v:" + key, found->second.value);
  }
  size_t visited = 0;
  rows.ForEach([&](const FoldRows::value_type& row) {
    ++visited;
    EXPECT_EQ(1u, model.count(row.first)) << row.first;
  });
  EXPECT_EQ(model.size(), visited);
}

TEST(FoldRowsTest, AgreesWithAModelThroughInsertsErasesAndGrowth) {
  std::mt19937_64 rng(20261129);
  FoldRows rows;
  Model model;
  for (int step = 0; step < 200000; ++step) {
    const std::string key = RandomKey(&rng);
    const uint64_t op = rng() % 10;
    FoldRows::value_type* found = rows.Find(key);
    ASSERT_EQ(model.count(key) == 1, found != nullptr) << key;
    if (op < 6) {  // insert when absent, else change the value in place
      if (found == nullptr) {
        Add(&rows, &model, key);
      } else {
        found->second.dirty = !found->second.dirty;
      }
    } else if (op < 9) {
      if (found != nullptr) {
        rows.Erase(found);
        model.erase(key);
      }
    } else {
      FoldRows::value_type* row = rows.FindOrInsert(key);
      if (found != nullptr) {
        ASSERT_EQ(found, row) << "an existing row is found, not added";
      } else {
        ASSERT_NE(nullptr, row);
        EXPECT_EQ("", row->second.value);
        row->second.value = "v:" + key;
        model[key] = row;
      }
    }
    if (step % 20000 == 0) ExpectSame(rows, model);
  }
  ExpectSame(rows, model);
}

TEST(FoldRowsTest, ErasesAPrefixAndNothingElse) {
  std::mt19937_64 rng(7);
  FoldRows rows;
  Model model;
  for (int i = 0; i < 20000; ++i) {
    const std::string key = RandomKey(&rng);
    if (rows.Find(key) == nullptr) Add(&rows, &model, key);
  }
  rows.ErasePrefix("audit/");
  for (auto it = model.begin(); it != model.end();) {
    it = it->first.rfind("audit/", 0) == 0 ? model.erase(it) : std::next(it);
  }
  ExpectSame(rows, model);
  rows.ErasePrefix("");
  EXPECT_EQ(0u, rows.size());
  EXPECT_EQ(nullptr, rows.Find("balances/volunteer:V1"));
}

TEST(FoldRowsTest, IsEmptyAfterClearAndUsableAgain) {
  FoldRows rows;
  EXPECT_EQ(nullptr, rows.Find("a"));
  for (int i = 0; i < 1000; ++i) rows.Insert("k" + std::to_string(i), FoldRow{"v", false, 0});
  rows.clear();
  EXPECT_EQ(0u, rows.size());
  EXPECT_EQ(nullptr, rows.Find("k1"));
  FoldRows::value_type* row = rows.Insert("k1", FoldRow{"again", false, 0});
  EXPECT_EQ(row, rows.Find("k1"));
  EXPECT_EQ("again", row->second.value);
}

}  // namespace
}  // namespace mulin::projections
