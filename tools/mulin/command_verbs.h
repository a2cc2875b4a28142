// The command verbs of `mulin` (one per command kind of ledger/schema/command.capnp) and the
// conversion of their text options into a schema::Command, driven by the schema itself.
#ifndef MULIN_TOOLS_MULIN_COMMAND_VERBS_H_
#define MULIN_TOOLS_MULIN_COMMAND_VERBS_H_

#include <capnp/message.h>

#include <map>
#include <string>
#include <vector>

#include "ledger/schema/command.capnp.h"
#include "ledger/status.h"

namespace mulin::cli {

struct VerbOption {
  const char* flag;   // "--volunteer"
  const char* field;  // the body field it fills: "volunteerId"
  const char* help;
  bool required;
};

struct Verb {
  const char* name;        // "redeem"
  const char* body_field;  // the Command.body member: "redeem"
  const char* help;        // one line, in the demo's vocabulary
  const char* example;     // a complete example command line
  std::vector<VerbOption> options;
};

const std::vector<Verb>& AllVerbs();

// Fills command.body.<verb.body_field> from `values` (field → text as typed). Each field's text is
// read according to its schema type: Text as is; integers strictly (no sign for unsigned, no
// overflow); Bool "true"/"false"; enums and lists of enums by name (comma-separated); fields named
// *Us as a time (ISO 8601 or µs); DeliveryShare lists as ID:MINUTES[,ID:MINUTES...].
Status FillBody(const Verb& verb, const std::map<std::string, std::string>& values,
                schema::Command::Builder command);

// µs since epoch from a bare number of µs, or from any form projections::ParseTime reads
// ("2026-03-01" is midnight Asia/Shanghai; "2026-03-01T08:00:00+08:00"; "...Z").
Result<int64_t> ParseTimeUs(const std::string& text);

}  // namespace mulin::cli

#endif  // MULIN_TOOLS_MULIN_COMMAND_VERBS_H_
