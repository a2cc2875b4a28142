// SortByKey and SortEntriesByKey against std::string's order, on keys chosen to reach every branch
// of the comparison: ties in the first one, two and three words, keys past 24 bytes, keys that
// are prefixes of others, zero bytes and bytes over 0x7f.
#include "ledger/key_order.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mulin::ledger {
namespace {

// `n` keys from a few shared prefixes of 0 to 30 bytes and random tails of 0 to 12 bytes over an
// alphabet that includes '\0' and '\xff', with duplicates.
std::vector<std::string> TrickyKeys(size_t n, uint32_t seed) {
  std::mt19937 random(seed);
  const std::string alphabet(
      "\0\x01"
      "09AZaz:\x7f\x80\xff",
      12);
  std::vector<std::string> prefixes;
  for (size_t length : {0, 1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 30}) {
    std::string prefix;
    for (size_t i = 0; i < length; ++i) prefix += alphabet[random() % alphabet.size()];
    prefixes.push_back(prefix);
  }
  std::vector<std::string> keys;
  for (size_t i = 0; i < n; ++i) {
    std::string key = prefixes[random() % prefixes.size()];
    const size_t tail = random() % 13;
    for (size_t j = 0; j < tail; ++j) key += alphabet[random() % alphabet.size()];
    keys.push_back(key);
  }
  for (size_t i = 0; i < n / 10; ++i) keys.push_back(keys[random() % keys.size()]);
  return keys;
}

TEST(KeyOrderTest, SortByKeyOrdersAsStdString) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::vector<std::string> keys = TrickyKeys(2000, seed);
    std::vector<const std::string*> items;
    for (const std::string& key : keys) items.push_back(&key);
    SortByKey(&items, [](const std::string* key) { return std::string_view(*key); });

    std::vector<std::string> expected = keys;
    std::sort(expected.begin(), expected.end());
    ASSERT_EQ(items.size(), expected.size());
    for (size_t i = 0; i < items.size(); ++i) ASSERT_EQ(*items[i], expected[i]) << "seed " << seed;
  }
}

TEST(KeyOrderTest, SortByKeySortsIndexesAndEmptyInput) {
  std::vector<std::string> keys = {"volunteer:W100001", "volunteer:W100000", "a", "",
                                   "volunteer:W10000"};
  std::vector<uint32_t> order = {0, 1, 2, 3, 4};
  SortByKey(&order, [&keys](uint32_t i) { return std::string_view(keys[i]); });
  EXPECT_EQ(order, (std::vector<uint32_t>{3, 2, 4, 1, 0}));

  std::vector<uint32_t> none;
  SortByKey(&none, [&keys](uint32_t i) { return std::string_view(keys[i]); });
  EXPECT_TRUE(none.empty());
}

TEST(KeyOrderTest, SortEntriesByKeyVisitsEachEntryOnceAndOrdersThem) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::unordered_map<std::string, int> map;
    for (const std::string& key : TrickyKeys(1000 + seed, seed)) map.emplace(key, seed);
    size_t visits = 0;
    int64_t sum = 0;
    const auto sorted = SortEntriesByKey(map, [&](const auto& entry) {
      ++visits;
      sum += entry.second;
    });
    EXPECT_EQ(visits, map.size());
    EXPECT_EQ(sum, static_cast<int64_t>(map.size()) * seed);

    std::vector<std::string> expected;
    for (const auto& entry : map) expected.push_back(entry.first);
    std::sort(expected.begin(), expected.end());
    ASSERT_EQ(sorted.size(), expected.size());
    for (size_t i = 0; i < sorted.size(); ++i) {
      ASSERT_EQ(sorted[i]->first, expected[i]) << "seed " << seed;
      ASSERT_EQ(sorted[i], &*map.find(expected[i])) << "an entry of the map itself";
    }
  }
}

TEST(KeyOrderTest, SortEntriesByKeyHandlesMapsSmallerThanItsLag) {
  for (size_t n = 0; n <= 10; ++n) {
    std::unordered_map<std::string, int> map;
    for (size_t i = 0; i < n; ++i) map.emplace("member-with-a-long-id-" + std::to_string(n - i), 0);
    const auto sorted = SortEntriesByKey(map, [](const auto&) {});
    ASSERT_EQ(sorted.size(), n);
    for (size_t i = 1; i < n; ++i) EXPECT_LT(sorted[i - 1]->first, sorted[i]->first);
  }
}

}  // namespace
}  // namespace mulin::ledger
