// Rendering of read-side answers for people (aligned text) and spreadsheets (CSV per DESIGN §5:
// BOM, yuan with two decimals beside the raw fen, Asia/Shanghai times with +08:00).
// Thread-safety: pure functions writing to the stream they are given.
#ifndef MULIN_PROJECTIONS_RENDER_H_
#define MULIN_PROJECTIONS_RENDER_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "projections/audit_trail.h"
#include "projections/balances.h"
#include "projections/format.h"
#include "projections/fund_statement.h"
#include "projections/orders.h"
#include "projections/reconcile.h"

namespace mulin::projections {

// "120 points", "90 minutes", "1234.56 yuan (123456 fen)".
std::string AmountText(int64_t amount, schema::Unit unit);

void WriteBalancesText(const std::vector<Balance>& balances, std::ostream& out);

// An audit trail, one account after another: a header per account, then its entries.
void WriteHistoryTextHeader(const std::string& account, std::ostream& out);
void WriteHistoryTextRow(const AuditEntry& entry, std::ostream& out);
void WriteHistoryCsvHeader(CsvWriter* csv);
void WriteHistoryCsvRow(const AuditEntry& entry, CsvWriter* csv);

// `through_seq`: the last event the statement includes.
void WriteFundStatementText(const FundStatement& statement, uint64_t through_seq,
                            std::ostream& out);
// One row per movement, between an opening and a closing row.
void WriteFundStatementCsv(const FundStatement& statement, std::ostream& out);

void WriteServiceSummaryText(const ServiceSummary& summary, std::ostream& out);

void WriteReconcileText(const ReconcileReport& report, std::ostream& out);

}  // namespace mulin::projections

#endif  // MULIN_PROJECTIONS_RENDER_H_
