// Validation, lookups, authority checks and event envelopes shared by every command family.
#include <cstdio>
#include <limits>

#include "ledger/domain/decide_internal.h"

namespace mulin::domain::internal {
namespace {

// Messages quote at most this much of an untrusted value.
constexpr size_t kQuotedBytesMax = 80;

// Length of the UTF-8 sequence starting at s[i], or 0 when it is not valid (overlong forms,
// surrogates and code points past U+10FFFF included).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length = 0;
  uint32_t code_point = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code_point = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code_point = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > s.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code_point < kMinForLength[length] || code_point > 0x10FFFF ||
      (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    return 0;
  }
  return length;
}

bool IsUtf8WithoutNul(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '\0') return false;
    const size_t length = Utf8SequenceLength(s, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

const char* RoleName(schema::Role role) {
  switch (role) {
    case schema::Role::RESIDENT:
      return "resident";
    case schema::Role::VOLUNTEER:
      return "volunteer";
    case schema::Role::SOCIAL_WORKER:
      return "social worker";
    case schema::Role::STAFF:
      return "staff";
  }
  return "unknown";
}

}  // namespace

std::string Quote(std::string_view value) {
  std::string out = "'";
  for (size_t i = 0; i < value.size() && i < kQuotedBytesMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    if (c >= 0x20 && c < 0x7F && c != '\'' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", c);
      out.append(escaped);
    }
  }
  if (value.size() > kQuotedBytesMax) out.append("...");
  out.push_back('\'');
  return out;
}

Status CheckId(const char* field, capnp::Text::Reader value, size_t max_bytes) {
  const std::string_view id(value.cStr(), value.size());
  if (id.empty()) return Reject(code::kInvalidId, std::string(field) + " is required");
  if (id.size() > max_bytes) {
    return Reject(code::kInvalidId, std::string(field) + " " + Quote(id) + " is longer than " +
                                        std::to_string(max_bytes) + " bytes; use a shorter id");
  }
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7F) {
      return Reject(code::kInvalidId, std::string(field) + " " + Quote(id) +
                                          " may hold only printable ASCII without spaces");
    }
  }
  return Status::Ok();
}

Status CheckText(const char* field, capnp::Text::Reader value) {
  const std::string_view text(value.cStr(), value.size());
  if (text.size() > kTextBytesMax) {
    return Reject(code::kInvalidText, std::string(field) + " is " + std::to_string(text.size()) +
                                          " bytes; shorten it to " + std::to_string(kTextBytesMax) +
                                          " bytes");
  }
  if (!IsUtf8WithoutNul(text)) {
    return Reject(code::kInvalidText, std::string(field) + " is not valid UTF-8 text");
  }
  return Status::Ok();
}

Status CheckReason(const char* field, capnp::Text::Reader value, const char* what_for) {
  if (value.size() == 0) {
    return Reject(code::kReasonRequired, std::string(field) + " is required " + what_for);
  }
  return CheckText(field, value);
}

Status RequireCommunity(const State& state, schema::Command::Reader command, std::string* id) {
  if (command.getCommunityId().size() == 0) {
    return Reject(code::kMissingCommunity, "this command needs communityId: name the community");
  }
  MULIN_RETURN_IF_ERROR(CheckId("communityId", command.getCommunityId()));
  *id = Str(command.getCommunityId());
  const Community* community = nullptr;
  return Lookup(state.communities, *id, code::kUnknownCommunity, "community",
                "register the community first", &community);
}

Status MatchCommunity(schema::Command::Reader command, const std::string& derived,
                      std::string_view kind, std::string_view id) {
  auto named = command.getCommunityId();
  if (named.size() == 0 || std::string_view(named.cStr(), named.size()) == derived) {
    return Status::Ok();
  }
  return Reject(code::kCommunityMismatch,
                std::string(kind) + " " + Quote(id) + " belongs to community " + Quote(derived) +
                    ", not " + Quote(std::string_view(named.cStr(), named.size())) +
                    "; leave communityId empty or name " + Quote(derived));
}

Status LookupMerchant(const State& state, schema::Command::Reader command,
                      capnp::Text::Reader merchant_id, const Merchant** merchant) {
  MULIN_RETURN_IF_ERROR(CheckId("merchantId", merchant_id));
  const std::string id = Str(merchant_id);
  MULIN_RETURN_IF_ERROR(Lookup(state.merchants, id, code::kUnknownMerchant, "merchant",
                               "register the merchant first", merchant));
  return MatchCommunity(command, (*merchant)->community_id, "merchant", id);
}

bool IsStaffOf(const State& state, const std::string& member_id, const std::string& community) {
  const Member* member = FindIn(state.members, member_id);
  return member != nullptr && member->Has(schema::Role::STAFF) && member->community_id == community;
}

Status RequireStaff(const State& state, const std::string& actor, const std::string& community,
                    const char* to_do) {
  if (IsStaffOf(state, actor, community)) return Status::Ok();
  return Reject(code::kNotPermitted, Quote(actor) + " is not staff of community " +
                                         Quote(community) + "; only its staff may " + to_do);
}

Status RequireRole(const Member& member, const std::string& member_id, schema::Role role) {
  if (member.Has(role)) return Status::Ok();
  return Reject(code::kRoleRequired, "member " + Quote(member_id) + " is not a " + RoleName(role) +
                                         "; register the role first");
}

Status RequireMerchantActor(const State& state, const std::string& actor,
                            const std::string& merchant_id, const std::string& terminal_id) {
  const Terminal* terminal = FindIn(state.terminals, actor);
  const bool own_terminal = terminal != nullptr && terminal->merchant_id == merchant_id;
  if (own_terminal && (terminal_id.empty() || terminal_id == actor)) return Status::Ok();
  const Merchant* merchant = FindIn(state.merchants, merchant_id);
  if (merchant != nullptr && IsStaffOf(state, actor, merchant->community_id)) return Status::Ok();
  if (terminal != nullptr && !own_terminal) {
    return Reject(code::kWrongMerchant, "terminal " + Quote(actor) + " acts for merchant " +
                                            Quote(terminal->merchant_id) + ", not " +
                                            Quote(merchant_id) + "; use that merchant's terminal");
  }
  if (own_terminal) {
    return Reject(code::kNotPermitted, "terminal " + Quote(actor) + " cannot act as terminal " +
                                           Quote(terminal_id) + "; name itself as terminalId");
  }
  return Reject(code::kNotPermitted, Quote(actor) + " is neither a terminal of merchant " +
                                         Quote(merchant_id) +
                                         " nor staff of its community; only they may do this");
}

int64_t ElapsedUs(int64_t from_us, int64_t to_us) {
  int64_t elapsed = 0;
  if (__builtin_sub_overflow(to_us, from_us, &elapsed)) {
    return to_us > from_us ? std::numeric_limits<int64_t>::max()
                           : std::numeric_limits<int64_t>::min();
  }
  return elapsed;
}

bool WithinWindow(int64_t elapsed_us, int64_t window_s) {
  int64_t window_us = 0;
  // A window too long to express in microseconds never closes.
  if (__builtin_mul_overflow(window_s, kMicrosPerSecond, &window_us)) return window_s > 0;
  return elapsed_us <= window_us;
}

schema::Event::Body::Builder EventSink::Add(const std::string& community) {
  // Events are small (tens of words); a small first segment saves the allocator per event.
  constexpr unsigned kFirstSegmentWords = 128;
  auto message = std::make_unique<capnp::MallocMessageBuilder>(kFirstSegmentWords);
  auto event = message->initRoot<schema::Event>();
  event.setSeq(ctx_.next_seq + decision_->events.size());
  event.setRecordedAtUs(ctx_.now_us);
  event.setActorId(command_.getActorId());
  event.setCommunityId(community);
  event.setRequestId(command_.getRequestId());
  decision_->events.push_back(std::move(message));
  return event.getBody();
}

}  // namespace mulin::domain::internal
