# The command vocabulary: what a caller (CLI, JSON-lines import, RPC) asks the ledger to do.
#
# A command is validated by the domain (ledger/domain.h) against the current state and becomes zero
# or more events (ledger/schema/event.capnp) or a rejection with a reason. Units as in event.capnp:
# points, minutes and fen are Int64; no floating point.
#
# JSON-lines import uses Cap'n Proto's JSON codec on `Command`, e.g.
#   {"requestId":"r-1","actorId":"YJ-T01","body":{"redeem":{"redemptionId":"RD1",
#    "volunteerId":"XS-V001","terminalId":"YJ-T01","points":"30"}}}
# (Int64 values are JSON strings in that codec, as JavaScript numbers cannot hold them.)

@0x96f0d596d32b74cf;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("mulin::schema");

using Event = import "event.capnp";

struct Command {
  requestId @0 :Text;        # client-chosen, unique per intended effect (idempotency key)
  actorId @1 :Text;          # who asks: a member, a terminal id, or an operator name
  communityId @2 :Text;      # the community acted in, where the command kind needs one

  body :union {
    registerCommunity @3 :Event.CommunityRegistered;
    registerMember @4 :Event.MemberRegistered;
    registerMerchant @5 :Event.MerchantRegistered;
    registerProject @6 :Event.ProjectRegistered;
    registerTerminal @7 :Event.TerminalRegistered;
    setRules @8 :Event.RulesChanged;

    placeOrder @9 :Event.OrderPlaced;
    dispatchOrder @10 :Event.OrderDispatched;
    acceptOrder @11 :Event.OrderAccepted;
    deliverOrder @12 :DeliverOrder;
    rateOrder @13 :Event.OrderRated;
    cancelOrder @14 :Event.OrderCancelled;
    closeOverdue @15 :CloseOverdue;
    reviewHeldPoints @16 :ReviewHeldPoints;

    redeem @17 :Redeem;
    reverseRedemption @18 :ReverseRedemption;

    recordSale @19 :RecordSale;
    reverseSale @20 :ReverseSale;

    requestPayout @21 :Event.PayoutRequested;
    approvePayout @22 :ApprovePayout;
    rejectPayout @23 :Event.PayoutRejected;

    adjust @24 :Event.Adjustment;

    issueCredential @25 :IssueCredential;
    revokeCredential @26 :Event.CredentialRevoked;
  }
}

struct DeliveryShare {
  volunteerId @0 :Text;
  minutes @1 :Int64;         # minutes of service (> 0); points are computed by the ledger
}

struct DeliverOrder {
  orderId @0 :Text;
  volunteers @1 :List(DeliveryShare);
}

struct CloseOverdue {
  # Closes every delivered order of the community whose rating window has passed unrated,
  # crediting its points. Run nightly. No fields: the ledger clock decides what is overdue.
}

struct ReviewHeldPoints {
  orderId @0 :Text;
  approve @1 :Bool;          # true: credit the held points; false: they are never issued
  reason @2 :Text;           # required when rejecting
}

struct Redeem {
  redemptionId @0 :Text;
  volunteerId @1 :Text;
  terminalId @2 :Text;       # the merchant is the terminal's merchant
  points @3 :Int64;          # points (> 0)
}

struct ReverseRedemption {
  redemptionId @0 :Text;
  terminalId @1 :Text;       # must belong to the merchant that redeemed
  reason @2 :Text;
}

struct RecordSale {
  saleId @0 :Text;
  merchantId @1 :Text;
  grossFen @2 :Int64;        # fen (> 0); the contribution is computed by the ledger
}

struct ReverseSale {
  saleId @0 :Text;
  merchantId @1 :Text;       # must be the merchant that recorded the sale
  reason @2 :Text;
}

struct ApprovePayout {
  payoutId @0 :Text;
}

struct IssueCredential {
  credentialId @0 :Text;
  role @1 :Event.CredentialRole;
  subjectId @2 :Text;
  secretHash @3 :Data;       # BLAKE2b-256 of the secret, computed by the issuing tool
}
