// The demo's points redemptions, market days, fund payouts and reversals (see demo_scenario.h).
#include <map>

#include "ledger/domain/state.h"
#include "tools/mulin/demo_scenario.h"

namespace mulin::cli {
namespace {

constexpr int64_t kRedeemPointsMin = 5;
constexpr int64_t kRedeemPointsMax = 60;
constexpr int kOverdraftEveryDays = 10;  // a terminal tries to redeem more than a balance holds
constexpr int kSameStaffPayoutDay = 28;  // a payout approved by its own requester is refused

}  // namespace

Status DemoScenario::Redemptions(int day, int count) {
  At(day, 12);
  // Volunteers spend at any community's partner merchant: points are ledger-wide.
  std::vector<const std::string*> all;
  for (const Community* c : {&xishan_, &nanhu_, &yangjiamen_}) {
    for (const std::string& v : c->volunteers) all.push_back(&v);
  }
  std::map<std::string, int64_t> balances;
  MULIN_RETURN_IF_ERROR(writer_->Read([&](const domain::State& state) {
    for (const std::string* v : all) {
      const int64_t points = domain::BalanceOf(state, "volunteer:" + *v, schema::Unit::POINTS);
      if (points >= kRedeemPointsMin) balances[*v] = points;
    }
  }));
  std::vector<std::string> spenders;
  for (const auto& [volunteer, points] : balances) spenders.push_back(volunteer);
  for (int i = 0; i < count && !spenders.empty(); ++i) {
    const std::string volunteer = Pick(spenders);
    int64_t& balance = balances[volunteer];
    if (balance < kRedeemPointsMin) continue;
    const int64_t points = static_cast<int64_t>(
        Uniform(kRedeemPointsMin, static_cast<uint64_t>(std::min(balance, kRedeemPointsMax))));
    balance -= points;
    const std::string terminal = Pick(terminals_);
    const std::string id = NextId("RD");
    Queue(terminal, "", [&](auto body) {
      auto r = body.initRedeem();
      r.setRedemptionId(id);
      r.setVolunteerId(volunteer);
      r.setTerminalId(terminal);
      r.setPoints(points);
    });
    recent_redemptions_.emplace_back(id, terminal);
  }
  if (day % kOverdraftEveryDays == 0 && !spenders.empty()) {
    const std::string volunteer = Pick(spenders);
    const std::string terminal = Pick(terminals_);
    Queue(
        terminal, "",
        [&](auto body) {
          auto r = body.initRedeem();
          r.setRedemptionId(NextId("RD"));
          r.setVolunteerId(volunteer);
          r.setTerminalId(terminal);
          r.setPoints(balances[volunteer] + 50);
        },
        /*expect_rejection=*/true);
  }
  return Flush();
}

void DemoScenario::MarketDay() {
  for (size_t m = 0; m < merchants_.size(); ++m) {
    const uint64_t sales = Uniform(1, 3);
    for (uint64_t s = 0; s < sales; ++s) {
      const std::string id = NextId("SALE");
      const auto gross_fen = static_cast<int64_t>(Uniform(2000, 80000));
      Queue(terminals_[m], "", [&](auto body) {
        auto sale = body.initRecordSale();
        sale.setSaleId(id);
        sale.setMerchantId(merchants_[m]);
        sale.setGrossFen(gross_fen);
      });
      recent_sales_.emplace_back(id, merchants_[m]);
    }
  }
}

Status DemoScenario::Payout(int day) {
  int64_t fund_fen = 0;
  Status read = writer_->Read([&](const domain::State& state) {
    fund_fen = domain::BalanceOf(state, "fund:" + yangjiamen_.id, schema::Unit::FEN);
  });
  MULIN_RETURN_IF_ERROR(read);
  const int64_t amount_fen = fund_fen / 3 / 100 * 100;  // whole yuan, a third of the fund
  if (amount_fen <= 0) return Status::Ok();
  const std::string id = NextId("PAY");
  const char* project = kDemoProjects[(day / 14) % 5][0];
  const std::string& maker = yangjiamen_.staff[0];
  At(day, 17);
  Queue(maker, yangjiamen_.id, [&](auto body) {
    auto p = body.initRequestPayout();
    p.setPayoutId(id);
    p.setProjectId(project);
    p.setAmountFen(amount_fen);
    p.setPurpose("志愿服务项目季度经费");
  });
  if (day == kSameStaffPayoutDay) {  // maker–checker: the requester cannot approve
    Queue(
        maker, yangjiamen_.id, [&](auto body) { body.initApprovePayout().setPayoutId(id); },
        /*expect_rejection=*/true);
  }
  Queue(yangjiamen_.staff[1], yangjiamen_.id,
        [&](auto body) { body.initApprovePayout().setPayoutId(id); });
  return Flush();
}

void DemoScenario::Reversals() {
  for (const auto& [id, terminal] : recent_redemptions_) {
    if (Uniform(1, 100) > 2) continue;  // a mistaken redemption, put right the next day
    Queue(terminal, "", [&](auto body) {
      auto r = body.initReverseRedemption();
      r.setRedemptionId(id);
      r.setTerminalId(terminal);
      r.setReason("收银误操作");
    });
  }
  recent_redemptions_.clear();
  for (const auto& [id, merchant] : recent_sales_) {
    if (Uniform(1, 100) > 1) continue;  // a refunded sale takes its contribution back
    const std::string terminal = terminals_[std::stoul(merchant.substr(4)) - 1];
    Queue(terminal, "", [&](auto body) {
      auto r = body.initReverseSale();
      r.setSaleId(id);
      r.setMerchantId(merchant);
      r.setReason("顾客退货");
    });
  }
  recent_sales_.clear();
}

Status DemoScenario::OneDayVolunteers(int day) {
  // 一日志愿者: 40 citizens register as volunteers for one day and serve in teams of five.
  At(day, 13);
  std::vector<std::string> one_day;
  for (int i = 1; i <= 40; ++i) {
    one_day.push_back("NH-D" + std::string(i < 10 ? "0" : "") + std::to_string(i));
    Queue("operator", nanhu_.id, [&](auto body) {
      auto m = body.initRegisterMember();
      m.setMemberId(one_day.back());
      m.setName("一日志愿者 " + one_day.back());
      m.initRoles(1).set(0, schema::Role::VOLUNTEER);
    });
  }
  OrderSpec spec{8, 13, 17, 5, 5, 240, 240, false, {"一日志愿者 服务游客"}};
  MULIN_RETURN_IF_ERROR(Flush());
  Community team = nanhu_;
  team.volunteers = one_day;
  return OrderLoops(day, {Loop{&team, &spec, {}}});
}

}  // namespace mulin::cli
