# Machine-readable reports of the `mulin` program (`--json`), encoded with Cap'n Proto's JSON codec.
# Field names are the JSON keys; Int64/UInt64 values appear as JSON strings in that codec.

@0xe303c65ad27bb5be;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("mulin::schema");

struct Checkpoint {
  seq @0 :UInt64;            # head seq (0 for an empty log)
  chainHash @1 :Text;        # BLAKE2b-256 chain hash at that seq, 64 hex digits
}

struct VerifyReport {
  ok @0 :Bool;               # true when every check passed
  head @1 :Checkpoint;       # the stored head
  recordsChecked @2 :UInt64; # records whose every check passed
  firstBadSeq @3 :UInt64;    # 0 when ok
  problem @4 :Text;          # one line naming what is wrong ("" when ok)
  expectChecked @5 :Bool;    # --expect was given and the checkpoint still holds
  elapsedMs @6 :UInt64;      # wall time of the check, milliseconds
}
