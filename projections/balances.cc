#include "projections/balances.h"

#include "projections/codec.h"
#include "projections/engine.h"

namespace mulin::projections {
namespace {

// The value's fields, a fixed row (codec.h): the fold updates them in place.
constexpr size_t kBalanceField = 0;
constexpr size_t kPostingsField = 1;
constexpr size_t kLastSeqField = 2;
constexpr size_t kBalanceFields = 3;

// Into `*key`, whose buffer the fold reuses for every posting.
void BalanceKey(std::string_view account, schema::Unit unit, std::string* key) {
  key->clear();
  AppendKeyString(key, account);
  key->push_back(static_cast<char>(unit));
}

bool DecodeBalanceKey(std::string_view key, Balance* out) {
  if (!ReadKeyString(&key, &out->account) || key.size() != 1) return false;
  out->unit = static_cast<schema::Unit>(static_cast<uint8_t>(key[0]));
  return true;
}

bool DecodeBalanceValue(std::string_view value, Balance* out) {
  ValueReader reader(value);
  out->balance = reader.I64();
  out->postings = reader.U64();
  out->last_seq = reader.U64();
  return reader.ok();
}

}  // namespace

Status BalancesProjection::Apply(const EventContext& context, Rows* rows) {
  for (const domain::Posting& posting : *context.postings) {
    BalanceKey(posting.account, posting.unit, &key_);
    Result<std::string*> value = rows->Mutable(key_);
    if (!value.ok()) return value.status();
    std::string* row = *value;
    if (!OpenFixedRow(row, kBalanceFields)) {
      return Status::Corruption("balances: the row of " + posting.account + " does not decode",
                                context.seq);
    }
    int64_t balance = static_cast<int64_t>(FixedField(*row, kBalanceField));
    if (__builtin_add_overflow(balance, posting.delta, &balance)) {
      return Status::Corruption("balances: " + posting.account + " overflows int64", context.seq);
    }
    SetFixedField(row, kBalanceField, static_cast<uint64_t>(balance));
    AddToField(row, kPostingsField, 1);
    SetFixedField(row, kLastSeqField, context.seq);
  }
  return Status::Ok();
}

std::string BalancesProjection::DescribeKey(std::string_view row_key) const {
  Balance balance;
  if (!DecodeBalanceKey(row_key, &balance)) return "row " + DescribeBytes(row_key);
  return balance.account + " " + UnitName(balance.unit);
}

std::string BalancesProjection::DescribeValue(std::string_view row_key,
                                              std::string_view value) const {
  Balance balance;
  if (!DecodeBalanceKey(row_key, &balance) || !DecodeBalanceValue(value, &balance)) {
    return DescribeBytes(value);
  }
  return std::to_string(balance.balance) + " " + UnitName(balance.unit) + " (" +
         std::to_string(balance.postings) + " postings, last seq " +
         std::to_string(balance.last_seq) + ")";
}

Status ScanBalances(const RowStore& store, std::string_view account_prefix,
                    const std::function<bool(const Balance&)>& visit) {
  const std::string rows = RowPrefix(kBalancesName);
  Status problem;
  Status scan = ScanPrefix(
      store, rows + std::string(account_prefix), [&](std::string_view key, std::string_view value) {
        Balance balance;
        key.remove_prefix(rows.size());
        if (!DecodeBalanceKey(key, &balance) || !DecodeBalanceValue(value, &balance)) {
          problem = Status::Corruption("balances: row " + DescribeBytes(key) + " does not decode");
          return false;
        }
        return visit(balance);
      });
  MULIN_RETURN_IF_ERROR(scan);
  return problem;
}

Status ScanBalances(const RowStore& store, const std::function<bool(const Balance&)>& visit) {
  return ScanBalances(store, "", visit);
}

Result<std::vector<Balance>> ReadAccountBalances(const RowStore& store, std::string_view account) {
  std::string prefix;
  AppendKeyString(&prefix, account);
  std::vector<Balance> out;
  MULIN_RETURN_IF_ERROR(ScanBalances(store, prefix, [&](const Balance& balance) {
    out.push_back(balance);
    return true;
  }));
  return out;
}

}  // namespace mulin::projections
