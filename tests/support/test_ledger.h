// TestLedger: a ledger in a directory for log-level and CLI tests, with the raw RocksDB access that
// a failing disk, an editor or a forger has: read, overwrite and delete stored records and the head
// behind the log's back. Raw writes go straight to the `events` and `meta` column families in the
// stored formats of ledger/record_format.h and ledger/event_log.h.
// Thread-safety: one thread at a time, like the tests that use it.
#ifndef MULIN_TESTS_SUPPORT_TEST_LEDGER_H_
#define MULIN_TESTS_SUPPORT_TEST_LEDGER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/status.h"
#include "ledger/store.h"
#include "ledger/verify.h"

namespace mulin::testing {

class TestLedger {
 public:
  explicit TestLedger(std::string dir) : dir_(std::move(dir)) {}

  // Opens the ledger read-write (creating it when missing), closing any earlier open first.
  // `check_head` is EventLog::Options::check_head; tests of damaged logs open without it so that
  // Verify can report what it finds, as `mulin verify` does.
  Status Open(bool check_head = true);
  void Close();

  ledger::EventLog& log() { return *log_; }
  ledger::Store& store() { return *store_; }
  const std::string& dir() const { return dir_; }

  // Appends `count` redemption events (tests/support/events.h) with envelope seqs that continue
  // the log, in batches of at most `batch_records` records.
  Status AppendRedemptions(size_t count, size_t batch_records = 64);
  // Appends the next `count` events alternating redemptions and market sales.
  Status AppendMixed(size_t count);

  // Raw access to stored records, bypassing every check of the log.
  Result<std::string> ReadRaw(uint64_t seq);
  Status WriteRaw(uint64_t seq, std::string_view record);
  Status DeleteRaw(uint64_t seq);
  // Overwrites the stored head as a forger who rewrote the records after it would.
  Status WriteRawHead(const ledger::Head& head);

  // Verify with `threads` workers and an optional auditor's checkpoint.
  Result<ledger::VerifyReport> Verify(int threads = 2,
                                      std::optional<ledger::Head> expect = std::nullopt);

 private:
  std::string dir_;
  std::unique_ptr<ledger::Store> store_;
  std::unique_ptr<ledger::EventLog> log_;
};

// A market sale of `gross_fen` at `seq` with its 10% contribution, recorded at `seq` seconds.
std::string SalePayload(uint64_t seq, int64_t gross_fen);

// `bytes` with the byte at `index` XORed with `mask` (mask != 0, so the byte always changes).
std::string FlipByte(std::string bytes, size_t index, uint8_t mask);

// A record for `seq` framed by EncodeRecord, as a forger who knows the format would write it.
std::string ForgeRecord(uint64_t seq, std::string_view payload, const ledger::ChainHash& chain);

}  // namespace mulin::testing

#endif  // MULIN_TESTS_SUPPORT_TEST_LEDGER_H_
