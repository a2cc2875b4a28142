// Goal: every rejection code Decide can give is produced by a command that deserves it, with a
// one-line reason, and AllRejectionCodes lists exactly those codes.
#include <capnp/any.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>

#include <cstring>
#include <functional>
#include <limits>
#include <set>

#include "tests/support/domain_fixture.h"

namespace mulin::testing {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

struct RejectionCase {
  const char* code;
  std::function<Status(DomainFixture*)> run;  // runs after BuildWorld; returns the rejection
};

// A Command whose requestId pointer points far outside its one segment: reading it throws.
Status DecideOutOfBoundsPointer(DomainFixture* f) {
  constexpr uint64_t kStructRootOnePointer = uint64_t{1} << 48;
  constexpr uint64_t kListFarAway =
      1 | (uint64_t{1000} << 2) | (uint64_t{2} << 32) | (uint64_t{5} << 35);
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(3);
  const uint32_t table[2] = {0, 2};  // one segment of two words
  capnp::byte* bytes = words.asBytes().begin();
  std::memcpy(bytes, table, sizeof(table));
  std::memcpy(bytes + 8, &kStructRootOnePointer, sizeof(uint64_t));
  std::memcpy(bytes + 16, &kListFarAway, sizeof(uint64_t));
  capnp::FlatArrayMessageReader reader(words);
  return f->Run(reader.getRoot<schema::Command>());
}

// A Command whose union discriminant names a member this build does not know.
Status DecideUnknownKind(DomainFixture* f) {
  capnp::MallocMessageBuilder message;
  auto command = message.initRoot<schema::Command>();
  command.setRequestId("req-x");
  command.setActorId("operator");
  command.getBody().initCloseOverdue();
  const uint32_t offset =
      capnp::Schema::from<schema::Command>().getProto().getStruct().getDiscriminantOffset();
  auto data = capnp::toAny(command).getDataSection();
  const uint16_t unknown_kind = 999;
  std::memcpy(data.begin() + offset * sizeof(uint16_t), &unknown_kind, sizeof(unknown_kind));
  return f->Run(command.asReader());
}

Status DeliverMany(DomainFixture* f, size_t count) {
  f->DeliveredOrder("O1", {{"V1", 60}});
  std::vector<ShareSpec> shares;
  for (size_t i = 0; i < count; ++i) shares.push_back({"V" + std::to_string(i), 10});
  EXPECT_EQ("ok", CodeOf(f->PlaceOrder("R1", "O2", "R1")));
  EXPECT_EQ("ok", CodeOf(f->Dispatch("S1", "O2", "W1")));
  EXPECT_EQ("ok", CodeOf(f->Accept("W1", "O2")));
  return f->Deliver("W1", "O2", shares);
}

using F = DomainFixture;

// Rejections of malformed input and of registrations.
std::vector<RejectionCase> InputAndRegistryCases() {
  return {
      {"malformed_command", DecideOutOfBoundsPointer},
      {"unknown_command", DecideUnknownKind},
      {"invalid_id",
       [](F* f) { return f->RegisterMember(std::string(65, 'x'), "xishan", {Role::RESIDENT}); }},
      {"invalid_text",
       [](F* f) {
         return f->Exec("operator", "nanhu",
                        [](auto b) { b.initRegisterCommunity().setName("\xff\xfe"); });
       }},
      {"reason_required",
       [](F* f) {
         EXPECT_EQ("ok", CodeOf(f->PlaceOrder("R1", "O1", "R1")));
         return f->Cancel("R1", "O1", "");
       }},
      {"missing_community", [](F* f) { return f->RegisterMember("X1", "", {Role::RESIDENT}); }},
      {"unknown_community",
       [](F* f) { return f->RegisterMember("X1", "nowhere", {Role::RESIDENT}); }},
      {"community_mismatch",
       [](F* f) {
         return f->Exec("T1", "xishan", [](auto b) {
           auto r = b.initRecordSale();
           r.setSaleId("SL1");
           r.setMerchantId("M1");
           r.setGrossFen(100);
         });
       }},
      {"duplicate_id", [](F* f) { return f->RegisterMember("S1", "xishan", {Role::STAFF}); }},
      {"unknown_member", [](F* f) { return f->PlaceOrder("S1", "O1", "nobody"); }},
      {"unknown_merchant", [](F* f) { return f->RegisterTerminal("T9", "M404"); }},
      {"unknown_project", [](F* f) { return f->RequestPayout("S1", "Y1", "P404", 100); }},
      {"unknown_terminal", [](F* f) { return f->Redeem("S3", "RD1", "V1", "T404", 1); }},
      {"unknown_order", [](F* f) { return f->Accept("W1", "O404"); }},
      {"unknown_redemption", [](F* f) { return f->ReverseRedemption("T1", "RD404", "T1"); }},
      {"unknown_sale", [](F* f) { return f->ReverseSale("T1", "SL404", "M1"); }},
      {"unknown_payout", [](F* f) { return f->ApprovePayout("S2", "Y404"); }},
      {"unknown_credential", [](F* f) { return f->RevokeCredential("C404"); }},
  };
}

// Rejections of authority, roles and the order loop.
std::vector<RejectionCase> OrderCases() {
  return {
      {"not_permitted",
       [](F* f) {
         EXPECT_EQ("ok", CodeOf(f->PlaceOrder("R1", "O1", "R1")));
         return f->Dispatch("R1", "O1", "W1");
       }},
      {"role_required", [](F* f) { return f->PlaceOrder("S1", "O1", "V1"); }},
      {"invalid_roles", [](F* f) { return f->RegisterMember("X1", "xishan", {}); }},
      {"invalid_rate", [](F* f) { return f->RegisterMerchant("M3", "xishan", 10001); }},
      {"invalid_rules", [](F* f) { return f->SetRules("xishan", 0, 240, 3600, 3600); }},
      {"invalid_amount", [](F* f) { return f->Redeem("T1", "RD1", "V1", "T1", 0); }},
      {"amount_too_large", [](F* f) { return f->RecordSale("T1", "SL1", "M1", kInt64Max); }},
      {"invalid_order_state",
       [](F* f) {
         EXPECT_EQ("ok", CodeOf(f->PlaceOrder("R1", "O1", "R1")));
         return f->Accept("W1", "O1");
       }},
      {"empty_delivery", [](F* f) { return DeliverMany(f, 0); }},
      {"too_many_volunteers",
       [](F* f) { return DeliverMany(f, domain::kVolunteersPerDeliveryMax + 1); }},
      {"duplicate_volunteer",
       [](F* f) {
         EXPECT_EQ("ok", CodeOf(f->PlaceOrder("R1", "O1", "R1")));
         EXPECT_EQ("ok", CodeOf(f->Dispatch("S1", "O1", "W1")));
         EXPECT_EQ("ok", CodeOf(f->Accept("W1", "O1")));
         return f->Deliver("W1", "O1", {{"V1", 10}, {"V1", 20}});
       }},
      {"invalid_rating",
       [](F* f) {
         f->DeliveredOrder("O1", {{"V1", 60}});
         return f->Rate("R1", "O1", 6);
       }},
      {"rating_window_passed",
       [](F* f) {
         f->DeliveredOrder("O1", {{"V1", 60}});
         f->Advance(73 * kHourUs);
         return f->Rate("R1", "O1", 5);
       }},
  };
}

// Rejections of merchant business, payouts, adjustments and credentials.
std::vector<RejectionCase> MoneyCases() {
  return {
      {"insufficient_points", [](F* f) { return f->Redeem("T1", "RD1", "V1", "T1", 1); }},
      {"already_reversed",
       [](F* f) {
         f->Earn("O1", "V1", 10);
         EXPECT_EQ("ok", CodeOf(f->Redeem("T1", "RD1", "V1", "T1", 5)));
         EXPECT_EQ("ok", CodeOf(f->ReverseRedemption("T1", "RD1", "T1")));
         return f->ReverseRedemption("T1", "RD1", "T1");
       }},
      {"wrong_merchant", [](F* f) { return f->RecordSale("T2", "SL1", "M1", 100); }},
      {"reversal_window_passed",
       [](F* f) {
         f->Earn("O1", "V1", 10);
         EXPECT_EQ("ok", CodeOf(f->Redeem("T1", "RD1", "V1", "T1", 5)));
         f->Advance(7 * 24 * kHourUs + 1);
         return f->ReverseRedemption("T1", "RD1", "T1");
       }},
      {"insufficient_fund",
       [](F* f) {
         EXPECT_EQ("ok", CodeOf(f->RequestPayout("S1", "Y1", "P1", 100)));
         return f->ApprovePayout("S2", "Y1");
       }},
      {"same_staff",
       [](F* f) {
         EXPECT_EQ("ok", CodeOf(f->RequestPayout("S1", "Y1", "P1", 100)));
         return f->ApprovePayout("S1", "Y1");
       }},
      {"payout_not_pending",
       [](F* f) {
         EXPECT_EQ("ok", CodeOf(f->RequestPayout("S1", "Y1", "P1", 100)));
         EXPECT_EQ("ok", CodeOf(f->RejectPayout("S2", "Y1", "not now")));
         return f->ApprovePayout("S2", "Y1");
       }},
      {"invalid_account", [](F* f) { return f->Adjust("S1", "issuance:xishan", Unit::POINTS, 5); }},
      {"minutes_never_decrease",
       [](F* f) {
         f->DeliveredOrder("O1", {{"V1", 60}});
         return f->Adjust("S1", "volunteer:V1", Unit::MINUTES, -10);
       }},
      {"balance_below_zero", [](F* f) { return f->Adjust("S3", "merchant:M1", Unit::POINTS, -1); }},
      {"invalid_credential_role",
       [](F* f) {
         return f->IssueCredential("C1", static_cast<schema::CredentialRole>(7), "audit-office");
       }},
      {"invalid_secret_hash",
       [](F* f) {
         return f->IssueCredential("C1", schema::CredentialRole::AUDITOR, "audit-office", 31);
       }},
      {"already_revoked",
       [](F* f) {
         EXPECT_EQ("ok", CodeOf(f->IssueCredential("C1", schema::CredentialRole::TERMINAL, "T1")));
         EXPECT_EQ("ok", CodeOf(f->RevokeCredential("C1")));
         return f->RevokeCredential("C1");
       }},
  };
}

const std::vector<RejectionCase>& Cases() {
  static const std::vector<RejectionCase> cases = [] {
    std::vector<RejectionCase> all = InputAndRegistryCases();
    for (auto more : {OrderCases(), MoneyCases()}) all.insert(all.end(), more.begin(), more.end());
    return all;
  }();
  return cases;
}

class DomainRejectionTest : public DomainFixture,
                            public ::testing::WithParamInterface<RejectionCase> {};

TEST_P(DomainRejectionTest, GivesItsCodeWithAOneLineReason) {
  BuildWorld();
  const uint64_t seq_before = state_.last_seq;
  Status status = GetParam().run(this);
  EXPECT_EQ(GetParam().code, CodeOf(status)) << status.message();
  EXPECT_FALSE(status.message().empty());
  EXPECT_EQ(std::string::npos, status.message().find('\n')) << status.message();
  // The setup steps may append; the rejected command itself appends nothing.
  EXPECT_TRUE(last_events_.empty());
  EXPECT_GE(state_.last_seq, seq_before);
}

INSTANTIATE_TEST_SUITE_P(AllCodes, DomainRejectionTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<RejectionCase>& info) {
                           return std::string(info.param.code);
                         });

TEST(DomainRejectionCodesTest, AllRejectionCodesListsExactlyTheTestedCodes) {
  const std::vector<std::string> all = domain::AllRejectionCodes();
  const std::set<std::string> listed(all.begin(), all.end());
  EXPECT_EQ(all.size(), listed.size()) << "a code is listed twice";
  std::set<std::string> tested;
  for (const RejectionCase& c : Cases()) tested.insert(c.code);
  EXPECT_EQ(listed, tested);
  for (const std::string& code : all) {
    EXPECT_EQ(std::string::npos, code.find_first_not_of("abcdefghijklmnopqrstuvwxyz_")) << code;
  }
}

}  // namespace
}  // namespace mulin::testing
