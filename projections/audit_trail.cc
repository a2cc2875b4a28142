#include "projections/audit_trail.h"

#include "ledger/event_codec.h"
#include "projections/codec.h"
#include "projections/engine.h"
#include "projections/format.h"

namespace mulin::projections {
namespace {

constexpr char kEntryTag = 'e';
constexpr char kTipTag = 't';

std::string EntryKey(std::string_view account, uint64_t seq, uint32_t index) {
  std::string key(1, kEntryTag);
  AppendKeyString(&key, account);
  AppendKeyU64(&key, seq);
  AppendKeyU32(&key, index);
  return key;
}

std::string TipKey(std::string_view account, schema::Unit unit) {
  std::string key(1, kTipTag);
  AppendKeyString(&key, account);
  key.push_back(static_cast<char>(unit));
  return key;
}

bool DecodeEntryKey(std::string_view key, AuditEntry* out) {
  if (key.empty() || key[0] != kEntryTag) return false;
  key.remove_prefix(1);
  return ReadKeyString(&key, &out->account) && ReadKeyU64(&key, &out->seq) &&
         ReadKeyU32(&key, &out->index) && key.empty();
}

std::string EncodeEntryValue(const AuditEntry& entry) {
  return ValueWriter()
      .U8(static_cast<uint8_t>(entry.unit))
      .I64(entry.time_us)
      .U32(static_cast<uint32_t>(entry.kind))
      .I64(entry.delta)
      .I64(entry.balance)
      .Str(entry.counterparty)
      .Finish();
}

bool DecodeEntryValue(std::string_view value, AuditEntry* out) {
  ValueReader reader(value);
  out->unit = static_cast<schema::Unit>(reader.U8());
  out->time_us = reader.I64();
  out->kind = static_cast<schema::Event::Body::Which>(reader.U32());
  out->delta = reader.I64();
  out->balance = reader.I64();
  out->counterparty = reader.Str();
  return reader.ok();
}

struct Tip {
  int64_t balance = 0;
  uint64_t entries = 0;
};

bool DecodeTip(std::string_view value, Tip* tip) {
  ValueReader reader(value);
  tip->balance = reader.I64();
  tip->entries = reader.U64();
  return reader.ok();
}

// Scans entry rows under `prefix` (relative to the projection's rows) in [from_us, to_us).
Status ScanEntries(const RowStore& store, std::string_view prefix, int64_t from_us, int64_t to_us,
                   const std::function<bool(const AuditEntry&)>& visit) {
  const std::string rows = RowPrefix(kAuditName);
  Status problem;
  Status scan = ScanPrefix(
      store, rows + std::string(prefix), [&](std::string_view key, std::string_view value) {
        AuditEntry entry;
        key.remove_prefix(rows.size());
        if (!DecodeEntryKey(key, &entry) || !DecodeEntryValue(value, &entry)) {
          problem = Status::Corruption("audit: row " + DescribeBytes(key) + " does not decode");
          return false;
        }
        if (entry.time_us < from_us) return true;
        // The ledger clock never goes backwards: nothing later is in range.
        if (entry.time_us >= to_us) return false;
        return visit(entry);
      });
  MULIN_RETURN_IF_ERROR(scan);
  return problem;
}

}  // namespace

Status AuditTrailProjection::Apply(const EventContext& context, Rows* rows) {
  const std::vector<domain::Posting>& postings = *context.postings;
  for (size_t i = 0; i < postings.size(); ++i) {
    const domain::Posting& posting = postings[i];
    Result<std::string*> tip_value = rows->Mutable(TipKey(posting.account, posting.unit));
    if (!tip_value.ok()) return tip_value.status();
    Tip tip;
    if (!(*tip_value)->empty() && !DecodeTip(**tip_value, &tip)) {
      return Status::Corruption(
          "audit: the running balance of " + posting.account + " does not decode", context.seq);
    }
    if (__builtin_add_overflow(tip.balance, posting.delta, &tip.balance)) {
      return Status::Corruption("audit: " + posting.account + " overflows int64", context.seq);
    }
    ++tip.entries;
    **tip_value = ValueWriter().I64(tip.balance).U64(tip.entries).Finish();
    AuditEntry entry;
    entry.unit = posting.unit;
    entry.time_us = context.event.getRecordedAtUs();
    entry.kind = context.event.getBody().which();
    entry.delta = posting.delta;
    entry.balance = tip.balance;
    entry.counterparty = Counterparty(postings, i);
    rows->Append(EntryKey(posting.account, context.seq, static_cast<uint32_t>(i)),
                 EncodeEntryValue(entry));
  }
  return Status::Ok();
}

std::string AuditTrailProjection::DescribeKey(std::string_view row_key) const {
  AuditEntry entry;
  if (DecodeEntryKey(row_key, &entry)) {
    return entry.account + " seq " + std::to_string(entry.seq) + " posting " +
           std::to_string(entry.index);
  }
  std::string_view rest = row_key.substr(row_key.empty() ? 0 : 1);
  std::string account;
  if (!row_key.empty() && row_key[0] == kTipTag && ReadKeyString(&rest, &account) &&
      rest.size() == 1) {
    return account + " " + UnitName(static_cast<schema::Unit>(rest[0])) + " running balance";
  }
  return "row " + DescribeBytes(row_key);
}

std::string AuditTrailProjection::DescribeValue(std::string_view row_key,
                                                std::string_view value) const {
  if (!row_key.empty() && row_key[0] == kTipTag) {
    Tip tip;
    if (!DecodeTip(value, &tip)) return DescribeBytes(value);
    return std::to_string(tip.balance) + " after " + std::to_string(tip.entries) + " postings";
  }
  AuditEntry entry;
  if (!DecodeEntryValue(value, &entry)) return DescribeBytes(value);
  return FormatSigned(entry.delta) + " " + UnitName(entry.unit) + " at " +
         FormatTime(entry.time_us) + " by " + ledger::EventKindName(entry.kind) + " against " +
         entry.counterparty + ", balance " + std::to_string(entry.balance);
}

Status ScanAuditTrail(const RowStore& store, std::string_view account, int64_t from_us,
                      int64_t to_us, const std::function<bool(const AuditEntry&)>& visit) {
  std::string prefix(1, kEntryTag);
  AppendKeyString(&prefix, account);
  return ScanEntries(store, prefix, from_us, to_us, visit);
}

Status ScanAllAuditEntries(const RowStore& store,
                           const std::function<bool(const AuditEntry&)>& visit) {
  return ScanEntries(store, std::string(1, kEntryTag), kTimeMin, kTimeMax, visit);
}

}  // namespace mulin::projections
