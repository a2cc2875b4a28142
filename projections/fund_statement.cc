#include "projections/fund_statement.h"

#include <map>

#include "ledger/event_codec.h"
#include "projections/codec.h"
#include "projections/engine.h"
#include "projections/format.h"

namespace mulin::projections {
namespace {

using Which = schema::Event::Body::Which;

constexpr char kPageTag = 'p';
constexpr char kTipTag = 't';
constexpr std::string_view kFundKind = "fund";

// The tip's fields, a fixed row (codec.h): the fold updates them in place.
constexpr size_t kTipBalanceField = 0;
constexpr size_t kTipEntriesField = 1;
constexpr size_t kTipFields = 2;

// The key builders write into `*key`, whose buffer the fold reuses for every posting.
void PagePrefix(std::string_view community, std::string* key) {
  key->clear();
  key->push_back(kPageTag);
  AppendKeyString(key, community);
}

void TipKey(std::string_view community, std::string* key) {
  key->clear();
  key->push_back(kTipTag);
  AppendKeyString(key, community);
}

bool DecodePageKey(std::string_view key, std::string* community, uint64_t* page) {
  if (key.empty() || key[0] != kPageTag) return false;
  key.remove_prefix(1);
  return ReadKeyString(&key, community) && ReadKeyU64(&key, page) && key.empty();
}

void AppendEntry(const FundEntry& entry, std::string* page) {
  ValueWriter(page)
      .U64(entry.seq)
      .U32(entry.index)
      .I64(entry.time_us)
      .U32(static_cast<uint32_t>(entry.kind))
      .I64(entry.delta_fen)
      .I64(entry.balance_fen)
      .Str(entry.counterparty)
      .Str(entry.reference)
      .I64(entry.gross_fen);
}

// The entries of one page, in order; false when it does not decode (no stored page is empty).
bool DecodePage(std::string_view page, std::vector<FundEntry>* out) {
  if (page.empty()) return false;
  ValueReader reader(page);
  while (!reader.at_end()) {
    FundEntry& entry = out->emplace_back();
    entry.seq = reader.U64();
    entry.index = reader.U32();
    entry.time_us = reader.I64();
    entry.kind = static_cast<Which>(reader.U32());
    entry.delta_fen = reader.I64();
    entry.balance_fen = reader.I64();
    entry.counterparty = reader.Str();
    entry.reference = reader.Str();
    entry.gross_fen = reader.I64();
    if (!reader.good()) return false;
  }
  return true;
}

std::string EntryText(const FundEntry& e) {
  return "seq " + std::to_string(e.seq) + ": " + FormatSigned(e.delta_fen) + " fen at " +
         FormatTime(e.time_us) + " by " + ledger::EventKindName(e.kind) + " " + e.reference +
         " against " + e.counterparty + ", balance " + std::to_string(e.balance_fen) + " fen";
}

// Visits a community's fund movements in seq order until `visit` returns false.
Status ForEachMovement(const RowStore& store, std::string_view community,
                       const std::function<bool(FundEntry&)>& visit) {
  std::string prefix;
  PagePrefix(community, &prefix);
  Status problem;
  std::vector<FundEntry> entries;
  MULIN_RETURN_IF_ERROR(ScanPrefix(
      store, RowPrefix(kFundName) + prefix, [&](std::string_view key, std::string_view value) {
        entries.clear();
        if (!DecodePage(value, &entries)) {
          problem = Status::Corruption("fund: row " + DescribeBytes(key) + " does not decode");
          return false;
        }
        for (FundEntry& entry : entries) {
          if (!visit(entry)) return false;
        }
        return true;
      }));
  return problem;
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
    TipKey(community, &key_);
    Result<std::string*> tip_value = rows->Mutable(key_);
    if (!tip_value.ok()) return tip_value.status();
    std::string* tip = *tip_value;
    if (!OpenFixedRow(tip, kTipFields)) {
      return Status::Corruption("fund: the balance row of " + posting.account + " does not decode",
                                context.seq);
    }
    int64_t balance_fen = static_cast<int64_t>(FixedField(*tip, kTipBalanceField));
    if (__builtin_add_overflow(balance_fen, posting.delta, &balance_fen)) {
      return Status::Corruption("fund: " + posting.account + " overflows int64", context.seq);
    }
    SetFixedField(tip, kTipBalanceField, static_cast<uint64_t>(balance_fen));
    AddToField(tip, kTipEntriesField, 1);
    FundEntry& entry = entry_;
    entry.seq = context.seq;
    entry.index = static_cast<uint32_t>(i);
    entry.time_us = context.event.getRecordedAtUs();
    entry.kind = context.event.getBody().which();
    entry.delta_fen = posting.delta;
    entry.balance_fen = balance_fen;
    entry.counterparty.assign(Counterparty(postings, i, &joined_));
    entry.reference.clear();  // FillReference sets these two for the kinds that have them
    entry.gross_fen = 0;
    FillReference(context.event, &entry);
    PagePrefix(community, &key_);
    const uint64_t page_number = context.seq / kFundPageEvents;
    AppendKeyU64(&key_, page_number);
    Result<std::string*> page = rows->Mutable(key_, page_number * kFundPageEvents);
    if (!page.ok()) return page.status();
    AppendEntry(entry, *page);
  }
  return Status::Ok();
}

std::string FundStatementProjection::DescribeKey(std::string_view row_key) const {
  std::string community;
  uint64_t page = 0;
  if (DecodePageKey(row_key, &community, &page)) {
    return "fund:" + community + " movements of seq " + std::to_string(page * kFundPageEvents) +
           ".." + std::to_string((page + 1) * kFundPageEvents - 1);
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
  std::vector<FundEntry> entries;
  if (!DecodePage(value, &entries)) return DescribeBytes(value);
  return std::to_string(entries.size()) + " movements, the last " + EntryText(entries.back());
}

std::pair<std::string, std::string> FundStatementProjection::DescribeDifference(
    std::string_view row_key, std::string_view expected, std::string_view found) const {
  std::vector<FundEntry> e;
  std::vector<FundEntry> f;
  if (row_key.empty() || row_key[0] != kPageTag || !DecodePage(expected, &e) ||
      !DecodePage(found, &f)) {
    return Projection::DescribeDifference(row_key, expected, found);
  }
  for (size_t i = 0; i < e.size() || i < f.size(); ++i) {
    const std::string a = i < e.size() ? EntryText(e[i]) : "(no movement)";
    const std::string b = i < f.size() ? EntryText(f[i]) : "(no movement)";
    if (a != b) return {a, b};
  }
  return Projection::DescribeDifference(row_key, expected, found);
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
  MULIN_RETURN_IF_ERROR(ForEachMovement(store, community, [&](FundEntry& entry) {
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
  }));
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
