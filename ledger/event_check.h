// The checking pass of DecodeEvent: reads every pointer of an Event that this build has a field
// for, as the generated getters would (the same element-size checks on lists, text NUL
// terminators, struct bounds), driven by a plan worked out once from the schema. A walk through
// Cap'n Proto's dynamic API does the same but looks the schema up at every field, which made it
// cost about fifteen times as much as the rest of decoding.
// Internal to the log component. Thread-safety: the plan is built once, then only read.
#ifndef MULIN_LEDGER_EVENT_CHECK_H_
#define MULIN_LEDGER_EVENT_CHECK_H_

#include <capnp/any.h>

#include <cstdint>

namespace mulin::ledger::internal {

// Throws kj::Exception at the first pointer that a getter of the generated Event code would throw
// on. Data fields are not read: any bits are a valid value. Pointers this build has no field for
// (a newer schema's fields, members of a union not taken) are walked as a copy would walk them.
// Returns the words of every object reached, counted as StructReader::totalSize() counts them, so
// that one walk does what the two did (tests/fuzz/record_fuzz.cc compares the counts).
uint64_t ReadEveryPointer(capnp::AnyStruct::Reader event);

}  // namespace mulin::ledger::internal

#endif  // MULIN_LEDGER_EVENT_CHECK_H_
