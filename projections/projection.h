// Projection: a fold of the event log into rows, and what a fold sees while it runs.
//
// A projection owns the rows under its key prefix in a RowStore (see engine.h for the layout). The
// engine hands it each event once, in seq order, with the postings the domain says the event
// implies (domain::Postings) already computed: no projection decides for itself what an event does
// to a balance. Apply reads and writes rows only through Rows, whose writes reach the store
// together with the projection's checkpoint, atomically.
// Thread-safety: a projection is used by one engine, on one thread, at a time.
#ifndef MULIN_PROJECTIONS_PROJECTION_H_
#define MULIN_PROJECTIONS_PROJECTION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ledger/domain/postings.h"
#include "ledger/schema/event.capnp.h"
#include "ledger/status.h"
#include "projections/row_store.h"

namespace mulin::projections {

struct EventContext {
  uint64_t seq = 0;
  schema::Event::Reader event;
  const std::vector<domain::Posting>* postings = nullptr;  // domain::Postings(event)
};

// "points", "minutes", "fen"; "unit?" for a value this build does not know.
const char* UnitName(schema::Unit unit);
// Splits "fund:xishan" into ("fund", "xishan"); an account without ':' has an empty kind.
std::string_view AccountKind(std::string_view account);
std::string_view AccountOwner(std::string_view account);

// The account on the other side of posting `index`: its pair partner when the postings come as
// zero-sum pairs (as the domain writes them), else the accounts of the opposite sign in the same
// unit joined by "+", or "" when there is none.
std::string Counterparty(const std::vector<domain::Posting>& postings, size_t index);

// Pending rows of one catch-up batch, shared by the projections the batch advances.
struct PendingRows {
  std::unordered_map<std::string, std::string> rows;  // full key → value
  size_t bytes = 0;                                   // keys and values, for the batch limit
};

// The rows of one projection during a fold. Reads see the fold's own earlier writes.
class Rows {
 public:
  Rows(std::string prefix, const RowStore* store, PendingRows* pending)
      : prefix_(std::move(prefix)), store_(store), pending_(pending) {}
  // True and `*value` set when the row exists.
  Result<bool> Get(std::string_view row_key, std::string* value);
  void Put(std::string_view row_key, std::string value);

 private:
  const std::string& FullKey(std::string_view row_key);
  std::string prefix_;
  const RowStore* store_;
  PendingRows* pending_;
  std::string key_;  // reused to build full keys without an allocation per call
};

class Projection {
 public:
  virtual ~Projection() = default;
  // The projection's stable name: its key prefix, and how commands and reports name it.
  virtual std::string_view name() const = 0;
  // Folds one event into the rows. An error (a stored row that does not decode, I/O) stops the
  // catch-up with nothing of the batch written.
  virtual Status Apply(const EventContext& context, Rows* rows) = 0;
  // One row in words, for difference reports: its subject ("volunteer:V0001 points") and its
  // value ("120 points, 7 postings, last seq 42"). Must not fail on bytes that do not decode.
  virtual std::string DescribeKey(std::string_view row_key) const = 0;
  virtual std::string DescribeValue(std::string_view row_key, std::string_view value) const = 0;
};

}  // namespace mulin::projections

#endif  // MULIN_PROJECTIONS_PROJECTION_H_
