// The demo's simulated days (see demo_scenario.h).
#include <algorithm>

#include "tools/mulin/demo_scenario.h"

namespace mulin::cli {
namespace {

constexpr int kPayoutIntervalDays = 14;
constexpr int kNanhuRuleChangeDay = 30;
constexpr int kOneDayVolunteerDay = 45;

// Daily services of each community and the nightly patrol, in the article's words. Morning
// services are delivered by 11:00, before the day's redemptions (12:00) and market (15:00), so
// the simulated clock only moves forward within a day.
// One spec a row reads as a table, so the formatter leaves these lines alone.
// clang-format off
//                                               orders start deliver team  minutes  may cancel
const DemoScenario::OrderSpec kXishanDaily{      12,    8,    11,     1, 3, 30, 150, true,
    {"睦邻餐厅 送餐上门", "体检报告解读与健康问诊", "居家安全检修", "健康讲座", "结对守护 日常走访"}};
const DemoScenario::OrderSpec kYangjiamenDaily{  4,     8,    11,     1, 2, 30, 120, true,
    {"微心愿 小家电维修", "独居老人 清洁", "助老代购", "邻里纠纷调解", "假日托管"}};
const DemoScenario::OrderSpec kNanhuDaily{       3,     8,    11,     1, 2, 30, 90,  true,
    {"周五理发", "长寿面", "义诊", "共富集市 帮摊"}};
const DemoScenario::OrderSpec kNightPatrol{      1,     19,   21,     5, 8, 120, 120, false,
    {"守护红船 夜间湖畔巡逻 5 公里"}};
// clang-format on

}  // namespace

Status DemoScenario::RunDay(int day) {
  RateAndReview(day);
  MULIN_RETURN_IF_ERROR(Flush());
  At(day, 7, 30);
  Reversals();
  MULIN_RETURN_IF_ERROR(Flush());
  MULIN_RETURN_IF_ERROR(
      OrderLoops(day, {Loop{&xishan_, &kXishanDaily, {}}, Loop{&yangjiamen_, &kYangjiamenDaily, {}},
                       Loop{&nanhu_, &kNanhuDaily, {}}}));
  MULIN_RETURN_IF_ERROR(Redemptions(day, 25));
  if (day == kOneDayVolunteerDay) MULIN_RETURN_IF_ERROR(OneDayVolunteers(day));
  if (day % 7 == 5) {  // Saturdays: the 红杨暖集 market
    At(day, 15);
    MarketDay();
    MULIN_RETURN_IF_ERROR(Flush());
  }
  if (day % kPayoutIntervalDays == 0) MULIN_RETURN_IF_ERROR(Payout(day));
  if (day == kNanhuRuleChangeDay - 1) {
    At(day, 18);
    Queue("operator", nanhu_.id, [&](auto body) {
      auto r = body.initSetRules();
      r.setEffectiveFromUs(*clock_us_ + 6 * 3600LL * 1000000);  // from midnight on
      r.setPointsPerHour(12);
      r.setMaxMinutesPerOrder(240);
      r.setRatingWindowS(72 * 3600);
      r.setReversalWindowS(7 * 24 * 3600);
    });
    MULIN_RETURN_IF_ERROR(Flush());
  }
  // 守护红船: the nightly 5 km lakeside patrol, 19:00 to 21:00.
  MULIN_RETURN_IF_ERROR(OrderLoops(day, {Loop{&nanhu_, &kNightPatrol, {}}}));
  At(day, 23, 30);
  for (const Community* c : {&xishan_, &nanhu_, &yangjiamen_}) {
    Queue(c->staff.front(), c->id, [](auto body) { body.initCloseOverdue(); });
  }
  return Flush();
}

void DemoScenario::PlaceOrders(Loop* loop) {
  const Community& c = *loop->community;
  for (int i = 0; i < loop->spec->orders; ++i) {
    Order order{NextId(c.prefix + "-O"), c.id, Pick(c.residents), Pick(c.social_workers)};
    const char* service = loop->spec->services[Uniform(0, loop->spec->services.size() - 1)];
    Queue(order.resident, c.id, [&](auto body) {
      auto o = body.initPlaceOrder();
      o.setOrderId(order.id);
      o.setResidentId(order.resident);
      o.setService(service);
    });
    loop->placed.push_back(order);
  }
}

void DemoScenario::DeliverOrders(const Loop& loop) {
  const Community& c = *loop.community;
  const OrderSpec& spec = *loop.spec;
  for (const Order& o : loop.placed) {
    if (spec.may_cancel && Uniform(1, 100) <= 2) {  // the resident no longer needs it
      Queue(o.resident, c.id, [&](auto body) {
        auto x = body.initCancelOrder();
        x.setOrderId(o.id);
        x.setReason("家人已帮忙处理");
      });
      continue;
    }
    const size_t count = Uniform(spec.team_min, spec.team_max);
    std::vector<std::string> team;
    while (team.size() < count) {
      const std::string& v = Pick(c.volunteers);
      if (std::find(team.begin(), team.end(), v) == team.end()) team.push_back(v);
    }
    Queue(o.social_worker, c.id, [&](auto body) {
      auto d = body.initDeliverOrder();
      d.setOrderId(o.id);
      auto shares = d.initVolunteers(static_cast<unsigned>(team.size()));
      for (unsigned k = 0; k < team.size(); ++k) {
        shares[k].setVolunteerId(team[k]);
        shares[k].setMinutes(static_cast<int64_t>(Uniform(spec.minutes_min, spec.minutes_max)));
      }
    });
    to_rate_.push_back(o);
  }
}

// Runs the loop's steps for several communities side by side, each step one moment: placed at the
// start hour, dispatched 20 minutes later, accepted at 40, delivered at the delivery hour.
Status DemoScenario::OrderLoops(int day, std::vector<Loop> loops) {
  const OrderSpec& timing = *loops.front().spec;
  At(day, timing.start_hour);
  for (Loop& loop : loops) PlaceOrders(&loop);
  MULIN_RETURN_IF_ERROR(Flush());
  At(day, timing.start_hour, 20);
  for (const Loop& loop : loops) {
    for (const Order& o : loop.placed) {
      Queue(loop.community->staff.front(), o.community_id, [&](auto body) {
        auto d = body.initDispatchOrder();
        d.setOrderId(o.id);
        d.setSocialWorkerId(o.social_worker);
      });
    }
  }
  MULIN_RETURN_IF_ERROR(Flush());
  At(day, timing.start_hour, 40);
  for (const Loop& loop : loops) {
    for (const Order& o : loop.placed) {
      Queue(o.social_worker, o.community_id,
            [&](auto body) { body.initAcceptOrder().setOrderId(o.id); });
    }
  }
  MULIN_RETURN_IF_ERROR(Flush());
  At(day, timing.deliver_hour);
  for (const Loop& loop : loops) DeliverOrders(loop);
  return Flush();
}

void DemoScenario::RateAndReview(int day) {
  At(day, 7);
  for (const Order& o : held_) {  // social workers review yesterday's 1-star orders
    const bool approve = Uniform(1, 3) <= 2;
    Queue(o.social_worker, o.community_id, [&](auto body) {
      auto r = body.initReviewHeldPoints();
      r.setOrderId(o.id);
      r.setApprove(approve);
      r.setReason(approve ? "回访确认服务已完成" : "回访核实：服务未按约完成");
    });
  }
  held_.clear();
  std::vector<Order> waiting;
  for (const Order& o : to_rate_) {
    const uint64_t roll = Uniform(1, 100);
    if (roll <= 10) continue;  // never rated: closed by close-overdue when the window passes
    const uint8_t rating = roll <= 13 ? 1 : roll <= 15 ? 2 : roll <= 20 ? 3 : roll <= 45 ? 4 : 5;
    Queue(o.resident, o.community_id, [&](auto body) {
      auto r = body.initRateOrder();
      r.setOrderId(o.id);
      r.setRating(rating);
      r.setComment(rating == 1 ? "志愿者没有按时到" : "满意");
    });
    if (rating == 1) held_.push_back(o);
  }
  to_rate_ = std::move(waiting);
}

}  // namespace mulin::cli
