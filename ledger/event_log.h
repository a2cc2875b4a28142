// EventLog: the append-only, tamper-evident log of a ledger.
//
// The log knows bytes and sequence numbers, not the domain. Each Append writes, in one synced
// RocksDB WriteBatch: the records (ledger/record_format.h), the request-id index entries and the
// new head. Either all of it is on disk when Append returns ok, or none of it is.
//
// Column family `requests`:
//   key   := request key (opaque bytes chosen by the writer; ≤ kRequestKeyBytesMax)
//   value := first_seq: fixed64 LE  event_count: fixed32 LE  content_hash: u8[32]
// Column family `meta`:
//   "head"   → seq: fixed64 LE  chain: u8[32]        (the last record; seq 0 = empty log)
//   "format" → version: fixed32 LE                   (= kLogFormatVersion)
//
// Thread-safety: Append must be called by one thread at a time (the writer); head(), FindRequest()
// and cursors are safe from any thread, also while Append runs. A cursor sees the records that
// were appended when it was created.
#ifndef MULIN_LEDGER_EVENT_LOG_H_
#define MULIN_LEDGER_EVENT_LOG_H_

#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/record_format.h"
#include "ledger/status.h"
#include "ledger/store.h"

namespace mulin::ledger {

inline constexpr uint32_t kLogFormatVersion = 1;
inline constexpr size_t kRequestKeyBytesMax = 256;
// Bounds one Append: the writer's group commit never needs more, and it bounds the batch's memory.
inline constexpr size_t kAppendRecordsMax = 64 * 1024;

using ContentHash = std::array<uint8_t, 32>;

struct Head {
  uint64_t seq = 0;  // 0: the log is empty
  ChainHash chain = kGenesisChain;
  bool operator==(const Head& other) const { return seq == other.seq && chain == other.chain; }
};

struct RequestRecord {
  uint64_t first_seq = 0;    // seq of the first event the request produced
  uint32_t event_count = 0;  // events it produced (may be 0)
  ContentHash content_hash{};
};

struct RequestEntry {
  std::string key;
  RequestRecord record;
};

// Reads records in seq order, verifying each record's checksum and that no seq is missing.
// On any problem Valid() turns false and status() names the seq.
class LogCursor {
 public:
  bool Valid() const { return valid_; }
  const Status& status() const { return status_; }
  uint64_t seq() const { return seq_; }
  std::string_view payload() const { return record_.payload; }
  const ChainHash& chain() const { return record_.chain; }
  void Next();

 private:
  friend class EventLog;
  LogCursor(std::unique_ptr<rocksdb::Iterator> it, uint64_t from_seq, uint64_t to_seq);
  void Load();

  // RocksDB keeps a pointer to the bound Slice, which points into the key: both outlive it_.
  std::string upper_bound_key_;
  rocksdb::Slice upper_bound_;
  std::unique_ptr<rocksdb::Iterator> it_;
  uint64_t seq_ = 0;  // the record under the cursor, or the one expected next
  uint64_t to_seq_ = 0;
  bool valid_ = false;
  Status status_;
  RecordView record_;
};

class EventLog {
 public:
  struct Options {
    // Check at open that the head in `meta` matches the last stored record. `mulin verify` turns
    // this off to report the mismatch itself, with everything else it finds.
    bool check_head = true;
  };

  // Borrows `store`, which must outlive the log.
  static Result<std::unique_ptr<EventLog>> Open(Store* store, const Options& options);
  static Result<std::unique_ptr<EventLog>> Open(Store* store) { return Open(store, Options()); }

  Head head() const;
  // The head as stored in `meta`, read afresh (verify compares it with the records), or as of
  // `snapshot` when one is given.
  Result<Head> ReadStoredHead(const rocksdb::Snapshot* snapshot = nullptr) const;

  // Appends `payloads` as seq head+1, head+2, ... and records `requests`, atomically and durably.
  // A payload over kRecordPayloadBytesMax, or a request key over kRequestKeyBytesMax, fails the
  // whole call with kInvalidArgument and appends nothing. `with`, when given, holds more writes
  // that land in the same batch, all or nothing with the records (the writer's receipt index);
  // the records are added to it.
  Status Append(const std::vector<std::string>& payloads, const std::vector<RequestEntry>& requests,
                rocksdb::WriteBatch* with = nullptr);

  // The record of a request key, or nullopt when it was never recorded.
  Result<std::optional<RequestRecord>> FindRequest(std::string_view key) const;
  // The same for many keys in one RocksDB MultiGet; results in the order of `keys`.
  Result<std::vector<std::optional<RequestRecord>>> FindRequests(
      const std::vector<std::string_view>& keys) const;

  // A cursor over [from_seq, to_seq]; to_seq = 0 means the head at the time of the call.
  std::unique_ptr<LogCursor> NewCursor(uint64_t from_seq, uint64_t to_seq = 0) const;
  // A cursor over [from_seq, to_seq] as of `snapshot`, for a caller that read the stored head at
  // that snapshot (ReadStoredHead) and passes a to_seq within it. head() is not consulted: it is
  // set after each append's write lands, so for a moment it lags the stored head, and a cursor
  // bounded by it would stop short of records the caller knows are there. A null snapshot reads
  // the live log.
  std::unique_ptr<LogCursor> NewCursorAt(const rocksdb::Snapshot* snapshot, uint64_t from_seq,
                                         uint64_t to_seq) const;

  // Reads one record's payload (checksum verified).
  Result<std::string> ReadPayload(uint64_t seq) const;

  Store* store() const { return store_; }

 private:
  explicit EventLog(Store* store) : store_(store) {}
  static Result<RequestRecord> DecodeRequest(std::string_view value);
  Status CheckHead(const Head& stored);

  Store* store_;
  mutable std::mutex head_mu_;
  Head head_;  // guarded by head_mu_
};

}  // namespace mulin::ledger

#endif  // MULIN_LEDGER_EVENT_LOG_H_
