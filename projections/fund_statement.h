// Fund statement: every movement of each community's fund, in seq order, with what caused it;
// and the statement of a period built from those rows.
//
//   row_key := 'p' community: key string  page: key u64  → page  (page = seq / kFundPageEvents)
//            | 't' community: key string                → tip
//   page    := entry+                                      (in seq, then index, order)
//   entry   := seq: u64  index: u32  time_us: i64  kind: u32 (schema::Event::Body::Which)
//              delta_fen: i64  balance_fen: i64  counterparty: str  reference: str  gross_fen: i64
//   tip     := balance_fen: i64  entries: u64          (the balance after the last entry)
// A community's movements within kFundPageEvents consecutive seqs share one row (see the audit
// trail's pages for why).
// A movement is a posting to account fund:<community> in fen (domain::Postings). reference: the
// sale id of sales and their reversals, the payout id of payouts, the reason of adjustments, else
// "". gross_fen: the gross amount of a sale or reversed sale, else 0.
//
// Thread-safety: see projection.h; BuildFundStatement is safe from any thread.
#ifndef MULIN_PROJECTIONS_FUND_STATEMENT_H_
#define MULIN_PROJECTIONS_FUND_STATEMENT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "projections/audit_trail.h"
#include "projections/projection.h"

namespace mulin::projections {

inline constexpr std::string_view kFundName = "fund";
// Seqs per page: a page holds one community's fund movements in this many events.
inline constexpr uint64_t kFundPageEvents = 1024;

struct FundEntry {
  uint64_t seq = 0;
  uint32_t index = 0;
  int64_t time_us = 0;
  schema::Event::Body::Which kind = schema::Event::Body::SALE_RECORDED;
  int64_t delta_fen = 0;
  int64_t balance_fen = 0;  // the fund's balance after this movement
  std::string counterparty;
  std::string reference;
  int64_t gross_fen = 0;
};

struct MerchantContributions {
  std::string merchant;
  uint64_t sales = 0;
  int64_t gross_fen = 0;
  int64_t contribution_fen = 0;
};

struct ProjectPayouts {
  std::string project;
  uint64_t payouts = 0;
  int64_t amount_fen = 0;
};

// The statement of one community's fund for the period [from_us, to_us).
struct FundStatement {
  std::string community;
  int64_t from_us = kTimeMin;
  int64_t to_us = kTimeMax;
  int64_t opening_fen = 0;                           // balance before the period
  int64_t closing_fen = 0;                           // balance at its end
  std::vector<MerchantContributions> contributions;  // by merchant id
  std::vector<FundEntry> reversals;                  // each sale reversal, in seq order
  std::vector<ProjectPayouts> payouts;               // by project id
  int64_t contributions_fen = 0;                     // sum of contributions (in)
  int64_t reversals_fen = 0;       // sum of reversed contributions (out, positive)
  int64_t payouts_fen = 0;         // sum of payouts (out, positive)
  int64_t adjustments_fen = 0;     // signed adjustments
  int64_t other_fen = 0;           // movements of any other kind (none today)
  std::vector<FundEntry> entries;  // every movement of the period, in seq order
};

class FundStatementProjection final : public Projection {
 public:
  std::string_view name() const override { return kFundName; }
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
  FundEntry entry_;
  std::string joined_;
};

// Builds the statement from the fund rows in `store`. closing = opening + contributions −
// reversals − payouts + adjustments + other; a running balance that breaks that is kCorruption.
Result<FundStatement> BuildFundStatement(const RowStore& store, std::string_view community,
                                         int64_t from_us, int64_t to_us);

}  // namespace mulin::projections

#endif  // MULIN_PROJECTIONS_FUND_STATEMENT_H_
