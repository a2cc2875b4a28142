// The demo scenario: the three pilot communities of Jiaxing (shared/seed/DIGEST.md), driven through
// the real writer with a simulated clock, so the same seed always gives the same chain head.
//
// Xishan 西山: 3 social workers, 126 volunteers of the 睦邻家 team, about 1,100 service orders
// through the whole loop, a few rated 1 and reviewed. Nanhu 南湖: 755 volunteers, the nightly
// 守护红船 lakeside patrol, a one-day-volunteer day, a rule change (12 points an hour). Yangjiamen
// 杨家门: 52 partner merchants redeeming points, Saturday 红杨暖集 market days paying 10% of sales
// into the fund, payouts to 5 projects with maker–checker approval, a few reversals, and some
// commands the ledger refuses on purpose (an overdraft, a payout approved by its own requester).
// Thread-safety: one thread drives a scenario.
#ifndef MULIN_TOOLS_MULIN_DEMO_SCENARIO_H_
#define MULIN_TOOLS_MULIN_DEMO_SCENARIO_H_

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "ledger/schema/command.capnp.h"
#include "ledger/status.h"
#include "ledger/writer.h"

namespace mulin::cli {

// 2025-03-03 08:00 Asia/Shanghai (00:00 UTC): the Monday the simulated pilot quarter starts.
inline constexpr int64_t kDemoStartUs = 1740960000LL * 1000000;
inline constexpr int kDemoDays = 90;
// The five volunteer projects Yangjiamen's fund pays: id and name.
inline constexpr const char* kDemoProjects[5][2] = {{"love-doorbell", "爱心门铃"},
                                                    {"micro-wishes", "微心愿"},
                                                    {"mediation", "邻里调解"},
                                                    {"shopping-help", "助老代购"},
                                                    {"holiday-care", "假日托管"}};

class DemoScenario {
 public:
  // `clock_us` is the simulated clock the writer reads; the scenario moves it forward.
  DemoScenario(ledger::Writer* writer, uint64_t seed, int64_t* clock_us);

  // Runs the whole quarter; `progress(day)` is called after each simulated day.
  Status Run(const std::function<void(int)>& progress);
  uint64_t commands() const { return commands_; }
  uint64_t rejected_on_purpose() const { return rejected_on_purpose_; }

  // One kind of service order placed each day: how many, when, by how big a team, how long.
  struct OrderSpec {
    int orders;
    int start_hour;    // placed, then dispatched and accepted within the hour
    int deliver_hour;  // delivered the same day
    uint64_t team_min, team_max;
    uint64_t minutes_min, minutes_max;  // per volunteer
    bool may_cancel;
    std::vector<const char*> services;
  };

 private:
  using Fill = std::function<void(schema::Command::Body::Builder)>;
  struct Community {
    std::string id;
    std::string prefix;
    std::vector<std::string> staff, social_workers, volunteers, residents;
  };
  struct Order {
    std::string id;
    std::string community_id;
    std::string resident;
    std::string social_worker;
  };

  void Queue(const std::string& actor, const std::string& community, const Fill& fill,
             bool expect_rejection = false);
  Status Flush();  // submits what is queued at the current moment, checks every result
  void At(int day, int hour, int minute = 0);
  uint64_t Uniform(uint64_t lo, uint64_t hi);  // inclusive; the same with every std library
  const std::string& Pick(const std::vector<std::string>& ids);
  std::string NextId(const std::string& prefix);

  void RegisterCommunity(Community* c, const char* name, int staff, int social_workers,
                         int volunteers, int residents);
  void RegisterMarket();
  Status RunDay(int day);
  // One community's service orders of one kind on one day.
  struct Loop {
    const Community* community;
    const OrderSpec* spec;
    std::vector<Order> placed;
  };
  Status OrderLoops(int day, std::vector<Loop> loops);
  void PlaceOrders(Loop* loop);
  void DeliverOrders(const Loop& loop);
  void RateAndReview(int day);
  Status Redemptions(int day, int count);
  void MarketDay();
  Status Payout(int day);
  void Reversals();
  Status OneDayVolunteers(int day);

  ledger::Writer* writer_;
  std::mt19937_64 rng_;
  int64_t* clock_us_;
  uint64_t commands_ = 0;
  uint64_t rejected_on_purpose_ = 0;
  uint64_t next_request_ = 1;
  uint64_t next_id_ = 1;
  struct Queued {
    std::string bytes;
    bool expect_rejection;
  };
  std::vector<Queued> queued_;
  Community xishan_, nanhu_, yangjiamen_;
  std::vector<std::string> terminals_, merchants_;
  std::vector<Order> to_rate_;  // delivered, waiting for the resident
  std::vector<Order> held_;     // rated 1, waiting for review
  std::vector<std::pair<std::string, std::string>> recent_redemptions_;  // (id, terminal)
  std::vector<std::pair<std::string, std::string>> recent_sales_;        // (id, merchant)
};

}  // namespace mulin::cli

#endif  // MULIN_TOOLS_MULIN_DEMO_SCENARIO_H_
