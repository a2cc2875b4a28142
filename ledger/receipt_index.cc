#include "ledger/receipt_index.h"

#include <rocksdb/db.h>
#include <xxhash.h>

#include <optional>
#include <utility>

#include "ledger/event_codec.h"
#include "ledger/record_format.h"

namespace mulin::ledger {
namespace {

constexpr uint8_t kReceiptFormat = 1;
constexpr std::string_view kMarkerKey = "receipts";
// The fixed part of a value: format, five fixed64 fields, two length prefixes; then the ids and
// the fixed64 check.
constexpr size_t kFixedBytes = 1 + 5 * 8 + 2 * 4;
constexpr size_t kCheckBytes = 8;
// A catch-up writes one synced batch per this many events read.
constexpr uint64_t kCatchUpBatchEvents = 16384;

using Body = schema::Event::Body;

std::string Key(char kind, capnp::Text::Reader id) {
  std::string key(1, kind);
  key.append(id.cStr(), id.size());
  return key;
}

std::string Str(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

// Seeded with the key's own hash, so that a value moved under another key fails as well.
uint64_t Check(std::string_view key, std::string_view covered) {
  return XXH3_64bits_withSeed(covered.data(), covered.size(), XXH3_64bits(key.data(), key.size()));
}

Status Damaged(std::string_view key, const std::string& what) {
  return Status::Corruption("receipt index entry of " + DescribeReceipt(key) + " " + what);
}

}  // namespace

std::string DescribeReceipt(std::string_view key) {
  if (key.empty()) return "(empty key)";
  const char* kind = key[0] == kRedemptionReceipt ? "redemption"
                     : key[0] == kSaleReceipt     ? "sale"
                                                  : "of unknown kind";
  return std::string(kind) + " '" + std::string(key.substr(1)) + "'";
}

Result<std::optional<uint64_t>> ReadReceiptMarker(Store* store) {
  std::string marker;
  rocksdb::Status s =
      store->db()->Get(rocksdb::ReadOptions(), store->meta(),
                       rocksdb::Slice(kMarkerKey.data(), kMarkerKey.size()), &marker);
  if (s.IsNotFound()) return std::optional<uint64_t>();
  if (!s.ok()) return FromRocks(s, "reading the receipt index marker");
  if (marker.size() != 8) return Status::Corruption("the receipt index marker is damaged");
  return std::optional<uint64_t>(GetFixed64(marker.data()));
}

bool Receipt::operator==(const Receipt& other) const {
  return seq == other.seq && reversed_seq == other.reversed_seq &&
         recorded_at_us == other.recorded_at_us && amount == other.amount &&
         contribution_fen == other.contribution_fen && volunteer_id == other.volunteer_id &&
         merchant_id == other.merchant_id;
}

std::string ReceiptKeyOf(schema::Command::Reader command) {
  auto body = command.getBody();
  switch (body.which()) {
    case schema::Command::Body::REDEEM:
      return Key(kRedemptionReceipt, body.getRedeem().getRedemptionId());
    case schema::Command::Body::REVERSE_REDEMPTION:
      return Key(kRedemptionReceipt, body.getReverseRedemption().getRedemptionId());
    case schema::Command::Body::RECORD_SALE:
      return Key(kSaleReceipt, body.getRecordSale().getSaleId());
    case schema::Command::Body::REVERSE_SALE:
      return Key(kSaleReceipt, body.getReverseSale().getSaleId());
    default:
      return std::string();
  }
}

std::string ReceiptKeyOf(schema::Event::Reader event) {
  auto body = event.getBody();
  switch (body.which()) {
    case Body::POINTS_REDEEMED:
      return Key(kRedemptionReceipt, body.getPointsRedeemed().getRedemptionId());
    case Body::REDEMPTION_REVERSED:
      return Key(kRedemptionReceipt, body.getRedemptionReversed().getRedemptionId());
    case Body::SALE_RECORDED:
      return Key(kSaleReceipt, body.getSaleRecorded().getSaleId());
    case Body::SALE_REVERSED:
      return Key(kSaleReceipt, body.getSaleReversed().getSaleId());
    default:
      return std::string();
  }
}

std::string EncodeReceipt(std::string_view key, const Receipt& receipt) {
  std::string value;
  value.reserve(kFixedBytes + receipt.volunteer_id.size() + receipt.merchant_id.size() +
                kCheckBytes);
  value.push_back(static_cast<char>(kReceiptFormat));
  PutFixed64(&value, receipt.seq);
  PutFixed64(&value, receipt.reversed_seq);
  PutFixed64(&value, static_cast<uint64_t>(receipt.recorded_at_us));
  PutFixed64(&value, static_cast<uint64_t>(receipt.amount));
  PutFixed64(&value, static_cast<uint64_t>(receipt.contribution_fen));
  PutFixed32(&value, static_cast<uint32_t>(receipt.volunteer_id.size()));
  value += receipt.volunteer_id;
  PutFixed32(&value, static_cast<uint32_t>(receipt.merchant_id.size()));
  value += receipt.merchant_id;
  PutFixed64(&value, Check(key, value));
  return value;
}

Result<Receipt> DecodeReceipt(std::string_view key, std::string_view value) {
  if (key.empty() || (key[0] != kRedemptionReceipt && key[0] != kSaleReceipt)) {
    return Damaged(key, "has a key of no known kind");
  }
  if (value.size() < kFixedBytes + kCheckBytes) {
    return Damaged(key, "is " + std::to_string(value.size()) + " bytes, too short");
  }
  const std::string_view covered = value.substr(0, value.size() - kCheckBytes);
  if (GetFixed64(value.data() + covered.size()) != Check(key, covered)) {
    return Damaged(key, "fails its checksum");
  }
  if (static_cast<uint8_t>(value[0]) != kReceiptFormat) {
    return Damaged(key, "has format " + std::to_string(static_cast<uint8_t>(value[0])));
  }
  Receipt receipt;
  const char* p = value.data() + 1;
  receipt.seq = GetFixed64(p);
  receipt.reversed_seq = GetFixed64(p + 8);
  receipt.recorded_at_us = static_cast<int64_t>(GetFixed64(p + 16));
  receipt.amount = static_cast<int64_t>(GetFixed64(p + 24));
  receipt.contribution_fen = static_cast<int64_t>(GetFixed64(p + 32));
  size_t at = 1 + 40;
  for (std::string* id : {&receipt.volunteer_id, &receipt.merchant_id}) {
    if (covered.size() < at + 4) return Damaged(key, "is truncated");
    const uint32_t length = GetFixed32(covered.data() + at);
    at += 4;
    if (covered.size() - at < length) return Damaged(key, "is truncated");
    id->assign(covered.data() + at, length);
    at += length;
  }
  if (at != covered.size()) return Damaged(key, "has trailing bytes");
  if (receipt.seq == 0 || (receipt.reversed_seq != 0 && receipt.reversed_seq <= receipt.seq)) {
    return Damaged(key, "has seqs out of order");
  }
  return receipt;
}

std::optional<Receipt> ReceiptCreatedBy(schema::Event::Reader event) {
  auto body = event.getBody();
  Receipt receipt;
  switch (body.which()) {
    case Body::POINTS_REDEEMED: {
      auto r = body.getPointsRedeemed();
      receipt.volunteer_id = Str(r.getVolunteerId());
      receipt.merchant_id = Str(r.getMerchantId());
      receipt.amount = r.getPoints();
      break;
    }
    case Body::SALE_RECORDED: {
      auto s = body.getSaleRecorded();
      receipt.merchant_id = Str(s.getMerchantId());
      receipt.amount = s.getGrossFen();
      receipt.contribution_fen = s.getContributionFen();
      break;
    }
    default:
      return std::nullopt;
  }
  receipt.seq = event.getSeq();
  receipt.recorded_at_us = event.getRecordedAtUs();
  return receipt;
}

Status ReceiptBatch::Add(schema::Event::Reader event, domain::IdMap<Receipt>* known) {
  std::string key = ReceiptKeyOf(event);
  if (key.empty()) return Status::Ok();
  std::optional<Receipt> receipt = ReceiptCreatedBy(event);
  if (!receipt.has_value()) {  // a reversal, of a receipt `known` must hold
    auto there = known->find(key);
    if (there == known->end()) {
      return Status::Corruption("event " + std::to_string(event.getSeq()) + " reverses " +
                                    DescribeReceipt(key) + ", which the index does not hold",
                                event.getSeq());
    }
    receipt = there->second;
    receipt->reversed_seq = event.getSeq();
  }
  known->insert_or_assign(key, *receipt);
  receipts_.emplace_back(std::move(key), std::move(*receipt));
  return Status::Ok();
}

void ReceiptBatch::WriteTo(Store* store, uint64_t through_seq, rocksdb::WriteBatch* batch) const {
  for (const auto& [key, receipt] : receipts_) {
    batch->Put(store->receipts(), key, EncodeReceipt(key, receipt));
  }
  std::string marker;
  PutFixed64(&marker, through_seq);
  batch->Put(store->meta(), rocksdb::Slice(kMarkerKey.data(), kMarkerKey.size()), marker);
}

Status LoadReceipts(Store* store, const std::vector<std::string>& keys, domain::State* state,
                    domain::IdMap<Receipt>* found, domain::IdMap<Status>* damaged,
                    std::vector<size_t>* held) {
  std::vector<rocksdb::Slice> slices;
  slices.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string& key = keys[i];
    const bool in_state = key[0] == kRedemptionReceipt
                              ? state->redemptions.count(key.substr(1)) != 0
                              : state->sales.count(key.substr(1)) != 0;
    if (!in_state && found->count(key) == 0) {
      slices.emplace_back(key);
    } else if (held != nullptr) {
      held->push_back(i);
    }
  }
  if (slices.empty()) return Status::Ok();
  std::vector<rocksdb::PinnableSlice> values;
  std::vector<rocksdb::Status> statuses;
  store->MultiGet(store->receipts(), slices, &values, &statuses);
  const uint64_t as_of = state->last_seq;
  for (size_t i = 0; i < slices.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return FromRocks(statuses[i], "reading the receipt index");
    const std::string_view key(slices[i].data(), slices[i].size());
    Result<Receipt> receipt =
        DecodeReceipt(key, std::string_view(values[i].data(), values[i].size()));
    if (!receipt.ok()) {
      if (damaged == nullptr) return receipt.status();
      damaged->emplace(std::string(key), receipt.status());
      continue;
    }
    if (receipt->seq <= as_of) {
      const bool reversed = receipt->reversed_seq != 0 && receipt->reversed_seq <= as_of;
      std::string id(key.substr(1));
      if (key[0] == kRedemptionReceipt) {
        state->redemptions.emplace(
            std::move(id),
            domain::Redemption{receipt->seq, receipt->volunteer_id, receipt->merchant_id,
                               receipt->amount, receipt->recorded_at_us, reversed});
      } else {
        state->sales.emplace(std::move(id),
                             domain::Sale{receipt->seq, receipt->merchant_id, receipt->amount,
                                          receipt->contribution_fen, reversed});
      }
    }
    found->emplace(std::string(key), std::move(receipt).value());
  }
  return Status::Ok();
}

void DropReceipts(domain::State* state) {
  // Assigned afresh rather than cleared: clear() keeps (and walks) every bucket a large map had.
  if (!state->redemptions.empty()) state->redemptions = {};
  if (!state->sales.empty()) state->sales = {};
}

Result<uint64_t> CatchUpReceipts(Store* store, const EventLog& log) {
  Result<std::optional<uint64_t>> marker = ReadReceiptMarker(store);
  if (!marker.ok()) return marker.status();
  const uint64_t through = marker->value_or(0);
  const uint64_t head = log.head().seq;
  if (through > head) {
    return Status::Corruption("the receipt index is at seq " + std::to_string(through) +
                              ", past the log's head " + std::to_string(head));
  }
  if (through == head) return 0;
  ReceiptBatch batch;
  domain::IdMap<Receipt> base;
  uint64_t read = 0;
  std::unique_ptr<LogCursor> cursor = log.NewCursor(through + 1, head);
  for (; cursor->Valid(); cursor->Next()) {
    Result<DecodedEvent> decoded = DecodeEvent(cursor->payload(), cursor->seq());
    if (!decoded.ok()) return decoded.status();
    const schema::Event::Reader event = decoded->event();
    const Body::Which kind = event.getBody().which();
    const std::string key = ReceiptKeyOf(event);
    if ((kind == Body::REDEMPTION_REVERSED || kind == Body::SALE_REVERSED) && !base.count(key)) {
      // The receipt it reverses: from this batch, or else from the index (read as of the head).
      std::string value;
      rocksdb::Status got =
          store->db()->Get(rocksdb::ReadOptions(), store->receipts(), key, &value);
      if (got.ok()) {
        Result<Receipt> receipt = DecodeReceipt(key, value);
        if (!receipt.ok()) return receipt.status();
        base.emplace(key, std::move(receipt).value());
      } else if (!got.IsNotFound()) {
        return FromRocks(got, "reading the receipt index");
      }
    }
    MULIN_RETURN_IF_ERROR(batch.Add(event, &base));
    if (++read % kCatchUpBatchEvents == 0 || cursor->seq() == head) {
      rocksdb::WriteBatch write;
      batch.WriteTo(store, cursor->seq(), &write);
      MULIN_RETURN_IF_ERROR(store->Write(&write, /*sync=*/true));
      batch.clear();
      base.clear();  // all of it is in the index now
    }
  }
  MULIN_RETURN_IF_ERROR(cursor->status());
  if (read != head - through) {
    return Status::Corruption("the receipt index read " + std::to_string(read) +
                              " events after seq " + std::to_string(through) + ", expected " +
                              std::to_string(head - through));
  }
  return read;
}

}  // namespace mulin::ledger
