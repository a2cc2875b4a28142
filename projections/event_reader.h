// EventReader (internal to the engine): reads, decodes and posts events on its own thread, ahead
// of the fold, so that on two cores decoding overlaps folding.
//
// Records arrive in seq order, in chunks; at most kReaderChunksAhead chunks wait at a time, which
// bounds the memory a fast reader can take from a slow fold. A thread that has to wait sleeps
// until half of that is there again (the fold) or free again (the reader): waking a thread costs
// the waker tens of µs on some virtual machines, so the two threads trade a wake-up every
// kReaderChunksAhead / 2 chunks instead of one every chunk. The fold hands each chunk back when
// it is done with it (Recycle): the reading thread frees its records (messages, postings) and
// refills it, so that the fold's thread, the busier one, spends nothing on that. The first record
// that fails to read or decode ends the stream; status() then names it. Thread-safety: Next and
// status are called by one thread, the fold's. Ownership: borrows the log, which must outlive the
// reader; the destructor stops and joins the thread.
#ifndef MULIN_PROJECTIONS_EVENT_READER_H_
#define MULIN_PROJECTIONS_EVENT_READER_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "ledger/domain/postings.h"
#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/status.h"

namespace mulin::projections::internal {

inline constexpr size_t kReaderChunkEvents = 256;
inline constexpr size_t kReaderChunksAhead = 32;

struct DecodedRecord {
  uint64_t seq = 0;
  ledger::ChainHash chain{};
  ledger::DecodedEvent event;
  std::vector<domain::Posting> postings;  // domain::Postings(event), computed once for every fold
};

class EventReader {
 public:
  // Starts reading records from_seq..to_seq (both ≥ 1) at once.
  EventReader(const ledger::EventLog& log, uint64_t from_seq, uint64_t to_seq);
  ~EventReader();
  EventReader(const EventReader&) = delete;
  EventReader& operator=(const EventReader&) = delete;

  // The next chunk, in seq order; empty at the end of the range or after an error.
  std::vector<DecodedRecord> Next();
  // Gives back a chunk Next returned, once the fold is done with its records.
  void Recycle(std::vector<DecodedRecord> chunk);
  // Ok, or what stopped the stream early (call after Next returned an empty chunk).
  Status status();

  // How often each thread has gone to sleep for the other: the fold for chunks, the reader for
  // room. Each sleep but the last is followed by kReaderChunksAhead / 2 chunks or more.
  struct Waits {
    uint64_t fold = 0;
    uint64_t reader = 0;
  };
  Waits waits();

 private:
  void Run(const ledger::EventLog* log, uint64_t from_seq, uint64_t to_seq);
  // Hands a chunk to the fold; false when the reader was told to stop.
  bool Push(std::vector<DecodedRecord> chunk);
  // An empty chunk to fill: a recycled one when there is one. Frees every recycled record.
  std::vector<DecodedRecord> EmptyChunk();

  std::mutex mu_;
  std::condition_variable readable_;               // the fold waits here for chunks
  std::condition_variable writable_;               // the reader waits here for room
  std::deque<std::vector<DecodedRecord>> chunks_;  // guarded by mu_
  std::vector<std::vector<DecodedRecord>> spent_;  // guarded by mu_: chunks given back
  bool done_ = false;                              // guarded by mu_: nothing more will come
  bool stop_ = false;                              // guarded by mu_: the fold has gone
  bool fold_waits_ = false;                        // guarded by mu_
  bool reader_waits_ = false;                      // guarded by mu_
  Waits waits_;                                    // guarded by mu_
  Status status_;                                  // guarded by mu_
  std::thread thread_;
};

}  // namespace mulin::projections::internal

#endif  // MULIN_PROJECTIONS_EVENT_READER_H_
