// Internals of Evolve shared between its translation units. Not part of the domain's API.
#ifndef MULIN_LEDGER_DOMAIN_EVOLVE_INTERNAL_H_
#define MULIN_LEDGER_DOMAIN_EVOLVE_INTERNAL_H_

#include "ledger/domain/state.h"
#include "ledger/schema/event.capnp.h"
#include "ledger/status.h"

namespace mulin::domain::internal {

// Applies what `event` does to the entities of `state` (not to balances). Checks everything
// first and mutates only when the event applies, so an error leaves `state` unchanged.
Status ApplyToEntities(State* state, schema::Event::Reader event);

}  // namespace mulin::domain::internal

#endif  // MULIN_LEDGER_DOMAIN_EVOLVE_INTERNAL_H_
