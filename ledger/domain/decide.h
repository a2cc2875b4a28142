// Decide: validates a command against the State and answers with the events it produces, or with
// a rejection that says why (DESIGN §2 is the contract for every rule applied here).
//
// Decide is pure: it reads `state` and the command, never changes either, and never throws. Every
// field of the command is untrusted: ids, texts, amounts and lists are bounded by the limits below,
// arithmetic near the int64 limits is rejected, and a message that does not decode is rejected as
// "malformed_command". The events of an accepted command are complete (seq, clock, actor, request
// id, community) and apply with Evolve, in order, to the very state they were decided against.
// Thread-safety: pure function; safe to call from any thread on a State no one is changing.
#ifndef MULIN_LEDGER_DOMAIN_DECIDE_H_
#define MULIN_LEDGER_DOMAIN_DECIDE_H_

#include <capnp/message.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ledger/domain/postings.h"
#include "ledger/domain/state.h"
#include "ledger/schema/command.capnp.h"
#include "ledger/schema/event.capnp.h"
#include "ledger/status.h"

namespace mulin::domain {

// Limits on command fields (bytes are UTF-8 bytes).
inline constexpr size_t kIdBytesMax = 64;          // every entity, actor and community id
inline constexpr size_t kRequestIdBytesMax = 128;  // client request ids (may embed a file:line)
inline constexpr size_t kTextBytesMax = 1024;      // names, reasons, comments, purposes
inline constexpr size_t kRolesMax = 4;             // one of each schema::Role
inline constexpr size_t kVolunteersPerDeliveryMax = 64;
inline constexpr int64_t kShareMinutesMax = 7 * 24 * 60;  // one volunteer's minutes on one order
inline constexpr uint32_t kRateBpsMax = 10000;            // 100% of a sale
// A merchant registered with contributionRateBps 0 (the field's wire default, so also "not given")
// pays the contract's default rate.
inline constexpr uint32_t kDefaultRateBps = 1000;
inline constexpr size_t kSecretHashBytes = 32;  // BLAKE2b-256
// Ranges of community rules. An effectiveFromUs of 0 means "from now"; rules never take effect in
// the past, since decisions already recorded were taken under the rules then in force.
inline constexpr int64_t kPointsPerHourMax = 10000;
inline constexpr int64_t kMaxMinutesPerOrderMax = kShareMinutesMax;
inline constexpr int64_t kWindowSecondsMax = 366 * 24 * 3600;  // rating and reversal windows
// One closeOverdue closes at most this many orders (oldest delivery first), bounding a decision;
// a nightly job repeats the command until it closes none.
inline constexpr size_t kCloseOverdueOrdersMax = 1024;

struct DecideContext {
  int64_t now_us = 0;     // the ledger clock: >= state.last_recorded_at_us
  uint64_t next_seq = 0;  // state.last_seq + 1
};

struct Decision {
  // Ok; Status::Rejected(code, one line a person can act on); or kInvalidArgument when the
  // context does not follow the state (a bug of the caller, not of the command).
  Status status;
  // When ok, the events in order (possibly none); each root is a schema::Event. Empty otherwise.
  std::vector<std::unique_ptr<capnp::MallocMessageBuilder>> events;
  // postings[i] == Postings(events[i]): derived once for the balance check, and handed to Evolve.
  std::vector<std::vector<Posting>> postings;
};

Decision Decide(const State& state, schema::Command::Reader command, const DecideContext& ctx);

// The event an accepted decision built, for reading. A builder's reader checks every pointer it
// follows against the builder's segments (a quarter of the instructions of reading a text field,
// callgrind: 132 against 99); an event Decide built lies in one segment it wrote itself, so it is
// read without the checks. An event that outgrew its first segment is read through the builder.
schema::Event::Reader BuiltEvent(capnp::MessageBuilder& message);

// Every reason code Decide can reject with, each once (for documentation and tests).
std::vector<std::string> AllRejectionCodes();

}  // namespace mulin::domain

#endif  // MULIN_LEDGER_DOMAIN_DECIDE_H_
