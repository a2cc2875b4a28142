// Evolve: applies one event to the State. The only code that changes a State.
//
// Every balance change goes through Postings (postings.h), so the write side and the projections
// agree on what an event does. Invariants are checked on every event, also in release builds:
// seq == last_seq + 1, the ledger clock never goes backwards, each unit's postings sum to zero, no
// balance overflows, constrained accounts (MustStayNonNegative) stay >= 0, and the event fits the
// entities it names (an order is dispatched only once it is placed, a redemption is reversed once).
// Thread-safety: the caller owns `state` exclusively during the call.
#ifndef MULIN_LEDGER_DOMAIN_EVOLVE_H_
#define MULIN_LEDGER_DOMAIN_EVOLVE_H_

#include <vector>

#include "ledger/domain/postings.h"
#include "ledger/domain/state.h"
#include "ledger/schema/event.capnp.h"
#include "ledger/status.h"

namespace mulin::domain {

// Applies an event that Decide produced against this very state. An event that does not apply is
// a broken invariant of the write side (the state would no longer match the log), so Evolve aborts
// the process with a message naming the seq instead of carrying on with a wrong state.
void Evolve(State* state, schema::Event::Reader event);

// Evolve with the event's postings already derived: `postings` must equal Postings(event), as
// Decision::postings does for the events of its decision. Saves deriving them a second time.
void Evolve(State* state, schema::Event::Reader event, const std::vector<Posting>& postings);

// The same checks for events read back from disk: an event that does not apply leaves `state`
// unchanged and returns kCorruption naming the event's seq. Evolve is EvolveChecked plus abort.
[[nodiscard]] Status EvolveChecked(State* state, schema::Event::Reader event);

}  // namespace mulin::domain

#endif  // MULIN_LEDGER_DOMAIN_EVOLVE_H_
