// Goal: registrations, community rules and credentials follow DESIGN §2 (unique ids per kind,
// entities in an existing community, effective-dated rules that never change the past) and every
// untrusted id and text is bounded.
#include "tests/support/domain_fixture.h"

namespace mulin::testing {
namespace {

class DomainRegistryTest : public DomainFixture {};

TEST_F(DomainRegistryTest, EntitiesBelongToTheirCommunityAndEventsSayWhich) {
  BuildWorld();
  EXPECT_EQ("xishan", state_.members.at("V1").community_id);
  EXPECT_TRUE(state_.members.at("V1").Has(Role::VOLUNTEER));
  EXPECT_FALSE(state_.members.at("V1").Has(Role::RESIDENT));
  EXPECT_EQ("yangjiamen", state_.merchants.at("M1").community_id);
  EXPECT_EQ("M1", state_.terminals.at("T1").merchant_id);
  ASSERT_EQ("ok", CodeOf(RegisterTerminal("T3", "M2")));
  EXPECT_EQ("xishan", std::string(LastEvent().event().getCommunityId().cStr()))
      << "a terminal's event belongs to its merchant's community";
  EXPECT_EQ("operator", std::string(LastEvent().event().getActorId().cStr()));
  EXPECT_EQ(state_.last_seq, LastEvent().event().getSeq());
  EXPECT_EQ(now_us_, LastEvent().event().getRecordedAtUs());
}

TEST_F(DomainRegistryTest, IdsAreUniquePerKindOnly) {
  BuildWorld();
  EXPECT_EQ("ok", CodeOf(RegisterMerchant("S1", "xishan", 1000))) << "a merchant may share an id";
  EXPECT_EQ("ok", CodeOf(RegisterProject("S1", "xishan")));
  EXPECT_EQ("ok", CodeOf(RegisterTerminal("S1", "M2")));
  EXPECT_EQ("duplicate_id", CodeOf(RegisterTerminal("S1", "M1")));
  EXPECT_EQ("duplicate_id", CodeOf(RegisterProject("P1", "xishan")));
  EXPECT_EQ("duplicate_id", CodeOf(RegisterMerchant("M1", "xishan", 1000)));
  EXPECT_EQ("duplicate_id", CodeOf(RegisterCommunity("xishan")));
}

TEST_F(DomainRegistryTest, MerchantsNeedACommunityAndARateUpTo100Percent) {
  ASSERT_EQ("ok", CodeOf(RegisterCommunity("nanhu")));
  EXPECT_EQ("missing_community", CodeOf(RegisterMerchant("M1", "", 1000)));
  EXPECT_EQ("unknown_community", CodeOf(RegisterMerchant("M1", "xishan", 1000)));
  EXPECT_EQ("ok", CodeOf(RegisterMerchant("M1", "nanhu", 10000)));
  EXPECT_EQ(10000u, state_.merchants.at("M1").rate_bps);
  EXPECT_EQ("invalid_rate", CodeOf(RegisterMerchant("M2", "nanhu", 10001)));
  // The wire default 0 means "not given": the contract's 10%.
  EXPECT_EQ("ok", CodeOf(RegisterMerchant("M3", "nanhu", 0)));
  EXPECT_EQ(1000u, state_.merchants.at("M3").rate_bps);
  EXPECT_EQ(1000u, LastEvent().event().getBody().getMerchantRegistered().getContributionRateBps());
}

TEST_F(DomainRegistryTest, OperatorCommandsAreAcceptedFromAnyActor) {
  BuildWorld();
  ASSERT_EQ("ok", CodeOf(Exec("R1", "xishan", [](auto b) {
              auto m = b.initRegisterProject();
              m.setProjectId("P2");
            })));
  EXPECT_EQ("R1", std::string(LastEvent().event().getActorId().cStr()));
}

TEST_F(DomainRegistryTest, RolesAreKnownAndListedOnce) {
  ASSERT_EQ("ok", CodeOf(RegisterCommunity("xishan")));
  EXPECT_EQ("ok", CodeOf(RegisterMember(
                      "A", "xishan",
                      {Role::RESIDENT, Role::VOLUNTEER, Role::SOCIAL_WORKER, Role::STAFF})));
  EXPECT_EQ("invalid_roles", CodeOf(RegisterMember("B", "xishan", {})));
  EXPECT_EQ("invalid_roles", CodeOf(RegisterMember("B", "xishan", {Role::STAFF, Role::STAFF})));
  EXPECT_EQ("invalid_roles", CodeOf(RegisterMember("B", "xishan", {static_cast<Role>(9)})));
  EXPECT_EQ("invalid_roles",
            CodeOf(RegisterMember("B", "xishan",
                                  {Role::RESIDENT, Role::VOLUNTEER, Role::SOCIAL_WORKER,
                                   Role::STAFF, Role::RESIDENT})));
}

TEST_F(DomainRegistryTest, IdsAreBoundedPrintableAscii) {
  ASSERT_EQ("ok", CodeOf(RegisterCommunity("xishan")));
  EXPECT_EQ("ok", CodeOf(RegisterMember(std::string(64, 'a'), "xishan", {Role::RESIDENT})));
  EXPECT_EQ("invalid_id", CodeOf(RegisterMember(std::string(65, 'b'), "xishan", {Role::RESIDENT})));
  EXPECT_EQ("invalid_id", CodeOf(RegisterMember("V 1", "xishan", {Role::RESIDENT})));
  EXPECT_EQ("invalid_id", CodeOf(RegisterMember("V\n1", "xishan", {Role::RESIDENT})));
  EXPECT_EQ("invalid_id", CodeOf(RegisterMember("志愿者", "xishan", {Role::RESIDENT})));
  EXPECT_EQ("invalid_id", CodeOf(Exec("", "nanhu", [](auto b) { b.initRegisterCommunity(); })))
      << "an actor is required";
  EXPECT_EQ("invalid_id",
            CodeOf(Exec(std::string(65, 'o'), "nanhu", [](auto b) { b.initRegisterCommunity(); })));
}

TEST_F(DomainRegistryTest, RequestIdsAreRequiredAndBounded) {
  auto with_request_id = [this](const std::string& request_id) {
    capnp::MallocMessageBuilder message;
    auto command = message.initRoot<schema::Command>();
    command.setRequestId(request_id);
    command.setActorId("operator");
    command.setCommunityId("c" + std::to_string(state_.last_seq));
    command.getBody().initRegisterCommunity();
    return CodeOf(Run(command.asReader()));
  };
  EXPECT_EQ("ok", with_request_id(std::string(128, 'r')));
  EXPECT_EQ("invalid_id", with_request_id(std::string(129, 'r')));
  EXPECT_EQ("invalid_id", with_request_id(""));
}

TEST_F(DomainRegistryTest, TextsAreBoundedUtf8) {
  auto name = [this](const std::string& id, const std::string& text) {
    return CodeOf(Exec("operator", id, [&](auto b) {
      b.initRegisterCommunity().setName(capnp::Text::Reader(text.data(), text.size()));
    }));
  };
  EXPECT_EQ("ok", name("xishan", "西山社区"));
  EXPECT_EQ("ok", name("a", std::string(1024, 'n')));
  EXPECT_EQ("invalid_text", name("b", std::string(1025, 'n')));
  EXPECT_EQ("invalid_text", name("c", "\xc0\xaf"));      // overlong '/'
  EXPECT_EQ("invalid_text", name("d", "\xed\xa0\x80"));  // a surrogate
  EXPECT_EQ("invalid_text", name("e", "\xe8\xa5"));      // cut short
  EXPECT_EQ("invalid_text", name("f", std::string("a\0b", 3)));
}

TEST_F(DomainRegistryTest, RulesAreValidatedWithinRanges) {
  BuildWorld();
  EXPECT_EQ("ok", CodeOf(SetRules("xishan", 1, 1, 0, 0)));
  EXPECT_EQ("ok", CodeOf(SetRules("xishan", 10000, 10080, 366 * 86400, 366 * 86400)));
  EXPECT_EQ("invalid_rules", CodeOf(SetRules("xishan", 10001, 240, 3600, 3600)));
  EXPECT_EQ("invalid_rules", CodeOf(SetRules("xishan", -1, 240, 3600, 3600)));
  EXPECT_EQ("invalid_rules", CodeOf(SetRules("xishan", 10, 0, 3600, 3600)));
  EXPECT_EQ("invalid_rules", CodeOf(SetRules("xishan", 10, 10081, 3600, 3600)));
  EXPECT_EQ("invalid_rules", CodeOf(SetRules("xishan", 10, 240, -1, 3600)));
  EXPECT_EQ("invalid_rules", CodeOf(SetRules("xishan", 10, 240, 3600, 366 * 86400 + 1)));
  EXPECT_EQ("missing_community", CodeOf(SetRules("", 10, 240, 3600, 3600)));
  EXPECT_EQ("unknown_community", CodeOf(SetRules("nanhu", 10, 240, 3600, 3600)));
}

TEST_F(DomainRegistryTest, RulesTakeEffectFromNowOrLaterNeverInThePast) {
  BuildWorld();
  ASSERT_EQ("ok", CodeOf(SetRules("xishan", 20, 240, 3600, 3600)));
  EXPECT_EQ(now_us_, LastEvent().event().getBody().getRulesChanged().getEffectiveFromUs())
      << "0 means now";
  EXPECT_EQ("invalid_rules", CodeOf(SetRules("xishan", 30, 240, 3600, 3600, now_us_ - 1)));
  ASSERT_EQ("ok", CodeOf(SetRules("xishan", 60, 240, 3600, 3600, now_us_ + kHourUs)));
  DeliveredOrder("O1", {{"V1", 60}});
  EXPECT_EQ(20, state_.orders.at("O1").shares[0].points) << "the later rule is not yet in force";
  Advance(kHourUs);
  DeliveredOrder("O2", {{"V1", 60}});
  EXPECT_EQ(60, state_.orders.at("O2").shares[0].points);
  EXPECT_EQ(10, domain::RulesAt(state_.communities.at("yangjiamen"), now_us_).points_per_hour)
      << "rules are per community";
}

TEST_F(DomainRegistryTest, CredentialsBelongToTheirTerminalsCommunity) {
  BuildWorld();
  ASSERT_EQ("ok", CodeOf(IssueCredential("C1", schema::CredentialRole::TERMINAL, "T1")));
  EXPECT_EQ("yangjiamen", state_.credentials.at("C1").community_id);
  EXPECT_EQ(32u, state_.credentials.at("C1").secret_hash.size());
  ASSERT_EQ("ok", CodeOf(IssueCredential("C2", schema::CredentialRole::OPERATOR, "ops-desk")));
  EXPECT_EQ("", state_.credentials.at("C2").community_id);
  EXPECT_EQ("unknown_terminal",
            CodeOf(IssueCredential("C3", schema::CredentialRole::TERMINAL, "T404")));
  EXPECT_EQ("duplicate_id", CodeOf(IssueCredential("C1", schema::CredentialRole::AUDITOR, "a")));
  EXPECT_EQ("invalid_secret_hash",
            CodeOf(IssueCredential("C4", schema::CredentialRole::AUDITOR, "a", 33)));
  EXPECT_EQ("invalid_secret_hash",
            CodeOf(IssueCredential("C4", schema::CredentialRole::AUDITOR, "a", 0)));
  EXPECT_EQ("community_mismatch", CodeOf(Exec("operator", "xishan", [](auto b) {
              b.initRevokeCredential().setCredentialId("C1");
            })));
  ASSERT_EQ("ok", CodeOf(RevokeCredential("C1")));
  EXPECT_TRUE(state_.credentials.at("C1").revoked);
}

}  // namespace
}  // namespace mulin::testing
