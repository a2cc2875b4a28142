# Machine-readable reports of the read side (`mulin reconcile --json`), encoded with Cap'n Proto's
# JSON codec. Field names are the JSON keys; Int64/UInt64 values appear as JSON strings in that
# codec. Evolution rules as in ledger/schema/event.capnp: only add fields.

@0xeb7f2f44c47a5c3a;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("mulin::schema");

using Report = import "/ledger/schema/report.capnp";

struct Difference {
  where @0 :Text;            # a projection ("balances", "audit", "fund", "orders"), "invariant",
                             # "log" or "chain"
  subject @1 :Text;          # the account, row or record concerned
  expected @2 :Text;         # what the log implies
  found @3 :Text;            # what is stored, or what happened instead
}

struct ReconcileReport {
  ok @0 :Bool;                       # true when everything agrees and every check passed
  head @1 :Report.Checkpoint;        # the head reconciled
  eventsReplayed @2 :UInt64;         # events rebuilt from seq 1 in scratch space
  rowsCompared @3 :UInt64;           # stored and rebuilt rows compared
  chainOk @4 :Bool;                  # the chain check (as `mulin verify`) passed
  chainProblem @5 :Text;             # its first problem ("" when chainOk)
  differences @6 :List(Difference);  # the differences listed (at most the listing limit)
  differencesTotal @7 :UInt64;       # all differences found, listed or not
  elapsedMs @8 :UInt64;              # wall time, milliseconds
  receiptsChecked @9 :UInt64;        # redemptions and sales whose receipt-index entry matched
  receiptsThroughSeq @10 :UInt64;    # the seq the writer's receipt index covers (0: not built
                                     # yet; the next write to the ledger builds it)
  receiptsProblem @11 :Text;         # the index's first disagreement with the log ("" when none)
}
