#include "projections/render.h"

#include <cstdio>

#include "ledger/event_codec.h"
#include "ledger/record_format.h"

namespace mulin::projections {
namespace {

constexpr int64_t kMicrosPerMinute = 60 * 1000000LL;

std::string Pad(const std::string& text, size_t width) {
  // Width in bytes is close enough for ids; Chinese names may sit a little off the column.
  return text.size() >= width ? text + " " : text + std::string(width - text.size(), ' ');
}

std::string LeftPad(const std::string& text, size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}

// "1 sale", "2 sales".
std::string Count(uint64_t n, const std::string& singular, const std::string& plural) {
  return std::to_string(n) + " " + (n == 1 ? singular : plural);
}

std::string SignedYuan(int64_t fen) { return (fen > 0 ? "+" : "") + FormatYuan(fen); }

std::string PeriodText(int64_t from_us, int64_t to_us) {
  const std::string from = from_us == kTimeMin ? "the first event" : FormatTime(from_us);
  const std::string to = to_us == kTimeMax ? "now" : FormatTime(to_us);
  return "from " + from + " to " + to;
}

// "2 h 05 min" for a duration.
std::string DurationText(int64_t us) {
  const int64_t minutes = us / kMicrosPerMinute;
  char out[48];
  std::snprintf(out, sizeof(out), "%lld h %02lld min", static_cast<long long>(minutes / 60),
                static_cast<long long>(minutes % 60));
  return out;
}

}  // namespace

std::string AmountText(int64_t amount, schema::Unit unit) {
  if (unit == schema::Unit::FEN) {
    return FormatYuan(amount) + " yuan (" + std::to_string(amount) + " fen)";
  }
  return std::to_string(amount) + " " + UnitName(unit);
}

void WriteBalancesText(const std::vector<Balance>& balances, std::ostream& out) {
  for (const Balance& b : balances) {
    out << Pad(b.account, 24) << Pad(AmountText(b.balance, b.unit), 32)
        << Count(b.postings, "posting", "postings") << ", last seq " << b.last_seq << "\n";
  }
}

void WriteHistoryTextHeader(const std::string& account, std::ostream& out) {
  out << account << "\n"
      << Pad("  seq", 10) << Pad("time", 27) << Pad("event", 20) << Pad("unit", 9)
      << LeftPad("amount", 14) << LeftPad("balance", 16) << "  counterparty\n";
}

void WriteHistoryTextRow(const AuditEntry& e, std::ostream& out) {
  const bool fen = e.unit == schema::Unit::FEN;
  out << Pad("  " + std::to_string(e.seq), 10) << Pad(FormatTime(e.time_us), 27)
      << Pad(ledger::EventKindName(e.kind), 20) << Pad(fen ? "yuan" : UnitName(e.unit), 9)
      << LeftPad(fen ? SignedYuan(e.delta) : FormatSigned(e.delta), 14)
      << LeftPad(fen ? FormatYuan(e.balance) : std::to_string(e.balance), 16) << "  "
      << e.counterparty << "\n";
}

void WriteHistoryCsvHeader(CsvWriter* csv) {
  csv->Row({"account", "seq", "time", "event", "unit", "counterparty", "amount", "balance",
            "amount_yuan", "balance_yuan"});
}

void WriteHistoryCsvRow(const AuditEntry& e, CsvWriter* csv) {
  const bool fen = e.unit == schema::Unit::FEN;
  csv->Row({CsvText(e.account), std::to_string(e.seq), FormatTime(e.time_us),
            ledger::EventKindName(e.kind), UnitName(e.unit), CsvText(e.counterparty),
            std::to_string(e.delta), std::to_string(e.balance), fen ? FormatYuan(e.delta) : "",
            fen ? FormatYuan(e.balance) : ""});
}

void WriteFundStatementText(const FundStatement& s, uint64_t through_seq, std::ostream& out) {
  constexpr size_t kLabel = 44;
  constexpr size_t kAmount = 16;
  auto line = [&](const std::string& label, int64_t fen, bool sign) {
    out << Pad(label, kLabel) << LeftPad(sign ? SignedYuan(fen) : FormatYuan(fen), kAmount) << "\n";
  };
  out << "Fund statement of community " << s.community << ", " << PeriodText(s.from_us, s.to_us)
      << " (through seq " << through_seq << "; yuan)\n\n";
  line("Opening balance", s.opening_fen, false);
  out << "\nContributions from market sales\n";
  for (const MerchantContributions& m : s.contributions) {
    line("  " + m.merchant + ": " + Count(m.sales, "sale", "sales") + ", gross " +
             FormatYuan(m.gross_fen),
         m.contribution_fen, true);
  }
  line("  total contributions", s.contributions_fen, true);
  out << "\nSale reversals\n";
  for (const FundEntry& r : s.reversals) {
    line("  seq " + std::to_string(r.seq) + " " + r.reference + " (" +
             std::string(AccountOwner(r.counterparty)) + ", gross " + FormatYuan(r.gross_fen) + ")",
         r.delta_fen, true);
  }
  line("  total reversed", -s.reversals_fen, true);
  out << "\nPayouts to projects\n";
  for (const ProjectPayouts& p : s.payouts) {
    line("  " + p.project + ": " + Count(p.payouts, "payout", "payouts"), -p.amount_fen, true);
  }
  line("  total paid out", -s.payouts_fen, true);
  if (s.adjustments_fen != 0) line("\nAdjustments", s.adjustments_fen, true);
  if (s.other_fen != 0) line("\nOther movements", s.other_fen, true);
  out << "\n";
  line("Closing balance", s.closing_fen, false);
}

void WriteFundStatementCsv(const FundStatement& s, std::ostream& out) {
  CsvWriter csv(&out);
  csv.Row({"community", "seq", "time", "event", "counterparty", "reference", "gross_yuan",
           "gross_fen", "amount_yuan", "amount_fen", "balance_yuan", "balance_fen"});
  const std::string community = CsvText(s.community);
  const std::string opened = s.from_us == kTimeMin ? "" : FormatTime(s.from_us);
  csv.Row({community, "", opened, "opening", "", "", "", "", "", "", FormatYuan(s.opening_fen),
           std::to_string(s.opening_fen)});
  for (const FundEntry& e : s.entries) {
    const bool sale = e.gross_fen != 0;
    csv.Row({community, std::to_string(e.seq), FormatTime(e.time_us), ledger::EventKindName(e.kind),
             CsvText(e.counterparty), CsvText(e.reference), sale ? FormatYuan(e.gross_fen) : "",
             sale ? std::to_string(e.gross_fen) : "", FormatYuan(e.delta_fen),
             std::to_string(e.delta_fen), FormatYuan(e.balance_fen),
             std::to_string(e.balance_fen)});
  }
  const std::string closed = s.to_us == kTimeMax ? "" : FormatTime(s.to_us);
  csv.Row({community, "", closed, "closing", "", "", "", "", "", "", FormatYuan(s.closing_fen),
           std::to_string(s.closing_fen)});
}

void WriteServiceSummaryText(const ServiceSummary& s, std::ostream& out) {
  out << "Service in community " << s.community << "\n\nOrders by state\n";
  uint64_t orders = 0;
  for (size_t i = 0; i < kOrderStateCount; ++i) {
    orders += s.orders_by_state[i];
    out << "  " << Pad(OrderStateName(static_cast<OrderState>(i)), 12)
        << LeftPad(std::to_string(s.orders_by_state[i]), 8) << "\n";
  }
  out << "  " << Pad("total", 12) << LeftPad(std::to_string(orders), 8) << "\n\nRatings\n";
  uint64_t ratings = 0;
  uint64_t rating_sum = 0;
  for (size_t r = 0; r < kRatingValues; ++r) {
    ratings += s.ratings_by_value[r];
    rating_sum += s.ratings_by_value[r] * (r + 1);
    out << "  " << (r + 1) << " star" << (r == 0 ? " " : "s")
        << LeftPad(std::to_string(s.ratings_by_value[r]), 10) << "\n";
  }
  if (ratings > 0) {
    // Hundredths by integer arithmetic, rounded half up: the same input prints the same digits.
    const uint64_t hundredths = (rating_sum * 200 + ratings) / (2 * ratings);
    char average[32];
    std::snprintf(average, sizeof(average), "%llu.%02llu",
                  static_cast<unsigned long long>(hundredths / 100),
                  static_cast<unsigned long long>(hundredths % 100));
    out << "  average " << average << " of " << Count(ratings, "rating", "ratings")
        << "; placed to rated "
        << DurationText(s.placed_to_rated_us / static_cast<int64_t>(ratings)) << " on average\n";
  } else {
    out << "  no ratings yet\n";
  }
  out << "\nService time: " << s.minutes << " minutes ("
      << DurationText(s.minutes * kMicrosPerMinute) << ") by "
      << Count(s.volunteers, "volunteer", "volunteers") << "\n";
  if (s.top_volunteers.empty()) return;
  out << "\nTop volunteers by minutes\n";
  for (size_t i = 0; i < s.top_volunteers.size(); ++i) {
    const VolunteerService& v = s.top_volunteers[i];
    out << LeftPad(std::to_string(i + 1), 4) << ". " << Pad(v.volunteer, 16)
        << LeftPad(std::to_string(v.minutes), 8) << " minutes in "
        << Count(v.deliveries, "delivery", "deliveries") << "\n";
  }
}

void WriteReconcileText(const ReconcileReport& r, std::ostream& out) {
  const std::string head = std::to_string(r.head.seq) + ":" + ledger::HexEncode(r.head.chain);
  if (r.ok()) {
    out << "ok: " << r.events_replayed << " events rebuilt from seq 1, " << r.rows_compared
        << " rows compared, chain verified, invariants hold\nhead " << head << "\n";
    return;
  }
  out << "FAILED: " << r.differences_total << " difference" << (r.differences_total == 1 ? "" : "s")
      << " (head " << head << ")\n";
  for (const Difference& d : r.differences) {
    out << "  " << Pad(d.where, 10) << d.subject << "\n      expected: " << d.expected
        << "\n      found:    " << d.found << "\n";
  }
  if (r.differences_total > r.differences.size()) {
    out << "  … and " << (r.differences_total - r.differences.size())
        << " more (raise --max-differences to list them)\n";
  }
}

}  // namespace mulin::projections
