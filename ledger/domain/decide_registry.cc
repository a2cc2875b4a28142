// Operator commands: registrations, community rules and terminal-service credentials. The operator
// tooling authenticates these, so any actor is accepted; the rules checked here are about data.
#include "ledger/domain/decide_internal.h"

namespace mulin::domain::internal {
namespace {

using Body = schema::Command::Body;

Status RegisterCommunity(const State& state, schema::Command::Reader command, EventSink* sink) {
  auto body = command.getBody().getRegisterCommunity();
  if (command.getCommunityId().size() == 0) {
    return Reject(code::kMissingCommunity, "name the new community's id in communityId");
  }
  MULIN_RETURN_IF_ERROR(CheckId("communityId", command.getCommunityId()));
  MULIN_RETURN_IF_ERROR(CheckText("name", body.getName()));
  const std::string id = Str(command.getCommunityId());
  MULIN_RETURN_IF_ERROR(CheckUnused(state.communities, id, "community"));
  sink->Add(id).initCommunityRegistered().setName(body.getName());
  return Status::Ok();
}

Status CheckRoles(capnp::List<schema::Role>::Reader roles) {
  if (roles.size() == 0 || roles.size() > kRolesMax) {
    return Reject(code::kInvalidRoles, "give between 1 and " + std::to_string(kRolesMax) +
                                           " roles (resident, volunteer, socialWorker, staff)");
  }
  RoleMask seen = 0;
  for (schema::Role role : roles) {
    const auto value = static_cast<uint16_t>(role);
    if (value > static_cast<uint16_t>(schema::Role::STAFF)) {
      return Reject(code::kInvalidRoles, "role " + std::to_string(value) +
                                             " is unknown; use resident, volunteer, "
                                             "socialWorker or staff");
    }
    if ((seen & RoleBit(role)) != 0) {
      return Reject(code::kInvalidRoles, "a role is listed twice; list each role once");
    }
    seen |= RoleBit(role);
  }
  return Status::Ok();
}

Status RegisterMember(const State& state, schema::Command::Reader command, EventSink* sink) {
  auto body = command.getBody().getRegisterMember();
  MULIN_RETURN_IF_ERROR(CheckId("memberId", body.getMemberId()));
  MULIN_RETURN_IF_ERROR(CheckText("name", body.getName()));
  MULIN_RETURN_IF_ERROR(CheckRoles(body.getRoles()));
  std::string community;
  MULIN_RETURN_IF_ERROR(RequireCommunity(state, command, &community));
  MULIN_RETURN_IF_ERROR(CheckUnused(state.members, Str(body.getMemberId()), "member"));
  auto event = sink->Add(community).initMemberRegistered();
  event.setMemberId(body.getMemberId());
  event.setName(body.getName());
  auto roles = event.initRoles(body.getRoles().size());
  for (unsigned i = 0; i < roles.size(); ++i) roles.set(i, body.getRoles()[i]);
  return Status::Ok();
}

Status RegisterMerchant(const State& state, schema::Command::Reader command, EventSink* sink) {
  auto body = command.getBody().getRegisterMerchant();
  MULIN_RETURN_IF_ERROR(CheckId("merchantId", body.getMerchantId()));
  MULIN_RETURN_IF_ERROR(CheckText("name", body.getName()));
  if (body.getContributionRateBps() > kRateBpsMax) {
    return Reject(code::kInvalidRate, "contributionRateBps " +
                                          std::to_string(body.getContributionRateBps()) +
                                          " exceeds " + std::to_string(kRateBpsMax) +
                                          " (100%); give basis points, e.g. 1000 for 10%");
  }
  std::string community;
  MULIN_RETURN_IF_ERROR(RequireCommunity(state, command, &community));
  MULIN_RETURN_IF_ERROR(CheckUnused(state.merchants, Str(body.getMerchantId()), "merchant"));
  auto event = sink->Add(community).initMerchantRegistered();
  event.setMerchantId(body.getMerchantId());
  event.setName(body.getName());
  const uint32_t rate = body.getContributionRateBps();
  event.setContributionRateBps(rate == 0 ? kDefaultRateBps : rate);
  return Status::Ok();
}

Status RegisterProject(const State& state, schema::Command::Reader command, EventSink* sink) {
  auto body = command.getBody().getRegisterProject();
  MULIN_RETURN_IF_ERROR(CheckId("projectId", body.getProjectId()));
  MULIN_RETURN_IF_ERROR(CheckText("name", body.getName()));
  std::string community;
  MULIN_RETURN_IF_ERROR(RequireCommunity(state, command, &community));
  MULIN_RETURN_IF_ERROR(CheckUnused(state.projects, Str(body.getProjectId()), "project"));
  auto event = sink->Add(community).initProjectRegistered();
  event.setProjectId(body.getProjectId());
  event.setName(body.getName());
  return Status::Ok();
}

Status RegisterTerminal(const State& state, schema::Command::Reader command, EventSink* sink) {
  auto body = command.getBody().getRegisterTerminal();
  MULIN_RETURN_IF_ERROR(CheckId("terminalId", body.getTerminalId()));
  const Merchant* merchant = nullptr;
  MULIN_RETURN_IF_ERROR(LookupMerchant(state, command, body.getMerchantId(), &merchant));
  MULIN_RETURN_IF_ERROR(CheckUnused(state.terminals, Str(body.getTerminalId()), "terminal"));
  auto event = sink->Add(merchant->community_id).initTerminalRegistered();
  event.setTerminalId(body.getTerminalId());
  event.setMerchantId(body.getMerchantId());
  return Status::Ok();
}

// invalid_rules unless min <= value <= max.
Status CheckRange(const char* field, int64_t value, int64_t min, int64_t max) {
  if (value >= min && value <= max) return Status::Ok();
  return Reject(code::kInvalidRules, std::string(field) + " " + std::to_string(value) +
                                         " is outside " + std::to_string(min) + ".." +
                                         std::to_string(max));
}

Status SetRules(const State& state, schema::Command::Reader command, EventSink* sink) {
  auto body = command.getBody().getSetRules();
  std::string community;
  MULIN_RETURN_IF_ERROR(RequireCommunity(state, command, &community));
  MULIN_RETURN_IF_ERROR(CheckRange("pointsPerHour", body.getPointsPerHour(), 1, kPointsPerHourMax));
  MULIN_RETURN_IF_ERROR(
      CheckRange("maxMinutesPerOrder", body.getMaxMinutesPerOrder(), 1, kMaxMinutesPerOrderMax));
  MULIN_RETURN_IF_ERROR(CheckRange("ratingWindowS", body.getRatingWindowS(), 0, kWindowSecondsMax));
  MULIN_RETURN_IF_ERROR(
      CheckRange("reversalWindowS", body.getReversalWindowS(), 0, kWindowSecondsMax));
  int64_t effective_from_us = body.getEffectiveFromUs();
  if (effective_from_us == 0) effective_from_us = sink->now_us();
  if (effective_from_us < sink->now_us()) {
    return Reject(code::kInvalidRules,
                  "effectiveFromUs " + std::to_string(effective_from_us) +
                      " is before the ledger clock " + std::to_string(sink->now_us()) +
                      "; rules cannot change the past: give 0 for now, or a later instant");
  }
  auto event = sink->Add(community).initRulesChanged();
  event.setEffectiveFromUs(effective_from_us);
  event.setPointsPerHour(body.getPointsPerHour());
  event.setMaxMinutesPerOrder(body.getMaxMinutesPerOrder());
  event.setRatingWindowS(body.getRatingWindowS());
  event.setReversalWindowS(body.getReversalWindowS());
  return Status::Ok();
}

// The community a credential belongs to: its terminal's for terminal credentials, else none.
Status CredentialCommunity(const State& state, schema::CredentialRole role,
                           const std::string& subject, std::string* community) {
  community->clear();
  if (role != schema::CredentialRole::TERMINAL) return Status::Ok();
  const Terminal* terminal = nullptr;
  MULIN_RETURN_IF_ERROR(Lookup(state.terminals, subject, code::kUnknownTerminal, "terminal",
                               "register the terminal before issuing its credential", &terminal));
  if (const Merchant* merchant = FindIn(state.merchants, terminal->merchant_id)) {
    *community = merchant->community_id;
  }
  return Status::Ok();
}

Status IssueCredential(const State& state, schema::Command::Reader command, EventSink* sink) {
  auto body = command.getBody().getIssueCredential();
  MULIN_RETURN_IF_ERROR(CheckId("credentialId", body.getCredentialId()));
  MULIN_RETURN_IF_ERROR(CheckId("subjectId", body.getSubjectId()));
  const auto role = body.getRole();
  if (static_cast<uint16_t>(role) > static_cast<uint16_t>(schema::CredentialRole::OPERATOR)) {
    return Reject(code::kInvalidCredentialRole, "credential role " +
                                                    std::to_string(static_cast<uint16_t>(role)) +
                                                    " is unknown; use terminal, auditor or "
                                                    "operator");
  }
  if (body.getSecretHash().size() != kSecretHashBytes) {
    return Reject(code::kInvalidSecretHash,
                  "secretHash has " + std::to_string(body.getSecretHash().size()) +
                      " bytes; give the " + std::to_string(kSecretHashBytes) +
                      "-byte BLAKE2b-256 hash of the secret");
  }
  std::string community;
  MULIN_RETURN_IF_ERROR(CredentialCommunity(state, role, Str(body.getSubjectId()), &community));
  MULIN_RETURN_IF_ERROR(
      MatchCommunity(command, community, "credential", Str(body.getCredentialId())));
  MULIN_RETURN_IF_ERROR(CheckUnused(state.credentials, Str(body.getCredentialId()), "credential"));
  auto event = sink->Add(community).initCredentialIssued();
  event.setCredentialId(body.getCredentialId());
  event.setRole(role);
  event.setSubjectId(body.getSubjectId());
  event.setSecretHash(body.getSecretHash());
  return Status::Ok();
}

Status RevokeCredential(const State& state, schema::Command::Reader command, EventSink* sink) {
  auto body = command.getBody().getRevokeCredential();
  MULIN_RETURN_IF_ERROR(CheckId("credentialId", body.getCredentialId()));
  MULIN_RETURN_IF_ERROR(CheckText("reason", body.getReason()));
  const std::string id = Str(body.getCredentialId());
  const Credential* credential = nullptr;
  MULIN_RETURN_IF_ERROR(Lookup(state.credentials, id, code::kUnknownCredential, "credential",
                               "check the credential id", &credential));
  MULIN_RETURN_IF_ERROR(MatchCommunity(command, credential->community_id, "credential", id));
  if (credential->revoked) {
    return Reject(code::kAlreadyRevoked,
                  "credential " + Quote(id) + " is already revoked; issue a new one if needed");
  }
  auto event = sink->Add(credential->community_id).initCredentialRevoked();
  event.setCredentialId(body.getCredentialId());
  event.setReason(body.getReason());
  return Status::Ok();
}

}  // namespace

Status DecideRegistry(const State& state, schema::Command::Reader command, EventSink* sink) {
  switch (command.getBody().which()) {
    case Body::REGISTER_COMMUNITY:
      return RegisterCommunity(state, command, sink);
    case Body::REGISTER_MEMBER:
      return RegisterMember(state, command, sink);
    case Body::REGISTER_MERCHANT:
      return RegisterMerchant(state, command, sink);
    case Body::REGISTER_PROJECT:
      return RegisterProject(state, command, sink);
    case Body::REGISTER_TERMINAL:
      return RegisterTerminal(state, command, sink);
    case Body::SET_RULES:
      return SetRules(state, command, sink);
    default:
      return Reject(code::kUnknownCommand, "not a registry command");
  }
}

Status DecideCredentials(const State& state, schema::Command::Reader command, EventSink* sink) {
  switch (command.getBody().which()) {
    case Body::ISSUE_CREDENTIAL:
      return IssueCredential(state, command, sink);
    case Body::REVOKE_CREDENTIAL:
      return RevokeCredential(state, command, sink);
    default:
      return Reject(code::kUnknownCommand, "not a credential command");
  }
}

}  // namespace mulin::domain::internal
