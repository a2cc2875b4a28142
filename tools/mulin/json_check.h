// Strict reading of JSON commands: Cap'n Proto's JSON codec skips fields it does not know, so a
// misspelt field would silently become a default. Import checks every key against the schema
// first, and requires the command's body union to name exactly one member.
#ifndef MULIN_TOOLS_MULIN_JSON_CHECK_H_
#define MULIN_TOOLS_MULIN_JSON_CHECK_H_

#include <capnp/compat/json.capnp.h>
#include <capnp/schema.h>

#include <string>

#include "ledger/status.h"

namespace mulin::cli {

// kInvalidArgument naming the first key (as a dotted path) that `schema` has no field for, a value
// of the wrong JSON kind for a struct, list or group, or a union group with other than one member.
Status CheckJsonFields(capnp::json::Value::Reader value, capnp::StructSchema schema,
                       const std::string& path = "");

}  // namespace mulin::cli

#endif  // MULIN_TOOLS_MULIN_JSON_CHECK_H_
