# The terminal service (DESIGN §6): Cap'n Proto RPC with capabilities.
#
# A client bootstraps a `Gateway`, presents a credential (issued by `mulin issue-credential`; the
# ledger keeps only the secret's BLAKE2b-256 hash) and receives the one capability of its role.
# Each capability can do its role's work and nothing else: a Terminal acts only for its own
# merchant, an Auditor only reads, an Operator runs any command through the same writer as the CLI.
# Units as in event.capnp: points, fen as Int64; seqs UInt64.

@0xf2e8091cb9398823;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("mulin::schema");

using Event = import "event.capnp";
using Command = import "command.capnp";

interface Gateway {
  # Opens a session. A wrong, unknown or revoked credential gets an error and no capability.
  login @0 (credentialId :Text, secret :Text) -> (session :Session);
}

struct Session {
  role @0 :Event.CredentialRole;
  subjectId @1 :Text;        # the terminal id, or the holder's name
  union {
    terminal @2 :Terminal;
    auditor @3 :Auditor;
    operator @4 :Operator;
  }
}

# The result of a command, whatever the capability that sent it.
struct Outcome {
  ok @0 :Bool;
  code @1 :Text;             # "ok", "rejected", "conflict", "overloaded", "invalid argument", ...
  reasonCode @2 :Text;       # for rejections: a stable snake_case code (e.g. insufficient_points)
  message @3 :Text;          # one line a person can act on ("" when ok)
  firstSeq @4 :UInt64;       # seq of the first event appended (0 when none)
  eventCount @5 :UInt32;
  duplicate @6 :Bool;        # a retry of an earlier request: its original result, nothing appended
}

interface Terminal {
  # One merchant's redemption terminal. Every request id is scoped to this terminal.
  balance @0 (volunteerId :Text) -> (points :Int64);
  redeem @1 (requestId :Text, redemptionId :Text, volunteerId :Text, points :Int64)
      -> (outcome :Outcome);
  reverse @2 (requestId :Text, redemptionId :Text, reason :Text) -> (outcome :Outcome);
  recordSale @3 (requestId :Text, saleId :Text, grossFen :Int64) -> (outcome :Outcome);
}

interface Auditor {
  # Read-only.
  checkpoint @0 () -> (seq :UInt64, chainHash :Text);
  # Up to `limit` (≤ 1000) events from `fromSeq` on, each one unpacked Event message as stored.
  events @1 (fromSeq :UInt64, limit :UInt32) -> (events :List(Data));
}

interface Operator {
  # Any command (command.capnp), decided and appended by the writer like a CLI command.
  execute @0 (command :Command.Command) -> (outcome :Outcome);
}
