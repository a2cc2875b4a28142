#include "ledger/receipt_check.h"

#include <rocksdb/db.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ledger/event_codec.h"
#include "ledger/receipt_index.h"

namespace mulin::ledger {
namespace {

// Events read and their entries looked up per MultiGet.
constexpr size_t kCheckChunkEvents = 16384;

}  // namespace

Result<ReceiptCheck> CheckReceiptIndex(Store* store, const EventLog& log) {
  ReceiptCheck check;
  if (store->receipts() == nullptr) return check;
  Result<std::optional<uint64_t>> marker = ReadReceiptMarker(store);
  if (!marker.ok()) return marker.status();
  if (!marker->has_value()) return check;
  check.indexed = true;
  check.through_seq = **marker;
  if (check.through_seq > log.head().seq) {
    check.problem = Status::Corruption("receipt index: it covers up to seq " +
                                       std::to_string(check.through_seq) +
                                       ", past the log's head " + std::to_string(log.head().seq));
    return check;
  }
  auto fail = [&check](const std::string& what, uint64_t seq) {
    check.problem = Status::Corruption("receipt index: " + what, seq);
    return check;
  };
  // Every event up to the marker, a chunk at a time, each chunk's entries in one MultiGet.
  uint64_t creations = 0;
  uint64_t reversals = 0;
  std::unique_ptr<LogCursor> cursor = log.NewCursor(1, check.through_seq);
  std::vector<DecodedEvent> chunk;
  std::vector<std::string> keys;
  while (cursor->Valid()) {
    chunk.clear();
    keys.clear();
    for (; cursor->Valid() && chunk.size() < kCheckChunkEvents; cursor->Next()) {
      Result<DecodedEvent> event = DecodeEvent(cursor->payload(), cursor->seq());
      if (!event.ok()) return event.status();
      std::string key = ReceiptKeyOf(event->event());
      if (key.empty()) continue;
      keys.push_back(std::move(key));
      chunk.push_back(std::move(event).value());
    }
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> values;
    std::vector<rocksdb::Status> statuses;
    store->MultiGet(store->receipts(), slices, &values, &statuses);
    for (size_t i = 0; i < chunk.size(); ++i) {
      const schema::Event::Reader event = chunk[i].event();
      const uint64_t seq = event.getSeq();
      if (statuses[i].IsNotFound()) return fail("no entry for " + DescribeReceipt(keys[i]), seq);
      if (!statuses[i].ok()) return FromRocks(statuses[i], "reading the receipt index");
      Result<Receipt> entry =
          DecodeReceipt(keys[i], std::string_view(values[i].data(), values[i].size()));
      if (!entry.ok()) return fail(entry.status().message(), seq);
      if (std::optional<Receipt> expected = ReceiptCreatedBy(event)) {
        ++creations;
        expected->reversed_seq = entry->reversed_seq;
        if (!(*expected == *entry)) {
          return fail("the entry of " + DescribeReceipt(keys[i]) + " differs from its event", seq);
        }
        if (entry->reversed_seq != 0 &&
            (entry->reversed_seq <= seq || entry->reversed_seq > check.through_seq)) {
          return fail("the entry of " + DescribeReceipt(keys[i]) + " is reversed at seq " +
                          std::to_string(entry->reversed_seq) + ", outside the log it covers",
                      seq);
        }
      } else {
        ++reversals;
        if (entry->reversed_seq != seq) {
          return fail("the entry of " + DescribeReceipt(keys[i]) + " does not record its reversal",
                      seq);
        }
      }
    }
  }
  MULIN_RETURN_IF_ERROR(cursor->status());
  // No entry beyond the log's: as many entries as creations, as many reversed as reversals.
  rocksdb::ReadOptions all;
  all.total_order_seek = true;
  std::unique_ptr<rocksdb::Iterator> it(store->db()->NewIterator(all, store->receipts()));
  uint64_t entries = 0;
  uint64_t reversed = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string key = it->key().ToString();
    Result<Receipt> entry =
        DecodeReceipt(key, std::string_view(it->value().data(), it->value().size()));
    if (!entry.ok()) return fail(entry.status().message(), 0);
    ++entries;
    if (entry->reversed_seq != 0) ++reversed;
  }
  MULIN_RETURN_IF_ERROR(FromRocks(it->status(), "reading the receipt index"));
  if (entries != creations || reversed != reversals) {
    return fail("it holds " + std::to_string(entries) + " entries (" + std::to_string(reversed) +
                    " reversed) where the log has " + std::to_string(creations) +
                    " redemptions and sales (" + std::to_string(reversals) + " reversed)",
                0);
  }
  check.receipts = entries;
  return check;
}

}  // namespace mulin::ledger
