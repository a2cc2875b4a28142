#include "tests/support/test_ledger.h"

#include <capnp/message.h>
#include <rocksdb/options.h>

#include <algorithm>

#include "ledger/event_codec.h"
#include "ledger/schema/event.capnp.h"
#include "tests/support/events.h"

namespace mulin::testing {
namespace {

// The stored head's key and value layout, as ledger/event_log.h writes them down.
constexpr std::string_view kHeadKey = "head";

rocksdb::WriteOptions RawWriteOptions() {
  rocksdb::WriteOptions options;
  options.sync = true;  // a test reopens right after; what it wrote must be what it reads
  return options;
}

}  // namespace

Status TestLedger::Open(bool check_head) {
  Close();
  Result<std::unique_ptr<ledger::Store>> store = ledger::Store::Open(dir_, ledger::StoreOptions());
  if (!store.ok()) return store.status();
  store_ = std::move(store).value();
  ledger::EventLog::Options options;
  options.check_head = check_head;
  Result<std::unique_ptr<ledger::EventLog>> log = ledger::EventLog::Open(store_.get(), options);
  if (!log.ok()) {
    store_.reset();
    return log.status();
  }
  log_ = std::move(log).value();
  return Status::Ok();
}

void TestLedger::Close() {
  log_.reset();
  store_.reset();
}

Status TestLedger::AppendRedemptions(size_t count, size_t batch_records) {
  while (count > 0) {
    const size_t n = std::min(count, batch_records);
    MULIN_RETURN_IF_ERROR(log_->Append(RedemptionPayloads(log_->head().seq + 1, n), {}));
    count -= n;
  }
  return Status::Ok();
}

Status TestLedger::AppendMixed(size_t count) {
  std::vector<std::string> payloads;
  const uint64_t first = log_->head().seq + 1;
  for (uint64_t seq = first; seq < first + count; ++seq) {
    payloads.push_back(seq % 2 == 1 ? RedemptionPayload(seq, static_cast<int64_t>(seq % 50) + 1)
                                    : SalePayload(seq, static_cast<int64_t>(seq) * 137));
  }
  return log_->Append(payloads, {});
}

Result<std::string> TestLedger::ReadRaw(uint64_t seq) {
  std::string value;
  rocksdb::Status s = store_->db()->Get(rocksdb::ReadOptions(), store_->events(),
                                        ledger::EncodeSeqKey(seq), &value);
  if (!s.ok()) return ledger::FromRocks(s, "raw read of record " + std::to_string(seq));
  return value;
}

Status TestLedger::WriteRaw(uint64_t seq, std::string_view record) {
  return ledger::FromRocks(
      store_->db()->Put(RawWriteOptions(), store_->events(), ledger::EncodeSeqKey(seq),
                        rocksdb::Slice(record.data(), record.size())),
      "raw write of record " + std::to_string(seq));
}

Status TestLedger::DeleteRaw(uint64_t seq) {
  return ledger::FromRocks(
      store_->db()->Delete(RawWriteOptions(), store_->events(), ledger::EncodeSeqKey(seq)),
      "raw delete of record " + std::to_string(seq));
}

Status TestLedger::WriteRawHead(const ledger::Head& head) {
  std::string value;
  ledger::PutFixed64(&value, head.seq);
  value.append(reinterpret_cast<const char*>(head.chain.data()), head.chain.size());
  return ledger::FromRocks(
      store_->db()->Put(RawWriteOptions(), store_->meta(),
                        rocksdb::Slice(kHeadKey.data(), kHeadKey.size()), value),
      "raw write of the head");
}

Result<ledger::VerifyReport> TestLedger::Verify(int threads, std::optional<ledger::Head> expect) {
  ledger::VerifyOptions options;
  options.threads = threads;
  options.expect = expect;
  return ledger::Verify(*log_, options);
}

std::string SalePayload(uint64_t seq, int64_t gross_fen) {
  capnp::MallocMessageBuilder message;
  auto event = message.initRoot<schema::Event>();
  event.setSeq(seq);
  event.setRecordedAtUs(static_cast<int64_t>(seq) * 1000000);
  event.setActorId("T-xs-02");
  event.setCommunityId("xishan");
  event.setRequestId("req-" + std::to_string(seq));
  auto body = event.getBody().initSaleRecorded();
  body.setSaleId("S" + std::to_string(seq));
  body.setMerchantId("M02");
  body.setGrossFen(gross_fen);
  body.setContributionRateBps(1000);
  body.setContributionFen((gross_fen * 1000 + 5000) / 10000);
  return ledger::EncodeMessage(message);
}

std::string FlipByte(std::string bytes, size_t index, uint8_t mask) {
  bytes.at(index) = static_cast<char>(static_cast<uint8_t>(bytes.at(index)) ^ mask);
  return bytes;
}

std::string ForgeRecord(uint64_t seq, std::string_view payload, const ledger::ChainHash& chain) {
  std::string record;
  ledger::EncodeRecord(seq, payload, chain, &record);
  return record;
}

}  // namespace mulin::testing
