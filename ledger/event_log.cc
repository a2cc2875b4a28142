#include "ledger/event_log.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace mulin::ledger {
namespace {

constexpr std::string_view kHeadKey = "head";
constexpr std::string_view kFormatKey = "format";
constexpr size_t kHeadValueBytes = 8 + kChainHashBytes;
constexpr size_t kRequestValueBytes = 8 + 4 + 32;
// Scans read sequentially; a large readahead turns them into few big reads.
constexpr size_t kScanReadaheadBytes = 2 * 1024 * 1024;

std::string EncodeHead(const Head& head) {
  std::string out;
  PutFixed64(&out, head.seq);
  out.append(reinterpret_cast<const char*>(head.chain.data()), head.chain.size());
  return out;
}

std::string EncodeRequest(const RequestRecord& record) {
  std::string out;
  PutFixed64(&out, record.first_seq);
  PutFixed32(&out, record.event_count);
  out.append(reinterpret_cast<const char*>(record.content_hash.data()), record.content_hash.size());
  return out;
}

}  // namespace

LogCursor::LogCursor(std::unique_ptr<rocksdb::Iterator> it, uint64_t from_seq, uint64_t to_seq)
    : it_(std::move(it)), seq_(from_seq), to_seq_(to_seq) {}

void LogCursor::Load() {
  valid_ = false;
  if (seq_ > to_seq_ || !status_.ok()) return;
  if (!it_->Valid()) {
    const rocksdb::Status& s = it_->status();
    if (s.ok()) {
      status_ = Status::Corruption("record " + std::to_string(seq_) +
                                       " is missing: the log ends before the head (seq " +
                                       std::to_string(to_seq_) + ")",
                                   seq_);
    } else if (s.IsCorruption()) {
      // RocksDB found a damaged block (its own checksum); the record expected next is the first
      // one that cannot be read, and the report must name it like any other bad record.
      status_ = Status::Corruption("record " + std::to_string(seq_) + ": " + s.ToString(), seq_);
    } else {
      status_ = FromRocks(s, "reading record " + std::to_string(seq_));
    }
    return;
  }
  uint64_t stored_seq = 0;
  if (!DecodeSeqKey(std::string_view(it_->key().data(), it_->key().size()), &stored_seq)) {
    status_ = Status::Corruption("malformed key after record " + std::to_string(seq_ - 1), seq_);
    return;
  }
  if (stored_seq != seq_) {
    status_ = Status::Corruption("record " + std::to_string(seq_) + " is missing (next stored is " +
                                     std::to_string(stored_seq) + ")",
                                 seq_);
    return;
  }
  Result<RecordView> record =
      DecodeRecord(seq_, std::string_view(it_->value().data(), it_->value().size()));
  if (!record.ok()) {
    status_ = record.status();
    return;
  }
  record_ = *record;
  valid_ = true;
}

void LogCursor::Next() {
  assert(valid_);
  ++seq_;
  it_->Next();
  Load();
}

Result<std::unique_ptr<EventLog>> EventLog::Open(Store* store, const Options& options) {
  std::unique_ptr<EventLog> log(new EventLog(store));
  rocksdb::DB* db = store->db();
  std::string format;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), store->meta(), kFormatKey, &format);
  if (s.IsNotFound()) {
    if (!store->read_only()) {
      rocksdb::WriteBatch batch;
      std::string value;
      PutFixed32(&value, kLogFormatVersion);
      batch.Put(store->meta(), kFormatKey, value);
      MULIN_RETURN_IF_ERROR(store->Write(&batch, /*sync=*/true));
    }
  } else if (!s.ok()) {
    return FromRocks(s, "reading log format");
  } else if (format.size() != 4 || GetFixed32(format.data()) != kLogFormatVersion) {
    return Status::Corruption("unsupported log format in " + store->dir() +
                              " (this build reads version " + std::to_string(kLogFormatVersion) +
                              ")");
  }
  Result<Head> stored = log->ReadStoredHead();
  if (!stored.ok()) return stored.status();
  if (options.check_head) MULIN_RETURN_IF_ERROR(log->CheckHead(*stored));
  log->head_ = *stored;
  return log;
}

Result<Head> EventLog::ReadStoredHead(const rocksdb::Snapshot* snapshot) const {
  std::string value;
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot;
  rocksdb::Status s = store_->db()->Get(read_options, store_->meta(), kHeadKey, &value);
  if (s.IsNotFound()) return Head();
  if (!s.ok()) return FromRocks(s, "reading log head");
  if (value.size() != kHeadValueBytes) {
    return Status::Corruption("stored head has " + std::to_string(value.size()) + " bytes, not " +
                              std::to_string(kHeadValueBytes));
  }
  Head head;
  head.seq = GetFixed64(value.data());
  std::memcpy(head.chain.data(), value.data() + 8, kChainHashBytes);
  return head;
}

Status EventLog::CheckHead(const Head& stored) {
  rocksdb::ReadOptions read_options;
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(read_options, store_->events()));
  it->SeekToLast();
  if (!it->status().ok()) return FromRocks(it->status(), "finding the last record");
  if (!it->Valid()) {
    if (stored.seq == 0) return Status::Ok();
    return Status::Corruption(
        "head names seq " + std::to_string(stored.seq) + " but the log holds no records", 1);
  }
  uint64_t last_seq = 0;
  if (!DecodeSeqKey(std::string_view(it->key().data(), it->key().size()), &last_seq)) {
    return Status::Corruption("malformed key at the end of the log");
  }
  if (last_seq != stored.seq) {
    return Status::Corruption("head names seq " + std::to_string(stored.seq) +
                                  " but the last record is seq " + std::to_string(last_seq),
                              std::min(last_seq, stored.seq) + 1);
  }
  Result<RecordView> record =
      DecodeRecord(last_seq, std::string_view(it->value().data(), it->value().size()));
  if (!record.ok()) return record.status();
  if (record->chain != stored.chain) {
    return Status::Corruption("head chain hash does not match record " + std::to_string(last_seq),
                              last_seq);
  }
  return Status::Ok();
}

Head EventLog::head() const {
  std::lock_guard<std::mutex> lock(head_mu_);
  return head_;
}

Status EventLog::Append(const std::vector<std::string>& payloads,
                        const std::vector<RequestEntry>& requests, rocksdb::WriteBatch* with) {
  if (store_->read_only()) return Status::InvalidArgument("ledger opened read-only");
  if (payloads.size() > kAppendRecordsMax) {
    return Status::InvalidArgument("append of " + std::to_string(payloads.size()) +
                                   " records exceeds the limit of " +
                                   std::to_string(kAppendRecordsMax));
  }
  for (const std::string& payload : payloads) {
    if (payload.size() > kRecordPayloadBytesMax) {
      return Status::InvalidArgument("record of " + std::to_string(payload.size()) +
                                     " bytes exceeds the limit of " +
                                     std::to_string(kRecordPayloadBytesMax));
    }
  }
  for (const RequestEntry& request : requests) {
    if (request.key.empty() || request.key.size() > kRequestKeyBytesMax) {
      return Status::InvalidArgument("request id must be 1 to " +
                                     std::to_string(kRequestKeyBytesMax) + " bytes");
    }
  }
  Head next = head();
  rocksdb::WriteBatch own;
  rocksdb::WriteBatch& batch = with != nullptr ? *with : own;
  std::string record;
  for (const std::string& payload : payloads) {
    ++next.seq;
    next.chain = ComputeChain(next.chain, next.seq, payload);
    record.clear();
    EncodeRecord(next.seq, payload, next.chain, &record);
    batch.Put(store_->events(), EncodeSeqKey(next.seq), record);
  }
  // The request family's memtable is a hash table (ledger/point_memtable.h): the entries go in as
  // they come.
  for (const RequestEntry& request : requests) {
    batch.Put(store_->requests(), request.key, EncodeRequest(request.record));
  }
  batch.Put(store_->meta(), kHeadKey, EncodeHead(next));
  MULIN_RETURN_IF_ERROR(store_->Write(&batch, /*sync=*/true));
  std::lock_guard<std::mutex> lock(head_mu_);
  head_ = next;
  return Status::Ok();
}

Result<std::optional<RequestRecord>> EventLog::FindRequest(std::string_view key) const {
  Result<std::vector<std::optional<RequestRecord>>> found = FindRequests({key});
  if (!found.ok()) return found.status();
  return found->front();
}

Result<std::vector<std::optional<RequestRecord>>> EventLog::FindRequests(
    const std::vector<std::string_view>& keys) const {
  std::vector<std::optional<RequestRecord>> out(keys.size());
  if (keys.empty()) return out;
  std::vector<rocksdb::Slice> slices;
  slices.reserve(keys.size());
  for (std::string_view key : keys) slices.emplace_back(key.data(), key.size());
  std::vector<rocksdb::PinnableSlice> values;
  std::vector<rocksdb::Status> statuses;
  store_->MultiGet(store_->requests(), slices, &values, &statuses);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return FromRocks(statuses[i], "reading request index");
    Result<RequestRecord> record =
        DecodeRequest(std::string_view(values[i].data(), values[i].size()));
    if (!record.ok()) return record.status();
    out[i] = *record;
  }
  return out;
}

Result<RequestRecord> EventLog::DecodeRequest(std::string_view value) {
  if (value.size() != kRequestValueBytes) {
    return Status::Corruption("request index entry has " + std::to_string(value.size()) +
                              " bytes, not " + std::to_string(kRequestValueBytes));
  }
  RequestRecord record;
  record.first_seq = GetFixed64(value.data());
  record.event_count = GetFixed32(value.data() + 8);
  std::memcpy(record.content_hash.data(), value.data() + 12, record.content_hash.size());
  return record;
}

std::unique_ptr<LogCursor> EventLog::NewCursor(uint64_t from_seq, uint64_t to_seq) const {
  const uint64_t head_seq = head().seq;
  if (to_seq == 0 || to_seq > head_seq) to_seq = head_seq;
  return NewCursorAt(nullptr, from_seq, to_seq);
}

std::unique_ptr<LogCursor> EventLog::NewCursorAt(const rocksdb::Snapshot* snapshot,
                                                 uint64_t from_seq, uint64_t to_seq) const {
  if (from_seq == 0) from_seq = 1;
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot;
  read_options.verify_checksums = true;
  read_options.fill_cache = false;
  read_options.readahead_size = kScanReadaheadBytes;
  auto cursor = std::unique_ptr<LogCursor>(new LogCursor(nullptr, from_seq, to_seq));
  cursor->upper_bound_key_ = EncodeSeqKey(to_seq + 1);
  cursor->upper_bound_ = rocksdb::Slice(cursor->upper_bound_key_);
  read_options.iterate_upper_bound = &cursor->upper_bound_;
  cursor->it_.reset(store_->db()->NewIterator(read_options, store_->events()));
  cursor->it_->Seek(EncodeSeqKey(from_seq));
  cursor->Load();
  return cursor;
}

Result<std::string> EventLog::ReadPayload(uint64_t seq) const {
  std::string value;
  rocksdb::Status s =
      store_->db()->Get(rocksdb::ReadOptions(), store_->events(), EncodeSeqKey(seq), &value);
  if (s.IsNotFound()) return Status::NotFound("no record " + std::to_string(seq));
  if (!s.ok()) return FromRocks(s, "reading record " + std::to_string(seq));
  Result<RecordView> record = DecodeRecord(seq, value);
  if (!record.ok()) return record.status();
  return std::string(record->payload);
}

}  // namespace mulin::ledger
