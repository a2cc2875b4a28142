// The checking pass of DecodeEvent: reads every pointer of an Event that this build has a field
// for, as the generated getters would (the same element-size checks on lists, text NUL
// terminators, struct bounds), driven by a plan worked out once from the schema. A walk through
// Cap'n Proto's dynamic API does the same but looks the schema up at every field, which made it
// cost about fifteen times as much as the rest of decoding.
// Internal to the log component. Thread-safety: the plan is built once, then only read.
#ifndef MULIN_LEDGER_EVENT_CHECK_H_
#define MULIN_LEDGER_EVENT_CHECK_H_

#include <capnp/any.h>

namespace mulin::ledger::internal {

// Throws kj::Exception at the first pointer that a getter of the generated Event code would throw
// on. Data fields are not read: any bits are a valid value.
void ReadEveryKnownPointer(capnp::AnyStruct::Reader event);

}  // namespace mulin::ledger::internal

#endif  // MULIN_LEDGER_EVENT_CHECK_H_
