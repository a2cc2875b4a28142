# A snapshot of the domain State (ledger/domain/state.h), so that a large ledger starts by
# replaying only the log's tail. The log stays the truth: a snapshot that fails to decode is
# ignored and the log replayed in full.
#
# Every list is sorted by its id (byte order) with no duplicates, so equal states encode to equal
# bytes; a decoder refuses anything else. Field meanings and units are those of state.h and
# event.capnp. Evolution: bump kStateFormatVersion when a change alters what a field means.

@0xcf4ff8b28df70c6a;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("mulin::schema");

using Event = import "event.capnp";

struct StateSnapshot {
  formatVersion @0 :UInt32;
  lastSeq @1 :UInt64;
  lastRecordedAtUs @2 :Int64;
  communities @3 :List(Community);
  members @4 :List(Member);
  merchants @5 :List(Merchant);
  projects @6 :List(Project);
  terminals @7 :List(Terminal);
  credentials @8 :List(Credential);
  orders @9 :List(Order);
  redemptions @10 :List(Redemption);
  sales @11 :List(Sale);
  payouts @12 :List(Payout);
  balances @13 :List(Balance);

  struct Community {
    id @0 :Text;
    rules @1 :List(Event.RulesChanged);  # in the order State keeps them
  }

  struct Member {
    id @0 :Text;
    communityId @1 :Text;
    roles @2 :List(Event.Role);  # ascending, each once
  }

  struct Merchant {
    id @0 :Text;
    communityId @1 :Text;
    contributionRateBps @2 :UInt32;
  }

  struct Project {
    id @0 :Text;
    communityId @1 :Text;
  }

  struct Terminal {
    id @0 :Text;
    merchantId @1 :Text;
  }

  struct Credential {
    id @0 :Text;
    communityId @1 :Text;
    role @2 :Event.CredentialRole;
    subjectId @3 :Text;
    secretHash @4 :Data;
    revoked @5 :Bool;
  }

  enum OrderStatus {
    placed @0;
    dispatched @1;
    accepted @2;
    delivered @3;
    held @4;
    closed @5;
    cancelled @6;
  }

  struct Order {
    id @0 :Text;
    communityId @1 :Text;
    status @2 :OrderStatus;
    residentId @3 :Text;
    socialWorkerId @4 :Text;
    deliveredAtUs @5 :Int64;
    rating @6 :UInt8;
    shares @7 :List(Event.VolunteerMinutes);  # in delivery order
  }

  struct Redemption {
    id @0 :Text;
    seq @1 :UInt64;
    volunteerId @2 :Text;
    merchantId @3 :Text;
    points @4 :Int64;
    recordedAtUs @5 :Int64;
    reversed @6 :Bool;
  }

  struct Sale {
    id @0 :Text;
    seq @1 :UInt64;
    merchantId @2 :Text;
    grossFen @3 :Int64;
    contributionFen @4 :Int64;
    reversed @5 :Bool;
  }

  enum PayoutStatus {
    requested @0;
    approved @1;
    rejected @2;
  }

  struct Payout {
    id @0 :Text;
    communityId @1 :Text;
    projectId @2 :Text;
    amountFen @3 :Int64;
    requesterId @4 :Text;
    status @5 :PayoutStatus;
  }

  struct Balance {
    accountId @0 :Text;
    points @1 :Int64;
    minutes @2 :Int64;
    fen @3 :Int64;
  }
}
