// Audit trail: for every account, each posting with its seq, time, event kind, counterparty and
// the account's running balance in that unit after it.
//
//   row_key := 'p' account: key string  page: key u64   → page   (page = seq / kAuditPageEvents)
//            | 't' account: key string  unit: u8        → tip
//   page    := entry+                                  (in seq, then index, order)
//   entry   := seq: u64  index: u32  unit: u8  time_us: i64  kind: u32 (schema::Event::Body::Which)
//              delta: i64  balance: i64  counterparty: str
//   tip     := balance: i64  entries: u64           (the running balance after the last entry)
// `index` is the posting's position in domain::Postings(event). An account's postings within
// kAuditPageEvents consecutive seqs share one row: a busy account (a community's issuance, a
// merchant) then costs one row write per batch, not one per posting, and pages follow seqs, not
// batches, so any batching folds to the same rows. A history reads an account's pages in order.
//
// Thread-safety: see projection.h; the Scan functions are safe from any thread.
#ifndef MULIN_PROJECTIONS_AUDIT_TRAIL_H_
#define MULIN_PROJECTIONS_AUDIT_TRAIL_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>

#include "projections/projection.h"

namespace mulin::projections {

inline constexpr std::string_view kAuditName = "audit";
// Seqs per page. It bounds a page to the postings of one account in this many events (a page is
// rewritten whole when it grows), and sets how many postings of a busy account share a row.
inline constexpr uint64_t kAuditPageEvents = 1024;
inline constexpr int64_t kTimeMin = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kTimeMax = std::numeric_limits<int64_t>::max();

struct AuditEntry {
  std::string account;
  uint64_t seq = 0;
  uint32_t index = 0;  // position among the event's postings
  schema::Unit unit = schema::Unit::POINTS;
  int64_t time_us = 0;  // the event's recordedAtUs
  schema::Event::Body::Which kind = schema::Event::Body::COMMUNITY_REGISTERED;
  int64_t delta = 0;    // in `unit`
  int64_t balance = 0;  // the account's balance in `unit` after this posting
  std::string counterparty;
};

class AuditTrailProjection final : public Projection {
 public:
  std::string_view name() const override { return kAuditName; }
  Status Apply(const EventContext& context, Rows* rows) override;
  std::string DescribeKey(std::string_view row_key) const override;
  std::string DescribeValue(std::string_view row_key, std::string_view value) const override;
  std::pair<std::string, std::string> DescribeDifference(std::string_view row_key,
                                                         std::string_view expected,
                                                         std::string_view found) const override;

 private:
  std::string key_;  // the row key being built, reused across postings
  // The entry being appended and the counterparties being joined: their strings' buffers are
  // reused across postings.
  AuditEntry entry_;
  std::string joined_;
};

// Visits the entries of `account` recorded in [from_us, to_us), in seq order, until `visit`
// returns false. A row that does not decode stops the scan with kCorruption.
Status ScanAuditTrail(const RowStore& store, std::string_view account, int64_t from_us,
                      int64_t to_us, const std::function<bool(const AuditEntry&)>& visit);

// Visits every entry of every account, in key order.
Status ScanAllAuditEntries(const RowStore& store,
                           const std::function<bool(const AuditEntry&)>& visit);

}  // namespace mulin::projections

#endif  // MULIN_PROJECTIONS_AUDIT_TRAIL_H_
