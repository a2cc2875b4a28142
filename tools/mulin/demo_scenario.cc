// The demo's mechanics: the simulated clock, queued moments, registrations (see demo_scenario.h).
#include "tools/mulin/demo_scenario.h"

#include <future>

#include "ledger/event_codec.h"

namespace mulin::cli {
namespace {

using schema::Role;

constexpr int64_t kMinuteUs = 60LL * 1000000;
constexpr int64_t kDayUs = 24 * 60 * kMinuteUs;
constexpr int kMerchantCount = 52;

std::string Numbered(const std::string& prefix, uint64_t n, size_t width) {
  std::string digits = std::to_string(n);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return prefix + digits;
}

}  // namespace

DemoScenario::DemoScenario(ledger::Writer* writer, uint64_t seed, int64_t* clock_us)
    : writer_(writer), rng_(seed), clock_us_(clock_us) {}

uint64_t DemoScenario::Uniform(uint64_t lo, uint64_t hi) {
  // Modulo of a 64-bit draw: its bias is negligible here and, unlike the standard distributions,
  // it is the same with every standard library, so a seed means one history everywhere.
  return lo + rng_() % (hi - lo + 1);
}

const std::string& DemoScenario::Pick(const std::vector<std::string>& ids) {
  return ids[Uniform(0, ids.size() - 1)];
}

std::string DemoScenario::NextId(const std::string& prefix) {
  return Numbered(prefix, next_id_++, 6);
}

void DemoScenario::At(int day, int hour, int minute) {
  // Day 0 08:00 Shanghai is kDemoStartUs; the simulated clock only moves forward.
  *clock_us_ = kDemoStartUs + day * kDayUs + ((hour - 8) * 60 + minute) * kMinuteUs;
}

void DemoScenario::Queue(const std::string& actor, const std::string& community, const Fill& fill,
                         bool expect_rejection) {
  capnp::MallocMessageBuilder message;
  auto command = message.initRoot<schema::Command>();
  command.setRequestId(Numbered("demo-", next_request_++, 7));
  command.setActorId(actor);
  command.setCommunityId(community);
  fill(command.getBody());
  queued_.push_back(Queued{ledger::EncodeMessage(message), expect_rejection});
}

Status DemoScenario::Flush() {
  // Submitted together and decided in order at one moment of the simulated clock: however the
  // writer groups them, every event gets the same recorded_at, so the history is the seed's alone.
  std::vector<std::promise<ledger::CommandResult>> promises(queued_.size());
  for (size_t i = 0; i < queued_.size(); ++i) {
    writer_->Submit(std::move(queued_[i].bytes),
                    [&promises, i](const ledger::CommandResult& r) { promises[i].set_value(r); });
  }
  Status first_error;
  for (size_t i = 0; i < queued_.size(); ++i) {
    ledger::CommandResult result = promises[i].get_future().get();
    ++commands_;
    if (queued_[i].expect_rejection && result.status.IsRejected()) {
      ++rejected_on_purpose_;
    } else if (!result.status.ok() && first_error.ok()) {
      first_error = Status(result.status);
    }
  }
  queued_.clear();
  return first_error;
}

void DemoScenario::RegisterCommunity(Community* c, const char* name, int staff, int social_workers,
                                     int volunteers, int residents) {
  Queue("operator", c->id, [&](auto body) { body.initRegisterCommunity().setName(name); });
  auto add = [&](std::vector<std::string>* ids, const char* kind, int count, Role role) {
    for (int i = 1; i <= count; ++i) {
      ids->push_back(Numbered(c->prefix + kind, i, 3));
      Queue("operator", c->id, [&](auto body) {
        auto m = body.initRegisterMember();
        m.setMemberId(ids->back());
        m.setName(std::string(name) + " " + ids->back());
        m.initRoles(1).set(0, role);
      });
    }
  };
  add(&c->staff, "-ST", staff, Role::STAFF);
  add(&c->social_workers, "-SW", social_workers, Role::SOCIAL_WORKER);
  add(&c->volunteers, "-V", volunteers, Role::VOLUNTEER);
  add(&c->residents, "-R", residents, Role::RESIDENT);
}

void DemoScenario::RegisterMarket() {
  const std::string& yjm = yangjiamen_.id;
  for (int i = 1; i <= kMerchantCount; ++i) {
    merchants_.push_back(Numbered("YJ-M", i, 2));
    terminals_.push_back(Numbered("YJ-T", i, 2));
    Queue("operator", yjm, [&](auto body) {
      auto m = body.initRegisterMerchant();
      m.setMerchantId(merchants_.back());
      m.setName("红杨伙伴商户 " + merchants_.back());
      m.setContributionRateBps(1000);
    });
    Queue("operator", yjm, [&](auto body) {
      auto t = body.initRegisterTerminal();
      t.setTerminalId(terminals_.back());
      t.setMerchantId(merchants_.back());
    });
  }
  for (const auto& project : kDemoProjects) {
    Queue("operator", yjm, [&](auto body) {
      auto p = body.initRegisterProject();
      p.setProjectId(project[0]);
      p.setName(project[1]);
    });
  }
}

Status DemoScenario::Run(const std::function<void(int)>& progress) {
  At(0, 8);
  xishan_ = Community{"xishan", "XS", {}, {}, {}, {}};
  nanhu_ = Community{"nanhu", "NH", {}, {}, {}, {}};
  yangjiamen_ = Community{"yangjiamen", "YJ", {}, {}, {}, {}};
  RegisterCommunity(&xishan_, "西山社区", 2, 3, 126, 300);
  RegisterCommunity(&nanhu_, "南湖社区", 2, 7, 755, 150);
  RegisterCommunity(&yangjiamen_, "杨家门社区", 3, 9, 180, 200);
  RegisterMarket();
  MULIN_RETURN_IF_ERROR(Flush());
  for (int day = 1; day <= kDemoDays; ++day) {
    MULIN_RETURN_IF_ERROR(RunDay(day));
    if (progress) progress(day);
  }
  return Status::Ok();
}

}  // namespace mulin::cli
