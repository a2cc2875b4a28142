#include "projections/invariants.h"

#include <array>
#include <map>

#include "ledger/event_codec.h"
#include "projections/audit_trail.h"
#include "projections/balances.h"
#include "projections/codec.h"
#include "projections/engine.h"

namespace mulin::projections {
namespace {

using Which = schema::Event::Body::Which;

constexpr char kReversedTag = 'r';
constexpr char kFundTag = 'f';
constexpr int64_t kRoundingHalfBps = 5000;
constexpr int64_t kBpsPerUnit = 10000;

enum FundField { kContributions, kReversed, kPayouts, kAdjustments, kFundFields };
using FundSums = std::array<int64_t, kFundFields>;

std::string FundKey(std::string_view community) {
  std::string key(1, kFundTag);
  AppendKeyString(&key, community);
  return key;
}

bool DecodeFund(std::string_view value, FundSums* sums) {
  ValueReader reader(value);
  for (int64_t& field : *sums) field = reader.I64();
  return reader.ok();
}

std::string EncodeFund(const FundSums& sums) {
  ValueWriter writer;
  for (int64_t field : sums) writer.I64(field);
  return writer.Finish();
}

std::string Int128Text(__int128 value) {
  if (value == 0) return "0";
  const bool negative = value < 0;
  unsigned __int128 magnitude =
      negative ? 0 - static_cast<unsigned __int128>(value) : static_cast<unsigned __int128>(value);
  std::string digits;
  for (; magnitude > 0; magnitude /= 10) digits.insert(digits.begin(), '0' + magnitude % 10);
  return negative ? "-" + digits : digits;
}

// A reversal's claims about its original, and what the original says, as comparable text.
std::string SaleFacts(std::string_view id, std::string_view merchant, int64_t gross,
                      int64_t contribution) {
  return "sale " + std::string(id) + " of merchant " + std::string(merchant) + ", " +
         std::to_string(gross) + " fen gross, " + std::to_string(contribution) + " fen contributed";
}

std::string RedemptionFacts(std::string_view id, std::string_view volunteer,
                            std::string_view merchant, int64_t points) {
  return "redemption " + std::string(id) + " of " + std::to_string(points) + " points by " +
         std::string(volunteer) + " at merchant " + std::string(merchant);
}

// What the reversal at hand says its original is, and the kind the original must be.
void ClaimedOriginal(schema::Event::Body::Reader body, uint64_t* seq, Which* kind,
                     std::string* facts) {
  if (body.which() == Which::SALE_REVERSED) {
    const auto r = body.getSaleReversed();
    *seq = r.getOriginalSeq();
    *kind = Which::SALE_RECORDED;
    *facts = SaleFacts(r.getSaleId().cStr(), r.getMerchantId().cStr(), r.getGrossFen(),
                       r.getContributionFen());
  } else {
    const auto r = body.getRedemptionReversed();
    *seq = r.getOriginalSeq();
    *kind = Which::POINTS_REDEEMED;
    *facts = RedemptionFacts(r.getRedemptionId().cStr(), r.getVolunteerId().cStr(),
                             r.getMerchantId().cStr(), r.getPoints());
  }
}

std::string OriginalFacts(schema::Event::Body::Reader body) {
  if (body.which() == Which::SALE_RECORDED) {
    const auto s = body.getSaleRecorded();
    return SaleFacts(s.getSaleId().cStr(), s.getMerchantId().cStr(), s.getGrossFen(),
                     s.getContributionFen());
  }
  const auto p = body.getPointsRedeemed();
  return RedemptionFacts(p.getRedemptionId().cStr(), p.getVolunteerId().cStr(),
                         p.getMerchantId().cStr(), p.getPoints());
}

}  // namespace

void InvariantChecker::Violation(std::string subject, std::string expected, std::string found) {
  differences_->Add(
      Difference{"invariant", std::move(subject), std::move(expected), std::move(found)});
}

Status InvariantChecker::Apply(const EventContext& context, Rows* rows) {
  const auto body = context.event.getBody();
  const std::string community = context.event.getCommunityId();
  switch (body.which()) {
    case Which::SALE_RECORDED:
      return CheckSale(context, rows);
    case Which::SALE_REVERSED:
    case Which::REDEMPTION_REVERSED:
      return CheckReversal(context, rows);
    case Which::PAYOUT_APPROVED:
      return AddToFund(rows, community, kPayouts, body.getPayoutApproved().getAmountFen());
    case Which::ADJUSTMENT: {
      const auto adjustment = body.getAdjustment();
      const std::string_view account = adjustment.getAccountId().cStr();
      if (adjustment.getUnit() != schema::Unit::FEN || AccountKind(account) != "fund") break;
      return AddToFund(rows, AccountOwner(account), kAdjustments, adjustment.getDelta());
    }
    default:
      break;
  }
  return Status::Ok();
}

Status InvariantChecker::CheckSale(const EventContext& context, Rows* rows) {
  const auto sale = context.event.getBody().getSaleRecorded();
  const std::string subject =
      "sale " + std::string(sale.getSaleId().cStr()) + " (seq " + std::to_string(context.seq) + ")";
  const __int128 expected =
      (static_cast<__int128>(sale.getGrossFen()) * sale.getContributionRateBps() +
       kRoundingHalfBps) /
      kBpsPerUnit;
  if (expected != sale.getContributionFen()) {
    Violation(subject,
              "contribution " + Int128Text(expected) + " fen = (" +
                  std::to_string(sale.getGrossFen()) + " × " +
                  std::to_string(sale.getContributionRateBps()) + " + 5000) / 10000",
              "contributionFen " + std::to_string(sale.getContributionFen()));
  }
  __int128 into_funds = 0;
  for (const domain::Posting& posting : *context.postings) {
    if (posting.unit == schema::Unit::FEN && AccountKind(posting.account) == "fund") {
      into_funds += posting.delta;
    }
  }
  if (into_funds != sale.getContributionFen()) {
    Violation(subject,
              "postings move " + std::to_string(sale.getContributionFen()) + " fen into the fund",
              "they move " + Int128Text(into_funds) + " fen");
  }
  return AddToFund(rows, context.event.getCommunityId().cStr(), kContributions,
                   sale.getContributionFen());
}

Status InvariantChecker::CheckReversal(const EventContext& context, Rows* rows) {
  const auto body = context.event.getBody();
  uint64_t original_seq = 0;
  Which original_kind;
  std::string claimed;
  ClaimedOriginal(body, &original_seq, &original_kind, &claimed);
  const std::string subject =
      std::string(ledger::EventKindName(body.which())) + " at seq " + std::to_string(context.seq);
  if (original_seq == 0 || original_seq >= context.seq) {
    Violation(subject, "an original before seq " + std::to_string(context.seq),
              "original seq " + std::to_string(original_seq));
    return Status::Ok();
  }
  Result<std::string> payload = log_->ReadPayload(original_seq);
  if (!payload.ok()) return payload.status();
  Result<ledger::DecodedEvent> original = ledger::DecodeEvent(*payload, original_seq);
  if (!original.ok()) return original.status();
  const auto original_body = original->event().getBody();
  const std::string where = "seq " + std::to_string(original_seq) + ": ";
  if (original_body.which() != original_kind) {
    Violation(subject, where + ledger::EventKindName(original_kind),
              where + ledger::EventKindName(original_body.which()));
  } else if (OriginalFacts(original_body) != claimed) {
    Violation(subject, where + OriginalFacts(original_body), "reverses " + claimed);
  }
  std::string key(1, kReversedTag);
  AppendKeyU64(&key, original_seq);
  Result<std::string*> reversed = rows->Mutable(key);
  if (!reversed.ok()) return reversed.status();
  if (!(*reversed)->empty()) {
    ValueReader reader(**reversed);
    Violation(subject, where + "reversed at most once",
              "already reversed at seq " + std::to_string(reader.U64()));
  } else {
    **reversed = ValueWriter().U64(context.seq).Finish();
  }
  if (body.which() != Which::SALE_REVERSED) return Status::Ok();
  return AddToFund(rows, context.event.getCommunityId().cStr(), kReversed,
                   body.getSaleReversed().getContributionFen());
}

Status InvariantChecker::AddToFund(Rows* rows, std::string_view community, int field, int64_t fen) {
  Result<std::string*> value = rows->Mutable(FundKey(community));
  if (!value.ok()) return value.status();
  FundSums sums{};
  if (!(*value)->empty() && !DecodeFund(**value, &sums)) {
    return Status::Corruption("checks: the fund sums of " + std::string(community) +
                              " do not decode");
  }
  if (__builtin_add_overflow(sums[field], fen, &sums[field])) {
    return Status::Corruption("checks: the fund sums of " + std::string(community) +
                              " overflow int64");
  }
  **value = EncodeFund(sums);
  return Status::Ok();
}

Status InvariantChecker::Finish(const RowStore& scratch) {
  MULIN_RETURN_IF_ERROR(CheckZeroSum(scratch));
  MULIN_RETURN_IF_ERROR(CheckNeverNegative(scratch));
  return CheckFunds(scratch);
}

Status InvariantChecker::CheckZeroSum(const RowStore& scratch) {
  std::map<schema::Unit, __int128> sums;
  MULIN_RETURN_IF_ERROR(ScanBalances(scratch, [&](const Balance& balance) {
    sums[balance.unit] += balance.balance;
    return true;
  }));
  for (const auto& [unit, sum] : sums) {
    if (sum != 0) {
      Violation(std::string("all accounts in ") + UnitName(unit), "a sum of 0 (double entry)",
                "a sum of " + Int128Text(sum));
    }
  }
  return Status::Ok();
}

Status InvariantChecker::CheckNeverNegative(const RowStore& scratch) {
  return ScanAllAuditEntries(scratch, [&](const AuditEntry& entry) {
    if (entry.balance < 0 && domain::MustStayNonNegative(entry.account, entry.unit)) {
      Violation(
          entry.account + " " + UnitName(entry.unit) + " after seq " + std::to_string(entry.seq),
          "a balance ≥ 0", std::to_string(entry.balance));
    }
    return true;
  });
}

Status InvariantChecker::CheckFunds(const RowStore& scratch) {
  std::map<std::string, FundSums> expected;
  const std::string prefix = RowPrefix(kChecksName) + std::string(1, kFundTag);
  Status problem;
  MULIN_RETURN_IF_ERROR(
      ScanPrefix(scratch, prefix, [&](std::string_view key, std::string_view value) {
        key.remove_prefix(prefix.size());
        std::string community;
        FundSums sums{};
        if (!ReadKeyString(&key, &community) || !DecodeFund(value, &sums)) {
          problem = Status::Corruption("checks: a fund row does not decode");
          return false;
        }
        expected.emplace(std::move(community), sums);
        return true;
      }));
  MULIN_RETURN_IF_ERROR(problem);
  auto check = [&](const std::string& community, const FundSums& s, int64_t balance) {
    const __int128 net =
        static_cast<__int128>(s[kContributions]) - s[kReversed] - s[kPayouts] + s[kAdjustments];
    if (net == balance) return;
    Violation("fund:" + community + " fen",
              Int128Text(net) + " = contributions " + std::to_string(s[kContributions]) +
                  " − reversed " + std::to_string(s[kReversed]) + " − payouts " +
                  std::to_string(s[kPayouts]) + " + adjustments " + std::to_string(s[kAdjustments]),
              "balance " + std::to_string(balance));
  };
  MULIN_RETURN_IF_ERROR(ScanBalances(scratch, "fund:", [&](const Balance& balance) {
    if (balance.unit != schema::Unit::FEN) return true;
    const std::string community(AccountOwner(balance.account));
    auto it = expected.find(community);
    check(community, it == expected.end() ? FundSums{} : it->second, balance.balance);
    if (it != expected.end()) expected.erase(it);
    return true;
  }));
  for (const auto& [community, sums] : expected) check(community, sums, 0);
  return Status::Ok();
}

std::string InvariantChecker::DescribeKey(std::string_view row_key) const {
  return "row " + DescribeBytes(row_key);
}

std::string InvariantChecker::DescribeValue(std::string_view, std::string_view value) const {
  return DescribeBytes(value);
}

}  // namespace mulin::projections
