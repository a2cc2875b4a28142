// Receipt index: the log's redemptions and market sales by id, so that the writer's State holds
// only the ones a group of commands names instead of every one ever made.
//
// Redemptions and sales are most of a ledger's events and are looked up only by id (a new one's id
// must be unused, a reversal names the one it reverses). Kept in memory they made the State, its
// snapshots and the writer's start-up grow with the log rather than with its accounts. The index
// is written by the writer in the same WriteBatch as the events it comes from, so it is never
// behind an acknowledged event; a ledger written without it (an older build, a log filled by other
// means) is indexed at the writer's next open from the events after its marker.
//
// Column family `receipts`:
//   key   := kind: u8 ('r' redemption | 's' sale)  id: bytes
//   value := format: u8 (= 1)  seq: fixed64  reversed_seq: fixed64 (0: not reversed)
//            recorded_at_us: fixed64  amount: fixed64 (points | gross fen)
//            contribution_fen: fixed64 (sales; 0 for redemptions)
//            volunteer_len: fixed32  volunteer_id  merchant_len: fixed32  merchant_id
//            check: fixed64 = XXH3-64 of the value's bytes before it, seeded with XXH3-64(key)
// Column family `meta`:
//   "receipts" → seq: fixed64   (the index holds every receipt of the events up to seq)
//
// An entry reflects the log's head, which may be ahead of the State being built (a start-up
// replays the events after a snapshot): Load() shows a receipt only as of the State's last_seq,
// reversed only when its reversal is at or before it.
// Thread-safety: the writer's thread only (Catch-up runs before it starts).
#ifndef MULIN_LEDGER_RECEIPT_INDEX_H_
#define MULIN_LEDGER_RECEIPT_INDEX_H_

#include <rocksdb/write_batch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ledger/domain/state.h"
#include "ledger/event_log.h"
#include "ledger/schema/command.capnp.h"
#include "ledger/schema/event.capnp.h"
#include "ledger/status.h"
#include "ledger/store.h"

namespace mulin::ledger {

inline constexpr char kRedemptionReceipt = 'r';
inline constexpr char kSaleReceipt = 's';

struct Receipt {
  uint64_t seq = 0;           // of the PointsRedeemed or SaleRecorded event
  uint64_t reversed_seq = 0;  // of its reversal; 0 while not reversed
  int64_t recorded_at_us = 0;
  int64_t amount = 0;            // points of a redemption, gross fen of a sale
  int64_t contribution_fen = 0;  // of a sale
  std::string volunteer_id;      // of a redemption
  std::string merchant_id;
  bool operator==(const Receipt& other) const;
};

// The receipt key a command or an event names ("" for every other kind).
std::string ReceiptKeyOf(schema::Command::Reader command);
std::string ReceiptKeyOf(schema::Event::Reader event);

// "redemption 'RD1'", "sale 'S9'": a key as messages name it.
std::string DescribeReceipt(std::string_view key);

// The receipt a PointsRedeemed or SaleRecorded event creates (not reversed); nullopt for every
// other kind.
std::optional<Receipt> ReceiptCreatedBy(schema::Event::Reader event);

std::string EncodeReceipt(std::string_view key, const Receipt& receipt);
Result<Receipt> DecodeReceipt(std::string_view key, std::string_view value);

// Receipts being written in one batch, in the order their events come. A key twice (a redemption
// and its reversal in one group) is put twice: RocksDB keeps the later put.
class ReceiptBatch {
 public:
  // Records what `event` creates or reverses (nothing for other kinds), starting a reversal from
  // the receipt in `known` (the receipts read from the index, and those written since), and
  // updates `known` to match. A reversal of a receipt `known` lacks is kCorruption: the event did
  // not come from this log.
  Status Add(schema::Event::Reader event, domain::IdMap<Receipt>* known);
  // Puts every receipt, then the marker `through_seq`, into `batch`.
  void WriteTo(Store* store, uint64_t through_seq, rocksdb::WriteBatch* batch) const;
  bool empty() const { return receipts_.empty(); }
  size_t size() const { return receipts_.size(); }
  void clear() { receipts_.clear(); }

 private:
  std::vector<std::pair<std::string, Receipt>> receipts_;
};

// Reads the receipts of `keys` (one MultiGet) into `found` and, as of state->last_seq, into the
// State's redemptions and sales. Keys absent from the index, or already in the State or in
// `found`, are skipped; with `held` given, the positions in `keys` of those already there are
// appended to it. An entry that does not decode is kCorruption; with `damaged` given, it is noted
// there by key instead and the other keys load (one bad entry fails only the commands that name
// it).
Status LoadReceipts(Store* store, const std::vector<std::string>& keys, domain::State* state,
                    domain::IdMap<Receipt>* found, domain::IdMap<Status>* damaged = nullptr,
                    std::vector<size_t>* held = nullptr);

// Empties the State's redemptions and sales, which the index holds.
void DropReceipts(domain::State* state);

// The seq the index covers (its marker), or nullopt when the ledger was never indexed.
Result<std::optional<uint64_t>> ReadReceiptMarker(Store* store);

// Indexes the events after the marker, up to the head, in synced batches. Returns how many events
// it read (0 when the index was current).
Result<uint64_t> CatchUpReceipts(Store* store, const EventLog& log);

}  // namespace mulin::ledger

#endif  // MULIN_LEDGER_RECEIPT_INDEX_H_
