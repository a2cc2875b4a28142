// Projection: a fold of the event log into rows, and what a fold sees while it runs.
//
// A projection owns the rows under its key prefix in a RowStore (see engine.h for the layout). The
// engine hands it each event once, in seq order, with the postings the domain says the event
// implies (domain::Postings) already computed: no projection decides for itself what an event does
// to a balance. Apply reads and writes rows only through Rows, whose writes reach the store
// together with the projection's checkpoint, atomically.
// Thread-safety: a projection is used by one engine, on one thread, at a time.
#ifndef MULIN_PROJECTIONS_PROJECTION_H_
#define MULIN_PROJECTIONS_PROJECTION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ledger/domain/postings.h"
#include "ledger/schema/event.capnp.h"
#include "ledger/status.h"
#include "projections/row_store.h"

namespace mulin::projections {

struct EventContext {
  uint64_t seq = 0;
  schema::Event::Reader event;
  const std::vector<domain::Posting>* postings = nullptr;  // domain::Postings(event)
};

// "points", "minutes", "fen"; "unit?" for a value this build does not know.
const char* UnitName(schema::Unit unit);
// Splits "fund:xishan" into ("fund", "xishan"); an account without ':' has an empty kind.
std::string_view AccountKind(std::string_view account);
std::string_view AccountOwner(std::string_view account);

// The account on the other side of posting `index`: its pair partner when the postings come as
// zero-sum pairs (as the domain writes them), else the accounts of the opposite sign in the same
// unit joined by "+", or "" when there is none. A view of that posting's account, or of `*joined`
// where several are joined.
std::string_view Counterparty(const std::vector<domain::Posting>& postings, size_t index,
                              std::string* joined);

// A catch-up keeps the rows its fold reads and changes (not the append-only ones) across its
// batches, so that each is read from the store at most once per catch-up, up to this many bytes
// (CatchUpOptions::row_cache_bytes_max); past that it forgets them after a commit and reads again.
inline constexpr size_t kRowCacheBytesMax = 128u << 20;
// Bookkeeping of a cached row beside its key and value (its allocation, index slots, flags), for
// the limit.
inline constexpr size_t kRowCacheEntryOverheadBytes = 64;

// The rows of a catch-up in flight: what its fold has read and changed so far, and what the
// current batch will write. Shared by the projections the catch-up advances. Into a memory store
// the fold works on the store's own rows (RowStore::RowsToFoldInto): they are complete, so a row
// they do not hold does not exist, and a commit only clears the batch's bookkeeping.
struct PendingRows {
  using Entry = FoldRow;
  using Cache = FoldRows;
  explicit PendingRows(FoldRows* store_rows) : cache(store_rows != nullptr ? store_rows : &own) {}
  PendingRows(const PendingRows&) = delete;
  PendingRows& operator=(const PendingRows&) = delete;
  // `cache` is the store's rows themselves.
  bool in_place() const { return cache != &own; }

  Cache own;                              // the fold's cache of a store's rows, unless in place
  Cache* const cache;                     // full key → value as of the fold so far
  std::vector<Cache::value_type*> dirty;  // cache entries the current batch changed
  size_t batch_bytes = 0;                 // rows the current batch changed, for the batch limit
  size_t cache_bytes = 0;                 // for kRowCacheBytesMax (not counted in place)
  // The cache was last emptied after the batch that ended at this seq (0: never): a row changed
  // by an event up to it may be in the store only. Rows changed after it are all in the cache.
  uint64_t emptied_at = 0;
};

// The rows of one projection during a fold. Reads see the fold's own earlier writes.
class Rows {
 public:
  // `started_at`: the projection's checkpoint when the catch-up began. The store holds only what
  // events up to it wrote (none when it is 0).
  Rows(std::string prefix, const RowStore* store, PendingRows* pending, uint64_t started_at)
      : prefix_size_(prefix.size()),
        key_(std::move(prefix)),
        store_(store),
        pending_(pending),
        started_at_(started_at) {}
  // The row's value as the batch will write it ("" when the row does not exist). The caller
  // leaves a valid row value in it; a row left empty is not written. Valid until the batch
  // commits. One lookup serves the read and the write of a counter or running balance.
  // `first_seq`: no event before it writes this row (a page of the seqs from it on). When every
  // event that could have written it came after the checkpoint and the cache was not emptied
  // since, a row the cache does not hold does not exist, and the store is not asked.
  Result<std::string*> Mutable(std::string_view row_key, uint64_t first_seq = 1);

 private:
  const std::string& FullKey(std::string_view row_key);
  size_t prefix_size_;
  // Reused to build full keys without an allocation per call; it always starts with the prefix.
  std::string key_;
  const RowStore* store_;
  PendingRows* pending_;
  uint64_t started_at_;
};

class Projection {
 public:
  virtual ~Projection() = default;
  // The projection's stable name: its key prefix, and how commands and reports name it.
  virtual std::string_view name() const = 0;
  // Folds one event into the rows. An error (a stored row that does not decode, I/O) stops the
  // catch-up with nothing of the batch written.
  virtual Status Apply(const EventContext& context, Rows* rows) = 0;
  // One row in words, for difference reports: its subject ("volunteer:V0001 points") and its
  // value ("120 points, 7 postings, last seq 42"). Must not fail on bytes that do not decode.
  virtual std::string DescribeKey(std::string_view row_key) const = 0;
  virtual std::string DescribeValue(std::string_view row_key, std::string_view value) const = 0;
  // Two values of one row that differ, in words (expected, found); a projection whose rows hold
  // many records narrows it to the first record that differs.
  virtual std::pair<std::string, std::string> DescribeDifference(std::string_view row_key,
                                                                 std::string_view expected,
                                                                 std::string_view found) const {
    return {DescribeValue(row_key, expected), DescribeValue(row_key, found)};
  }
};

}  // namespace mulin::projections

#endif  // MULIN_PROJECTIONS_PROJECTION_H_
