// Small builders of Event payloads for log-level tests.
#ifndef MULIN_TESTS_SUPPORT_EVENTS_H_
#define MULIN_TESTS_SUPPORT_EVENTS_H_

#include <capnp/message.h>

#include <string>
#include <vector>

#include "ledger/event_codec.h"
#include "ledger/schema/event.capnp.h"

namespace mulin::testing {

// A pointsRedeemed event at `seq`, recorded at `seq` seconds, of `points` by volunteer V<seq%97>.
inline std::string RedemptionPayload(uint64_t seq, int64_t points = 10) {
  capnp::MallocMessageBuilder message;
  auto event = message.initRoot<schema::Event>();
  event.setSeq(seq);
  event.setRecordedAtUs(static_cast<int64_t>(seq) * 1000000);
  event.setActorId("T-yjm-01");
  event.setCommunityId("yangjiamen");
  event.setRequestId("req-" + std::to_string(seq));
  auto body = event.getBody().initPointsRedeemed();
  body.setRedemptionId("RD" + std::to_string(seq));
  body.setVolunteerId("V" + std::to_string(seq % 97));
  body.setMerchantId("M01");
  body.setTerminalId("T-yjm-01");
  body.setPoints(points);
  return ledger::EncodeMessage(message);
}

// Payloads for seq first..first+count-1.
inline std::vector<std::string> RedemptionPayloads(uint64_t first, size_t count) {
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) out.push_back(RedemptionPayload(first + i));
  return out;
}

}  // namespace mulin::testing

#endif  // MULIN_TESTS_SUPPORT_EVENTS_H_
