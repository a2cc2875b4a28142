#include "projections/as_of.h"

#include "ledger/event_codec.h"
#include "projections/engine.h"

namespace mulin::projections {
namespace {

Result<int64_t> RecordedAt(const ledger::EventLog& log, uint64_t seq) {
  Result<std::string> payload = log.ReadPayload(seq);
  if (!payload.ok()) return payload.status();
  Result<ledger::DecodedEvent> event = ledger::DecodeEvent(*payload, seq);
  if (!event.ok()) return event.status();
  return event->event().getRecordedAtUs();
}

}  // namespace

Result<uint64_t> SeqBefore(const ledger::EventLog& log, int64_t time_us) {
  // Invariant: every seq < low is before time_us; every seq > high is not.
  uint64_t low = 1;
  uint64_t high = log.head().seq;
  while (low <= high) {
    const uint64_t middle = low + (high - low) / 2;
    Result<int64_t> at = RecordedAt(log, middle);
    if (!at.ok()) return at.status();
    if (*at < time_us) {
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return low - 1;
}

Status BuildAsOf(const ledger::EventLog& log, uint64_t seq,
                 const std::vector<Projection*>& projections, RowStore* scratch,
                 const std::function<void(uint64_t, uint64_t)>& progress) {
  if (seq == 0) return Status::Ok();  // as of before the first event: every projection is empty
  CatchUpOptions options;
  options.to_seq = seq;
  options.progress = progress;
  Result<CatchUpStats> stats = Engine(scratch, projections).CatchUp(log, options);
  return stats.ok() ? Status::Ok() : stats.status();
}

}  // namespace mulin::projections
