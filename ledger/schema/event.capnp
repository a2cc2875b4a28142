# The event vocabulary of the Mulin ledger: every fact the ledger records.
#
# One `Event` is one record of the append-only log (see ledger/record_format.h for the frame
# around it). Evolution rules: never renumber or retype a field, only add fields and union
# members; a reader that meets a union member it does not know reports an error, never crashes.
#
# Units are named in every field: points are Int64 points, service time is Int64 minutes, money is
# Int64 fen (1/100 yuan), instants are Int64 microseconds since the Unix epoch (UTC) on the ledger
# clock, durations carry their unit as a suffix. No floating point anywhere.

@0x83bafd576e26bce0;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("mulin::schema");

enum Role {
  resident @0;       # orders services and rates them
  volunteer @1;      # delivers services, earns and spends points
  socialWorker @2;   # accepts dispatched orders, reviews held points
  staff @3;          # community staff: dispatches orders, requests and approves payouts
}

enum CloseCause {
  rated @0;          # the resident rated the order 2..5
  overdue @1;        # the rating window passed unrated (close-overdue command)
  approved @2;       # points held on a rating of 1, approved by a social worker
}

struct Event {
  seq @0 :UInt64;            # position in the log, gapless from 1
  recordedAtUs @1 :Int64;    # µs since epoch, ledger clock (never goes backwards)
  actorId @2 :Text;          # member, terminal or operator id that issued the command
  communityId @3 :Text;      # community the event belongs to ("" for ledger-wide events)
  requestId @4 :Text;        # client request id of the command that produced this event

  body :union {
    communityRegistered @5 :CommunityRegistered;
    memberRegistered @6 :MemberRegistered;
    merchantRegistered @7 :MerchantRegistered;
    projectRegistered @8 :ProjectRegistered;
    terminalRegistered @9 :TerminalRegistered;
    rulesChanged @10 :RulesChanged;

    orderPlaced @11 :OrderPlaced;
    orderDispatched @12 :OrderDispatched;
    orderAccepted @13 :OrderAccepted;
    orderDelivered @14 :OrderDelivered;
    orderRated @15 :OrderRated;
    orderCancelled @16 :OrderCancelled;

    pointsCredited @17 :PointsCredited;
    pointsHeld @18 :PointsHeld;
    heldPointsApproved @19 :HeldPointsApproved;
    heldPointsRejected @20 :HeldPointsRejected;

    pointsRedeemed @21 :PointsRedeemed;
    redemptionReversed @22 :RedemptionReversed;

    saleRecorded @23 :SaleRecorded;
    saleReversed @24 :SaleReversed;

    payoutRequested @25 :PayoutRequested;
    payoutApproved @26 :PayoutApproved;
    payoutRejected @27 :PayoutRejected;

    adjustment @28 :Adjustment;

    credentialIssued @29 :CredentialIssued;
    credentialRevoked @30 :CredentialRevoked;
  }
}

# --- registrations --------------------------------------------------------------------------

struct CommunityRegistered {
  name @0 :Text;             # display name, UTF-8 (e.g. "西山社区")
}

struct MemberRegistered {
  memberId @0 :Text;         # operator-chosen id, unique among members (e.g. "V0001")
  name @1 :Text;             # display name, UTF-8
  roles @2 :List(Role);      # one or more roles; a person may hold several
}

struct MerchantRegistered {
  merchantId @0 :Text;       # unique among merchants
  name @1 :Text;             # display name, UTF-8
  contributionRateBps @2 :UInt32;  # basis points of sales paid into the fund (1000 = 10%)
}

struct ProjectRegistered {
  projectId @0 :Text;        # unique among projects (e.g. "love-doorbell")
  name @1 :Text;             # display name, UTF-8 (e.g. "爱心门铃")
}

struct TerminalRegistered {
  terminalId @0 :Text;       # unique among terminals
  merchantId @1 :Text;       # the one merchant this terminal acts for
}

# Effective-dated community rules. A replay applies, for each event, the latest RulesChanged of its
# community whose effectiveFromUs is at or before the event's recordedAtUs.
struct RulesChanged {
  effectiveFromUs @0 :Int64;       # µs since epoch from which these rules apply
  pointsPerHour @1 :Int64;         # points earned per 60 minutes of service (default 10)
  maxMinutesPerOrder @2 :Int64;    # minutes counted per volunteer per order (default 240)
  ratingWindowS @3 :Int64;         # seconds after delivery the resident may rate (default 72 h)
  reversalWindowS @4 :Int64;       # seconds after a redemption it may be reversed (default 7 days)
}

# --- the order loop: 居民点单 → 社区派单 → 社工接单 → 志愿送单 → 群众评单 ------------------------

struct OrderPlaced {
  orderId @0 :Text;          # unique among orders
  residentId @1 :Text;       # the resident who ordered (and who alone may rate)
  service @2 :Text;          # what is asked for, UTF-8 (e.g. "read health-check report")
}

struct OrderDispatched {
  orderId @0 :Text;
  socialWorkerId @1 :Text;   # the social worker the order is dispatched to
}

struct OrderAccepted {
  orderId @0 :Text;          # accepted by the event's actor, the dispatched social worker
}

struct VolunteerMinutes {
  volunteerId @0 :Text;
  minutes @1 :Int64;         # minutes of service delivered on this order (> 0)
  points @2 :Int64;          # points earned, computed at delivery with the rules then in force
}

struct OrderDelivered {
  orderId @0 :Text;
  volunteers @1 :List(VolunteerMinutes);  # service minutes post here; points post at close
}

struct OrderRated {
  orderId @0 :Text;
  rating @1 :UInt8;          # 1..5, by the resident who placed the order
  comment @2 :Text;          # optional, UTF-8
}

struct OrderCancelled {
  orderId @0 :Text;
  reason @1 :Text;           # why, UTF-8
}

# --- points ---------------------------------------------------------------------------------

struct VolunteerPoints {
  volunteerId @0 :Text;
  points @1 :Int64;          # points (> 0)
}

struct PointsCredited {
  orderId @0 :Text;
  cause @1 :CloseCause;      # why the order closed
  credits @2 :List(VolunteerPoints);  # issuance → volunteer
}

struct PointsHeld {
  orderId @0 :Text;          # rated 1: points wait for a social worker's review
  credits @1 :List(VolunteerPoints);  # issuance → held (per order)
}

struct HeldPointsApproved {
  orderId @0 :Text;          # reviewed by the event's actor, a social worker
  credits @1 :List(VolunteerPoints);  # held → volunteer
}

struct HeldPointsRejected {
  orderId @0 :Text;
  reason @1 :Text;           # why, UTF-8
  credits @2 :List(VolunteerPoints);  # held → issuance (the points are never issued)
}

struct PointsRedeemed {
  redemptionId @0 :Text;     # unique among redemptions
  volunteerId @1 :Text;      # whose points are spent
  merchantId @2 :Text;       # where
  terminalId @3 :Text;       # through which terminal
  points @4 :Int64;          # points (> 0), volunteer → merchant
}

struct RedemptionReversed {
  redemptionId @0 :Text;     # the redemption reversed (once)
  originalSeq @1 :UInt64;    # seq of the PointsRedeemed event
  volunteerId @2 :Text;
  merchantId @3 :Text;       # must be the redeeming merchant
  points @4 :Int64;          # points (> 0), merchant → volunteer
  reason @5 :Text;
}

# --- market sales and the community fund -----------------------------------------------------

struct SaleRecorded {
  saleId @0 :Text;           # unique among sales
  merchantId @1 :Text;
  grossFen @2 :Int64;        # sale amount in fen (> 0)
  contributionRateBps @3 :UInt32;  # the merchant's rate at the time, basis points
  contributionFen @4 :Int64; # (grossFen × rateBps + 5000) / 10000, merchant → community fund
}

struct SaleReversed {
  saleId @0 :Text;           # the sale reversed (once)
  originalSeq @1 :UInt64;    # seq of the SaleRecorded event
  merchantId @2 :Text;
  grossFen @3 :Int64;        # the original sale amount in fen
  contributionFen @4 :Int64; # exactly the original contribution, fund → merchant
  reason @5 :Text;
}

struct PayoutRequested {
  payoutId @0 :Text;         # unique among payouts
  projectId @1 :Text;        # a project of the same community
  amountFen @2 :Int64;       # fen (> 0); nothing moves until approval
  purpose @3 :Text;          # UTF-8
}

struct PayoutApproved {
  payoutId @0 :Text;         # approved by the event's actor, a staff member other than the requester
  projectId @1 :Text;
  amountFen @2 :Int64;       # fen, community fund → project
}

struct PayoutRejected {
  payoutId @0 :Text;
  reason @1 :Text;
}

# --- corrections ----------------------------------------------------------------------------

enum Unit {
  points @0;                 # Int64 points
  minutes @1;                # Int64 service minutes
  fen @2;                    # Int64 fen
}

struct Adjustment {
  accountId @0 :Text;        # the account adjusted (see ledger/postings.h for account ids)
  unit @1 :Unit;
  delta @2 :Int64;           # signed amount in `unit`; the counterpart is the adjustments account
  reason @3 :Text;           # required, UTF-8
}

# --- credentials for the terminal service ---------------------------------------------------

enum CredentialRole {
  terminal @0;
  auditor @1;
  operator @2;
}

struct CredentialIssued {
  credentialId @0 :Text;     # public id of the credential
  role @1 :CredentialRole;
  subjectId @2 :Text;        # the terminal id for terminal credentials, else the holder's name
  secretHash @3 :Data;       # BLAKE2b-256 of the secret; the secret itself is never stored
}

struct CredentialRevoked {
  credentialId @0 :Text;
  reason @1 :Text;
}
