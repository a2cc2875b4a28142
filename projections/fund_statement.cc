#include "projections/fund_statement.h"

#include <map>

#include "ledger/event_codec.h"
#include "projections/codec.h"
#include "projections/engine.h"
#include "projections/format.h"

namespace mulin::projections {
namespace {

using Which = schema::Event::Body::Which;

constexpr char kEntryTag = 'e';
constexpr char kTipTag = 't';
constexpr std::string_view kFundKind = "fund";

std::string EntryPrefix(std::string_view community) {
  std::string key(1, kEntryTag);
  AppendKeyString(&key, community);
  return key;
}

std::string TipKey(std::string_view community) {
  std::string key(1, kTipTag);
  AppendKeyString(&key, community);
  return key;
}

bool DecodeEntryKey(std::string_view key, std::string* community, FundEntry* out) {
  if (key.empty() || key[0] != kEntryTag) return false;
  key.remove_prefix(1);
  return ReadKeyString(&key, community) && ReadKeyU64(&key, &out->seq) &&
         ReadKeyU32(&key, &out->index) && key.empty();
}

std::string EncodeEntryValue(const FundEntry& entry) {
  return ValueWriter()
      .I64(entry.time_us)
      .U32(static_cast<uint32_t>(entry.kind))
      .I64(entry.delta_fen)
      .I64(entry.balance_fen)
      .Str(entry.counterparty)
      .Str(entry.reference)
      .I64(entry.gross_fen)
      .Finish();
}

bool DecodeEntryValue(std::string_view value, FundEntry* out) {
  ValueReader reader(value);
  out->time_us = reader.I64();
  out->kind = static_cast<Which>(reader.U32());
  out->delta_fen = reader.I64();
  out->balance_fen = reader.I64();
  out->counterparty = reader.Str();
  out->reference = reader.Str();
  out->gross_fen = reader.I64();
  return reader.ok();
}

bool DecodeTip(std::string_view value, int64_t* balance_fen, uint64_t* entries) {
  ValueReader reader(value);
  *balance_fen = reader.I64();
  *entries = reader.U64();
  return reader.ok();
}

// What the statement shows beside the amount: which sale, which payout, why.
void FillReference(schema::Event::Reader event, FundEntry* entry) {
  const auto body = event.getBody();
  switch (body.which()) {
    case Which::SALE_RECORDED:
      entry->reference = body.getSaleRecorded().getSaleId();
      entry->gross_fen = body.getSaleRecorded().getGrossFen();
      break;
    case Which::SALE_REVERSED:
      entry->reference = body.getSaleReversed().getSaleId();
      entry->gross_fen = body.getSaleReversed().getGrossFen();
      break;
    case Which::PAYOUT_APPROVED:
      entry->reference = body.getPayoutApproved().getPayoutId();
      break;
    case Which::ADJUSTMENT:
      entry->reference = body.getAdjustment().getReason();
      break;
    default:
      break;
  }
}

// Adds one movement of the period to the statement's sums.
void Classify(const FundEntry& entry, std::map<std::string, MerchantContributions>* merchants,
              std::map<std::string, ProjectPayouts>* projects, FundStatement* statement) {
  switch (entry.kind) {
    case Which::SALE_RECORDED: {
      MerchantContributions& m = (*merchants)[std::string(AccountOwner(entry.counterparty))];
      ++m.sales;
      m.gross_fen += entry.gross_fen;
      m.contribution_fen += entry.delta_fen;
      statement->contributions_fen += entry.delta_fen;
      break;
    }
    case Which::SALE_REVERSED:
      statement->reversals.push_back(entry);
      statement->reversals_fen -= entry.delta_fen;
      break;
    case Which::PAYOUT_APPROVED: {
      ProjectPayouts& p = (*projects)[std::string(AccountOwner(entry.counterparty))];
      ++p.payouts;
      p.amount_fen -= entry.delta_fen;
      statement->payouts_fen -= entry.delta_fen;
      break;
    }
    case Which::ADJUSTMENT:
      statement->adjustments_fen += entry.delta_fen;
      break;
    default:
      statement->other_fen += entry.delta_fen;
      break;
  }
}

}  // namespace

Status FundStatementProjection::Apply(const EventContext& context, Rows* rows) {
  const std::vector<domain::Posting>& postings = *context.postings;
  for (size_t i = 0; i < postings.size(); ++i) {
    const domain::Posting& posting = postings[i];
    if (posting.unit != schema::Unit::FEN || AccountKind(posting.account) != kFundKind) continue;
    const std::string_view community = AccountOwner(posting.account);
    Result<std::string*> tip = rows->Mutable(TipKey(community));
    if (!tip.ok()) return tip.status();
    int64_t balance_fen = 0;
    uint64_t entries = 0;
    if (!(*tip)->empty() && !DecodeTip(**tip, &balance_fen, &entries)) {
      return Status::Corruption("fund: the balance row of " + posting.account + " does not decode",
                                context.seq);
    }
    if (__builtin_add_overflow(balance_fen, posting.delta, &balance_fen)) {
      return Status::Corruption("fund: " + posting.account + " overflows int64", context.seq);
    }
    **tip = ValueWriter().I64(balance_fen).U64(entries + 1).Finish();
    FundEntry entry;
    entry.time_us = context.event.getRecordedAtUs();
    entry.kind = context.event.getBody().which();
    entry.delta_fen = posting.delta;
    entry.balance_fen = balance_fen;
    entry.counterparty = Counterparty(postings, i);
    FillReference(context.event, &entry);
    std::string key = EntryPrefix(community);
    AppendKeyU64(&key, context.seq);
    AppendKeyU32(&key, static_cast<uint32_t>(i));
    rows->Append(key, EncodeEntryValue(entry));
  }
  return Status::Ok();
}

std::string FundStatementProjection::DescribeKey(std::string_view row_key) const {
  std::string community;
  FundEntry entry;
  if (DecodeEntryKey(row_key, &community, &entry)) {
    return "fund:" + community + " seq " + std::to_string(entry.seq) + " posting " +
           std::to_string(entry.index);
  }
  std::string_view rest = row_key.substr(row_key.empty() ? 0 : 1);
  if (!row_key.empty() && row_key[0] == kTipTag && ReadKeyString(&rest, &community) &&
      rest.empty()) {
    return "fund:" + community + " balance";
  }
  return "row " + DescribeBytes(row_key);
}

std::string FundStatementProjection::DescribeValue(std::string_view row_key,
                                                   std::string_view value) const {
  if (!row_key.empty() && row_key[0] == kTipTag) {
    int64_t balance_fen = 0;
    uint64_t entries = 0;
    if (!DecodeTip(value, &balance_fen, &entries)) return DescribeBytes(value);
    return FormatYuan(balance_fen) + " yuan after " + std::to_string(entries) + " movements";
  }
  FundEntry entry;
  if (!DecodeEntryValue(value, &entry)) return DescribeBytes(value);
  return FormatSigned(entry.delta_fen) + " fen at " + FormatTime(entry.time_us) + " by " +
         ledger::EventKindName(entry.kind) + " " + entry.reference + " against " +
         entry.counterparty + ", balance " + std::to_string(entry.balance_fen) + " fen";
}

Result<FundStatement> BuildFundStatement(const RowStore& store, std::string_view community,
                                         int64_t from_us, int64_t to_us) {
  FundStatement statement;
  statement.community = std::string(community);
  statement.from_us = from_us;
  statement.to_us = to_us;
  std::map<std::string, MerchantContributions> merchants;
  std::map<std::string, ProjectPayouts> projects;
  int64_t running_fen = 0;
  bool adds_up = true;
  const std::string rows = RowPrefix(kFundName);
  Status problem;
  Status scan = ScanPrefix(
      store, rows + EntryPrefix(community), [&](std::string_view key, std::string_view value) {
        std::string owner;
        FundEntry entry;
        if (!DecodeEntryKey(key.substr(rows.size()), &owner, &entry) ||
            !DecodeEntryValue(value, &entry)) {
          problem = Status::Corruption("fund: row " + DescribeBytes(key) + " does not decode");
          return false;
        }
        if (entry.time_us < from_us) {
          statement.opening_fen = running_fen = entry.balance_fen;
          return true;
        }
        if (entry.time_us >= to_us) return false;  // the ledger clock never goes backwards
        running_fen += entry.delta_fen;
        adds_up = adds_up && running_fen == entry.balance_fen;
        Classify(entry, &merchants, &projects, &statement);
        statement.entries.push_back(std::move(entry));
        return true;
      });
  MULIN_RETURN_IF_ERROR(scan);
  MULIN_RETURN_IF_ERROR(problem);
  statement.closing_fen = running_fen;
  if (!adds_up) {
    return Status::Corruption("fund:" + std::string(community) +
                              ": the running balance does not add up to the movements; run "
                              "`mulin reconcile`");
  }
  for (auto& [merchant, sums] : merchants) {
    sums.merchant = merchant;
    statement.contributions.push_back(sums);
  }
  for (auto& [project, sums] : projects) {
    sums.project = project;
    statement.payouts.push_back(sums);
  }
  return statement;
}

}  // namespace mulin::projections
