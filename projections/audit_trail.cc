#include "projections/audit_trail.h"

#include "ledger/event_codec.h"
#include "projections/codec.h"
#include "projections/engine.h"
#include "projections/format.h"

namespace mulin::projections {
namespace {

constexpr char kPageTag = 'p';
constexpr char kTipTag = 't';

// The tip's fields, a fixed row (codec.h): the fold updates them in place.
constexpr size_t kTipBalanceField = 0;
constexpr size_t kTipEntriesField = 1;
constexpr size_t kTipFields = 2;

// The key builders write into `*key`, whose buffer the fold reuses for every posting.
void PageKey(std::string_view account, uint64_t page, std::string* key) {
  key->clear();
  key->push_back(kPageTag);
  AppendKeyString(key, account);
  AppendKeyU64(key, page);
}

void TipKey(std::string_view account, schema::Unit unit, std::string* key) {
  key->clear();
  key->push_back(kTipTag);
  AppendKeyString(key, account);
  key->push_back(static_cast<char>(unit));
}

bool DecodePageKey(std::string_view key, std::string* account, uint64_t* page) {
  if (key.empty() || key[0] != kPageTag) return false;
  key.remove_prefix(1);
  return ReadKeyString(&key, account) && ReadKeyU64(&key, page) && key.empty();
}

void AppendEntry(const AuditEntry& entry, std::string* page) {
  ValueWriter(page)
      .U64(entry.seq)
      .U32(entry.index)
      .U8(static_cast<uint8_t>(entry.unit))
      .I64(entry.time_us)
      .U32(static_cast<uint32_t>(entry.kind))
      .I64(entry.delta)
      .I64(entry.balance)
      .Str(entry.counterparty);
}

// Decodes the next entry of a page; false when the page holds no well-formed entry there.
bool ReadEntry(ValueReader* reader, AuditEntry* entry) {
  entry->seq = reader->U64();
  entry->index = reader->U32();
  entry->unit = static_cast<schema::Unit>(reader->U8());
  entry->time_us = reader->I64();
  entry->kind = static_cast<schema::Event::Body::Which>(reader->U32());
  entry->delta = reader->I64();
  entry->balance = reader->I64();
  entry->counterparty = reader->Str();
  return reader->good();
}

// Visits a page's entries in order; false when the page does not decode (or is empty, which no
// stored page is). `visit` returns false to stop early, which is not a failure.
bool ForEachEntry(std::string_view page, const std::function<bool(AuditEntry&)>& visit) {
  if (page.empty()) return false;
  ValueReader reader(page);
  AuditEntry entry;
  while (!reader.at_end()) {
    if (!ReadEntry(&reader, &entry)) return false;
    if (!visit(entry)) return true;
  }
  return true;
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

std::string EntryText(const AuditEntry& e) {
  return "seq " + std::to_string(e.seq) + " posting " + std::to_string(e.index) + ": " +
         FormatSigned(e.delta) + " " + UnitName(e.unit) + " at " + FormatTime(e.time_us) + " by " +
         ledger::EventKindName(e.kind) + " against " + e.counterparty + ", balance " +
         std::to_string(e.balance);
}

std::vector<AuditEntry> Entries(std::string_view page, bool* ok) {
  std::vector<AuditEntry> out;
  *ok = ForEachEntry(page, [&](AuditEntry& e) {
    out.push_back(e);
    return true;
  });
  return out;
}

// Scans the pages under `prefix` (relative to the projection's rows): entries in [from_us, to_us).
Status ScanPages(const RowStore& store, std::string_view prefix, int64_t from_us, int64_t to_us,
                 const std::function<bool(const AuditEntry&)>& visit) {
  const std::string rows = RowPrefix(kAuditName);
  Status problem;
  bool more = true;
  Status scan = ScanPrefix(
      store, rows + std::string(prefix), [&](std::string_view key, std::string_view value) {
        std::string account;
        uint64_t page = 0;
        key.remove_prefix(rows.size());
        const bool decoded =
            DecodePageKey(key, &account, &page) && ForEachEntry(value, [&](AuditEntry& entry) {
              if (entry.time_us < from_us) return true;
              // The ledger clock never goes backwards: nothing later is in range.
              if (entry.time_us >= to_us) return more = false;
              entry.account = account;
              return more = visit(entry);
            });
        if (!decoded) {
          problem = Status::Corruption("audit: row " + DescribeBytes(key) + " does not decode");
          return false;
        }
        return more;
      });
  MULIN_RETURN_IF_ERROR(scan);
  return problem;
}

}  // namespace

Status AuditTrailProjection::Apply(const EventContext& context, Rows* rows) {
  const std::vector<domain::Posting>& postings = *context.postings;
  for (size_t i = 0; i < postings.size(); ++i) {
    const domain::Posting& posting = postings[i];
    TipKey(posting.account, posting.unit, &key_);
    Result<std::string*> tip_value = rows->Mutable(key_);
    if (!tip_value.ok()) return tip_value.status();
    std::string* tip = *tip_value;
    if (!OpenFixedRow(tip, kTipFields)) {
      return Status::Corruption(
          "audit: the running balance of " + posting.account + " does not decode", context.seq);
    }
    int64_t balance = static_cast<int64_t>(FixedField(*tip, kTipBalanceField));
    if (__builtin_add_overflow(balance, posting.delta, &balance)) {
      return Status::Corruption("audit: " + posting.account + " overflows int64", context.seq);
    }
    SetFixedField(tip, kTipBalanceField, static_cast<uint64_t>(balance));
    AddToField(tip, kTipEntriesField, 1);
    const uint64_t page_number = context.seq / kAuditPageEvents;
    PageKey(posting.account, page_number, &key_);
    Result<std::string*> page = rows->Mutable(key_, page_number * kAuditPageEvents);
    if (!page.ok()) return page.status();
    AuditEntry& entry = entry_;  // every field but the unused account is set here
    entry.seq = context.seq;
    entry.index = static_cast<uint32_t>(i);
    entry.unit = posting.unit;
    entry.time_us = context.event.getRecordedAtUs();
    entry.kind = context.event.getBody().which();
    entry.delta = posting.delta;
    entry.balance = balance;
    entry.counterparty.assign(Counterparty(postings, i, &joined_));
    AppendEntry(entry, *page);
  }
  return Status::Ok();
}

std::string AuditTrailProjection::DescribeKey(std::string_view row_key) const {
  std::string account;
  uint64_t page = 0;
  if (DecodePageKey(row_key, &account, &page)) {
    return account + " postings of seq " + std::to_string(page * kAuditPageEvents) + ".." +
           std::to_string((page + 1) * kAuditPageEvents - 1);
  }
  std::string_view rest = row_key.substr(row_key.empty() ? 0 : 1);
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
  bool ok = false;
  const std::vector<AuditEntry> entries = Entries(value, &ok);
  if (!ok) return DescribeBytes(value);
  return std::to_string(entries.size()) + " postings, the last " + EntryText(entries.back());
}

std::pair<std::string, std::string> AuditTrailProjection::DescribeDifference(
    std::string_view row_key, std::string_view expected, std::string_view found) const {
  bool expected_ok = false;
  bool found_ok = false;
  const std::vector<AuditEntry> e = Entries(expected, &expected_ok);
  const std::vector<AuditEntry> f = Entries(found, &found_ok);
  if (row_key.empty() || row_key[0] != kPageTag || !expected_ok || !found_ok) {
    return Projection::DescribeDifference(row_key, expected, found);
  }
  for (size_t i = 0; i < e.size() || i < f.size(); ++i) {
    const std::string a = i < e.size() ? EntryText(e[i]) : "(no posting)";
    const std::string b = i < f.size() ? EntryText(f[i]) : "(no posting)";
    if (a != b) return {a, b};
  }
  return Projection::DescribeDifference(row_key, expected, found);
}

Status ScanAuditTrail(const RowStore& store, std::string_view account, int64_t from_us,
                      int64_t to_us, const std::function<bool(const AuditEntry&)>& visit) {
  std::string prefix(1, kPageTag);
  AppendKeyString(&prefix, account);
  return ScanPages(store, prefix, from_us, to_us, visit);
}

Status ScanAllAuditEntries(const RowStore& store,
                           const std::function<bool(const AuditEntry&)>& visit) {
  return ScanPages(store, std::string(1, kPageTag), kTimeMin, kTimeMax, visit);
}

}  // namespace mulin::projections
