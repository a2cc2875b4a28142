#include "projections/projection.h"

#include <algorithm>

namespace mulin::projections {
namespace {

// True when the postings are consecutive zero-sum pairs in one unit: (0,1), (2,3), ...
bool ComesInPairs(const std::vector<domain::Posting>& postings) {
  if (postings.size() % 2 != 0) return false;
  for (size_t i = 0; i < postings.size(); i += 2) {
    const domain::Posting& a = postings[i];
    const domain::Posting& b = postings[i + 1];
    // INT64_MIN has no negation: no int64 pairs with it to zero (and -INT64_MIN is undefined).
    if (a.unit != b.unit || b.delta == INT64_MIN || a.delta != -b.delta) return false;
  }
  return true;
}

}  // namespace

const char* UnitName(schema::Unit unit) {
  switch (unit) {
    case schema::Unit::POINTS:
      return "points";
    case schema::Unit::MINUTES:
      return "minutes";
    case schema::Unit::FEN:
      return "fen";
  }
  return "unit?";
}

std::string_view AccountKind(std::string_view account) {
  const size_t colon = account.find(':');
  return colon == std::string_view::npos ? std::string_view() : account.substr(0, colon);
}

std::string_view AccountOwner(std::string_view account) {
  const size_t colon = account.find(':');
  return colon == std::string_view::npos ? account : account.substr(colon + 1);
}

std::string_view Counterparty(const std::vector<domain::Posting>& postings, size_t index,
                              std::string* joined) {
  if (ComesInPairs(postings)) return postings[index ^ 1].account;
  const domain::Posting& self = postings[index];
  std::string& out = *joined;
  out.clear();
  for (size_t i = 0; i < postings.size(); ++i) {
    const domain::Posting& other = postings[i];
    const bool opposite = (self.delta < 0) != (other.delta < 0);
    if (i == index || other.unit != self.unit || !opposite || other.account == self.account) {
      continue;
    }
    // Several postings may name the same counterparty; list it once.
    const std::string listed = "+" + out + "+";
    if (listed.find("+" + other.account + "+") != std::string::npos) continue;
    if (!out.empty()) out += "+";
    out += other.account;
  }
  return out;
}

const std::string& Rows::FullKey(std::string_view row_key) {
  key_.erase(prefix_size_);
  key_.append(row_key);
  return key_;
}

Result<std::string*> Rows::Mutable(std::string_view row_key, uint64_t first_seq) {
  const std::string& key = FullKey(row_key);
  PendingRows::Cache& cache = *pending_->cache;
  PendingRows::Cache::value_type* row = cache.Find(key);
  if (row == nullptr) {
    std::string value;
    if (!pending_->in_place() && first_seq <= std::max(started_at_, pending_->emptied_at)) {
      Result<bool> found = store_->Get(key, &value);
      if (!found.ok()) return found.status();
    }
    if (!pending_->in_place()) {
      pending_->cache_bytes += key.size() + value.size() + kRowCacheEntryOverheadBytes;
    }
    const size_t counted = value.size();
    row = cache.Insert(key, PendingRows::Entry{std::move(value), false, counted});
  }
  if (!row->second.dirty) {
    row->second.dirty = true;
    pending_->dirty.push_back(row);
    pending_->batch_bytes += key.size() + row->second.value.size();
  }
  return &row->second.value;
}

}  // namespace mulin::projections
