#include "tools/mulin/service.h"

#include <capnp/message.h>
#include <kj/async.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "ledger/domain/state.h"
#include "ledger/event_codec.h"
#include "ledger/schema/command.capnp.h"

namespace mulin::service {
namespace {

using Fill = std::function<void(schema::Command::Body::Builder)>;

// A terminal's command and its answer are a few dozen words. Without a size, Cap'n Proto starts
// each message with a zeroed 8 KiB segment: per redemption that calloc and memset were a tenth of
// the service's instructions (callgrind, 64 connections).
constexpr unsigned kCommandFirstSegmentWords = 64;
constexpr capnp::MessageSize kAnswerSizeHint{64, 0};

void FillOutcome(const ledger::CommandResult& result, schema::Outcome::Builder out) {
  out.setOk(result.status.ok());
  out.setCode(CodeName(result.status.code()));
  out.setReasonCode(result.status.reason_code());
  out.setMessage(result.status.message());
  out.setFirstSeq(result.first_seq);
  out.setEventCount(result.event_count);
  out.setDuplicate(result.duplicate);
}

// Hands a command to the writer and resolves on this (the loop's) thread with its result: the
// writer's completion posts the result to the loop's inbox, and the loop fulfils the promise.
// Results travel as kj::Own: GCC 12 misreads std::string members inside kj::Maybe as
// uninitialised. The returned promise owns the fulfiller the posted work fulfils. That is sound
// because no call here allows cancellation (CallContext::allowCancellation): a call whose peer
// hangs up runs on until the writer answers it. Allowing it would free the fulfiller under the
// posted work (service_test's HangingUpWithCommandsInFlightLeavesTheServerServing crashes the
// server then).
kj::Promise<kj::Own<ledger::CommandResult>> SubmitAsync(const Backend& backend,
                                                        std::string command) {
  auto paf = kj::newPromiseAndFulfiller<kj::Own<ledger::CommandResult>>();
  backend.writer->Submit(std::move(command), [answers = backend.answers, f = paf.fulfiller.get()](
                                                 const ledger::CommandResult& r) {
    answers->Post([f, result = r]() mutable {
      f->fulfill(kj::heap<ledger::CommandResult>(std::move(result)));
    });
  });
  return kj::mv(paf.promise).attach(kj::mv(paf.fulfiller));
}

// Runs `read` on the writer thread against the live state; resolves here with its value.
template <typename T>
kj::Promise<T> ReadAsync(const Backend& backend, std::function<T(const domain::State&)> read) {
  auto paf = kj::newPromiseAndFulfiller<T>();
  Status queued = backend.writer->SubmitRead(
      [answers = backend.answers, f = paf.fulfiller.get(), read](const domain::State& s) {
        auto value = std::make_shared<T>(read(s));  // T may be move-only; std::function copies
        answers->Post([f, value] { f->fulfill(kj::mv(*value)); });
      });
  if (!queued.ok()) return KJ_EXCEPTION(DISCONNECTED, queued.message());
  return kj::mv(paf.promise).attach(kj::mv(paf.fulfiller));
}

std::string BuildCommand(const std::string& request_id, const std::string& actor,
                         const Fill& fill) {
  capnp::MallocMessageBuilder message(kCommandFirstSegmentWords);
  auto command = message.initRoot<schema::Command>();
  command.setRequestId(request_id);
  command.setActorId(actor);
  fill(command.getBody());
  return ledger::EncodeMessage(message);
}

class TerminalImpl final : public schema::Terminal::Server {
 public:
  TerminalImpl(Backend backend, std::string terminal_id, std::string merchant_id,
               ServiceStats* stats)
      : backend_(backend),
        terminal_id_(std::move(terminal_id)),
        merchant_id_(std::move(merchant_id)),
        stats_(stats) {}

  kj::Promise<void> balance(BalanceContext context) override {
    const std::string account = "volunteer:" + std::string(context.getParams().getVolunteerId());
    return ReadAsync<int64_t>(backend_,
                              [account](const domain::State& s) {
                                return domain::BalanceOf(s, account, schema::Unit::POINTS);
                              })
        .then([context](int64_t points) mutable {
          context.getResults(kAnswerSizeHint).setPoints(points);
        });
  }

  kj::Promise<void> redeem(RedeemContext context) override {
    auto p = context.getParams();
    return Run(
        p.getRequestId(),
        [&](auto body) {
          auto r = body.initRedeem();
          r.setRedemptionId(p.getRedemptionId());
          r.setVolunteerId(p.getVolunteerId());
          r.setTerminalId(terminal_id_);
          r.setPoints(p.getPoints());
        },
        context);
  }

  kj::Promise<void> reverse(ReverseContext context) override {
    auto p = context.getParams();
    return Run(
        p.getRequestId(),
        [&](auto body) {
          auto r = body.initReverseRedemption();
          r.setRedemptionId(p.getRedemptionId());
          r.setTerminalId(terminal_id_);
          r.setReason(p.getReason());
        },
        context);
  }

  kj::Promise<void> recordSale(RecordSaleContext context) override {
    auto p = context.getParams();
    return Run(
        p.getRequestId(),
        [&](auto body) {
          auto s = body.initRecordSale();
          s.setSaleId(p.getSaleId());
          s.setMerchantId(merchant_id_);  // a terminal records sales of its own merchant only
          s.setGrossFen(p.getGrossFen());
        },
        context);
  }

 private:
  // The terminal's identity, not the caller's words, fills in who acts and for which merchant.
  template <typename Context>
  kj::Promise<void> Run(capnp::Text::Reader request_id, const Fill& fill, Context context) {
    std::string command = BuildCommand(request_id, terminal_id_, fill);
    return SubmitAsync(backend_, std::move(command))
        .then([this, context](kj::Own<ledger::CommandResult> result) mutable {
          if (!result->status.ok()) {
            ++stats_->commands_rejected;
            spdlog::info("terminal {}: {}", terminal_id_, result->status.ToString());
          }
          FillOutcome(*result, context.getResults(kAnswerSizeHint).initOutcome());
        });
  }

  Backend backend_;
  std::string terminal_id_;
  std::string merchant_id_;
  ServiceStats* stats_;
};

class AuditorImpl final : public schema::Auditor::Server {
 public:
  explicit AuditorImpl(const ledger::EventLog* log) : log_(log) {}

  kj::Promise<void> checkpoint(CheckpointContext context) override {
    const ledger::Head head = log_->head();
    context.getResults().setSeq(head.seq);
    context.getResults().setChainHash(ledger::HexEncode(head.chain));
    return kj::READY_NOW;
  }

  kj::Promise<void> events(EventsContext context) override {
    const uint64_t from = std::max<uint64_t>(1, context.getParams().getFromSeq());
    const uint32_t limit = std::min(context.getParams().getLimit(), kEventsPageMax);
    std::vector<std::string> page;
    if (limit > 0) {
      auto cursor = log_->NewCursor(from, from + limit - 1);
      for (; cursor->Valid(); cursor->Next()) page.emplace_back(cursor->payload());
      // A damaged record is reported to the auditor, never served as if it were sound.
      KJ_REQUIRE(cursor->status().ok(), cursor->status().ToString());
    }
    auto list = context.getResults().initEvents(static_cast<unsigned>(page.size()));
    for (size_t i = 0; i < page.size(); ++i) {
      list.set(i, capnp::Data::Reader(reinterpret_cast<const kj::byte*>(page[i].data()),
                                      page[i].size()));
    }
    return kj::READY_NOW;
  }

 private:
  const ledger::EventLog* log_;
};

class OperatorImpl final : public schema::Operator::Server {
 public:
  OperatorImpl(Backend backend, ServiceStats* stats) : backend_(backend), stats_(stats) {}

  kj::Promise<void> execute(ExecuteContext context) override {
    capnp::MallocMessageBuilder message;
    message.setRoot(context.getParams().getCommand());
    return SubmitAsync(backend_, ledger::EncodeMessage(message))
        .then([this, context](kj::Own<ledger::CommandResult> result) mutable {
          if (!result->status.ok()) {
            ++stats_->commands_rejected;
            spdlog::info("operator command: {}", result->status.ToString());
          }
          FillOutcome(*result, context.getResults().initOutcome());
        });
  }

 private:
  Backend backend_;
  ServiceStats* stats_;
};

struct LoginCheck {
  bool ok = false;
  schema::CredentialRole role = schema::CredentialRole::TERMINAL;
  std::string subject;
  std::string merchant;  // for terminals
};

LoginCheck CheckCredential(const domain::State& state, const std::string& id,
                           const std::string& hash) {
  LoginCheck check;
  const domain::Credential* credential = domain::FindIn(state.credentials, id);
  if (credential == nullptr || credential->revoked ||
      credential->secret_hash.size() != hash.size() ||
      sodium_memcmp(credential->secret_hash.data(), hash.data(), hash.size()) != 0) {
    return check;
  }
  check.role = credential->role;
  check.subject = credential->subject_id;
  if (check.role == schema::CredentialRole::TERMINAL) {
    const domain::Terminal* terminal = domain::FindIn(state.terminals, check.subject);
    if (terminal == nullptr) return check;
    check.merchant = terminal->merchant_id;
  }
  check.ok = true;
  return check;
}

class GatewayImpl final : public schema::Gateway::Server {
 public:
  GatewayImpl(Backend backend, const ledger::EventLog* log, ServiceStats* stats)
      : backend_(backend), log_(log), stats_(stats) {}

  kj::Promise<void> login(LoginContext context) override {
    std::string id = context.getParams().getCredentialId();
    std::string hash = HashSecret(context.getParams().getSecret());
    return ReadAsync<kj::Own<LoginCheck>>(backend_,
                                          [id, hash](const domain::State& s) {
                                            return kj::heap(CheckCredential(s, id, hash));
                                          })
        .then([this, context, id](kj::Own<LoginCheck> owned) mutable {
          const LoginCheck& check = *owned;
          if (!check.ok) {
            ++stats_->logins_refused;
            spdlog::warn("login refused for credential '{}'", id);
            // One answer for unknown, wrong and revoked credentials: it tells a guesser nothing.
            KJ_FAIL_REQUIRE("credential refused");
          }
          ++stats_->sessions_opened;
          spdlog::info("session opened: credential '{}' ({})", id, check.subject);
          auto session = context.getResults().initSession();
          session.setRole(check.role);
          session.setSubjectId(check.subject);
          switch (check.role) {
            case schema::CredentialRole::TERMINAL:
              session.setTerminal(
                  kj::heap<TerminalImpl>(backend_, check.subject, check.merchant, stats_));
              break;
            case schema::CredentialRole::AUDITOR:
              session.setAuditor(kj::heap<AuditorImpl>(log_));
              break;
            case schema::CredentialRole::OPERATOR:
              session.setOperator(kj::heap<OperatorImpl>(backend_, stats_));
              break;
          }
        });
  }

 private:
  Backend backend_;
  const ledger::EventLog* log_;
  ServiceStats* stats_;
};

}  // namespace

capnp::Capability::Client NewGateway(Backend backend, const ledger::EventLog* log,
                                     ServiceStats* stats) {
  return kj::heap<GatewayImpl>(backend, log, stats);
}

std::string HashSecret(const std::string& secret) {
  unsigned char hash[32];
  crypto_generichash(hash, sizeof(hash), reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size(), nullptr, 0);
  return std::string(reinterpret_cast<const char*>(hash), sizeof(hash));
}

}  // namespace mulin::service
