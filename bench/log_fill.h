// Growing a bench ledger's log without commands: events that terminals and the registry would
// write, appended with EventLog::Append in large batches, each with its request-index entry, so
// that a log of millions of events is built in minutes rather than hours of group commits.
// The events keep the domain's rules for the bench cast of bench_ledger.h (the writer replays
// them at open, checked), and the ledger clock: each is recorded 1 µs after the one before.
#ifndef MULIN_BENCH_LOG_FILL_H_
#define MULIN_BENCH_LOG_FILL_H_

#include <capnp/message.h>
#include <rocksdb/db.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench/bench_ledger.h"
#include "ledger/event_codec.h"
#include "ledger/event_log.h"
#include "ledger/schema/event.capnp.h"

namespace mulin::bench {

inline constexpr size_t kFillBatchRecords = 16384;

// Builds one event payload with the envelope set and `fill` filling the body.
inline std::string EventPayload(uint64_t seq, int64_t recorded_at_us, const std::string& actor,
                                const std::string& community,
                                const std::function<void(schema::Event::Body::Builder)>& fill) {
  capnp::MallocMessageBuilder message;
  auto event = message.initRoot<schema::Event>();
  event.setSeq(seq);
  event.setRecordedAtUs(recorded_at_us);
  event.setActorId(actor);
  event.setCommunityId(community);
  event.setRequestId("g" + std::to_string(seq));
  fill(event.getBody());
  return ledger::EncodeMessage(message);
}

// A terminal's event at `seq`: a redemption (7 in 10) or a market sale with its contribution.
inline std::string TerminalEvent(uint64_t seq, int64_t recorded_at_us, std::string* actor) {
  *actor = "T" + std::to_string(seq % kBenchTerminals);
  return EventPayload(seq, recorded_at_us, *actor, "yangjiamen", [&](auto body) {
    if (seq % 10 < 7) {
      auto r = body.initPointsRedeemed();
      r.setRedemptionId("g" + std::to_string(seq));
      r.setVolunteerId("V" + std::to_string(seq * 7919 % kBenchVolunteers));
      r.setMerchantId("M1");
      r.setTerminalId(*actor);
      r.setPoints(1);
    } else {
      const int64_t gross_fen = static_cast<int64_t>(seq * 2654435761 % 50000) + 100;
      auto s = body.initSaleRecorded();
      s.setSaleId("g" + std::to_string(seq));
      s.setMerchantId("M1");
      s.setGrossFen(gross_fen);
      s.setContributionRateBps(1000);
      s.setContributionFen((gross_fen * 1000 + 5000) / 10000);
    }
  });
}

// The recorded time of the log's last event, so that appended events keep the clock monotonic.
inline int64_t LastRecordedAt(const ledger::EventLog& log) {
  if (log.head().seq == 0) return 0;
  Result<std::string> payload = log.ReadPayload(log.head().seq);
  Must(payload.ok(), payload.status().ToString());
  Result<ledger::DecodedEvent> event = ledger::DecodeEvent(*payload, log.head().seq);
  Must(event.ok(), event.status().ToString());
  return event->event().getRecordedAtUs();
}

// Appends events made by `make(seq, recorded_at_us, &actor)` until the head reaches `target`,
// each with a request-index entry under (actor, "g<seq>").
inline void Fill(ledger::EventLog* log, uint64_t target,
                 const std::function<std::string(uint64_t, int64_t, std::string*)>& make) {
  int64_t clock_us = LastRecordedAt(*log);
  std::vector<std::string> payloads;
  std::vector<ledger::RequestEntry> requests;
  std::string actor;
  while (log->head().seq < target) {
    payloads.clear();
    requests.clear();
    const uint64_t first = log->head().seq + 1;
    const uint64_t last = std::min(target, first + kFillBatchRecords - 1);
    for (uint64_t seq = first; seq <= last; ++seq) {
      payloads.push_back(make(seq, ++clock_us, &actor));
      ledger::RequestEntry entry{actor + '\x1f' + "g" + std::to_string(seq), {seq, 1, {}}};
      const size_t h = std::hash<std::string>()(entry.key);
      std::memcpy(entry.record.content_hash.data(), &h, sizeof(h));
      requests.push_back(std::move(entry));
    }
    Status appended = log->Append(payloads, requests);
    Must(appended.ok(), appended.ToString());
  }
}

// A ledger at rest: memtables flushed, the bulk load compacted down.
inline void Settle(const ledger::Store& store) {
  rocksdb::CompactRangeOptions options;
  for (auto* family : {store.events(), store.requests(), store.meta(), store.receipts()}) {
    Must(store.db()->CompactRange(options, family, nullptr, nullptr).ok(), "compact");
  }
}

// Volunteer (seq - first) / 2 of a fill that starts at seq `first`: its registration, then its
// opening balance of 1000 points, two events a volunteer.
inline std::string VolunteerEvent(uint64_t seq, uint64_t first, int64_t recorded_at_us,
                                  std::string* actor) {
  const std::string id = "W" + std::to_string((seq - first) / 2);
  if ((seq - first) % 2 == 0) {
    *actor = "operator";
    return EventPayload(seq, recorded_at_us, *actor, "xishan", [&](auto body) {
      auto m = body.initMemberRegistered();
      m.setMemberId(id);
      m.setName("member " + id);
      m.initRoles(1).set(0, schema::Role::VOLUNTEER);
    });
  }
  *actor = "S1";
  return EventPayload(seq, recorded_at_us, *actor, "xishan", [&](auto body) {
    auto a = body.initAdjustment();
    a.setAccountId("volunteer:" + id);
    a.setUnit(schema::Unit::POINTS);
    a.setDelta(1000);
    a.setReason("opening balance");
  });
}

}  // namespace mulin::bench

#endif  // MULIN_BENCH_LOG_FILL_H_
