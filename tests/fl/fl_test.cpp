// Federated learning: the Dirichlet split, FedAvg against hand computation, mismatched models,
// carbon-aware selection under known intensities, and a short run on synthetic data.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <numeric>
#include <set>

#include "fl/synthetic.h"
#include "greenai/error.h"
#include "greenai/fl/federated.h"

namespace greenai::fl {
namespace {

using testing::synthetic;

TEST(Fl, DirichletSplitDealsEveryExampleOnceAndSkewsClasses) {
  const nn::Dataset d = synthetic(2000, 1);
  const auto shards = dirichlet_split(d, 5, 0.1, 7);
  ASSERT_EQ(shards.size(), 5u);
  int64_t total = 0;
  for (const auto& s : shards) total += s.size();
  EXPECT_EQ(total, 2000);
  // alpha 0.1: most clients hold few classes in bulk.
  int skewed = 0;
  for (const auto& s : shards) {
    if (s.size() == 0) continue;
    const auto counts = torch::bincount(s.labels, {}, 10);
    skewed += counts.max().item<int64_t>() > 0.4 * s.size();
  }
  EXPECT_GE(skewed, 3);
  const auto again = dirichlet_split(d, 5, 0.1, 7);
  for (size_t c = 0; c < 5; ++c) EXPECT_TRUE(torch::equal(again[c].labels, shards[c].labels));
  EXPECT_THROW(dirichlet_split(d, 5, 0, 7), Error);
}

TEST(Fl, FedAvgWeighsBySampleCount) {
  const std::vector<std::vector<torch::Tensor>> w{{torch::tensor({1.0f, 2.0f})},
                                                  {torch::tensor({4.0f, 8.0f})}};
  const auto mean = fedavg(w, {1, 3});
  // (1 x [1, 2] + 3 x [4, 8]) / 4 = [3.25, 6.5]
  EXPECT_FLOAT_EQ(mean[0][0].item<float>(), 3.25f);
  EXPECT_FLOAT_EQ(mean[0][1].item<float>(), 6.5f);
  EXPECT_THROW(fedavg({{torch::zeros({2})}, {torch::zeros({3})}}, {1, 1}), Error);
  EXPECT_THROW(fedavg({{torch::zeros({2})}, {torch::zeros({2}), torch::zeros({1})}}, {1, 1}),
               Error);
  EXPECT_THROW(fedavg({{torch::zeros({2})}}, {0}), Error);
}

TEST(Fl, CarbonAwarePickIsCleanFirstYetServesTheLeftOut) {
  // Clients 0-3 on a 100 g/kWh grid, 4-5 on 400; k = 2, patience 3.
  std::vector<Candidate> c;
  for (int i = 0; i < 6; ++i) c.push_back({i, i < 4 ? 100.0 : 400.0, 0});
  EXPECT_EQ(pick_clean(c, 2, 3), (std::vector<int>{0, 1}));
  // Left out 12 rounds, client 5 costs 400 / (1 + 12 / 3) = 80: cheaper than a fresh clean one.
  c[5].rounds_left_out = 12;
  EXPECT_EQ(pick_clean(c, 2, 3), (std::vector<int>{5, 0}));
  EXPECT_EQ(parse_selection("carbon-aware"), Selection::kCarbonAware);
  EXPECT_THROW(parse_selection("greedy"), Error);
}

TEST(Fl, CarbonAwareRunsDeferToCleanHoursAndEmitLess) {
  const nn::Dataset train = synthetic(1200, 2), test = synthetic(300, 3);
  // Two grids: one clean at night (hours 0-11 of each day), one always dirty.
  Grid night{"night", {}}, dirty{"dirty", {}};
  for (int h = 0; h < 24 * 20; ++h) {
    night.g_per_kwh.push_back(h % 24 < 12 ? 50 : 500);
    dirty.g_per_kwh.push_back(600);
  }
  FlOptions o;
  o.clients = 4;
  o.per_round = 2;
  o.rounds = 6;
  o.hidden = 16;
  o.max_defer_h = 12;
  o.start_hour = 36;  // noon of day 2: the night grid is dirty now, clean in 12 h
  auto tracker = track::Tracker::for_this_process({.background_sampler = false});
  tracker->start();
  const FlReport random =
      run_federated(train, test, {night, dirty}, o, Selection::kRandom, *tracker);
  const FlReport aware =
      run_federated(train, test, {night, dirty}, o, Selection::kCarbonAware, *tracker);
  tracker->stop();
  ASSERT_EQ(aware.rounds.size(), 6u);
  EXPECT_EQ(aware.rounds[0].deferred_h, 12);  // waited for the clean night
  for (const auto& c : aware.rounds[0].clients) EXPECT_EQ(c.grid, "night");
  for (const auto& r : random.rounds) EXPECT_EQ(r.deferred_h, 0);
  double aware_g = 0, random_g = 0;
  for (const auto& r : aware.rounds)
    for (const auto& c : r.clients) aware_g += c.g_per_kwh;
  for (const auto& r : random.rounds)
    for (const auto& c : r.clients) random_g += c.g_per_kwh;
  EXPECT_LT(aware_g, 0.7 * random_g);
  EXPECT_GT(aware.accuracy, 0.5);  // the blocks are learnt
  const util::Json j = aware.to_json();
  EXPECT_EQ(j.at("selection").string(), "carbon-aware");
  EXPECT_EQ(j.at("rounds").items().size(), 6u);
  EXPECT_EQ(j.at("clients").items().size(), 4u);
  o.start_hour = 24 * 20;  // past the series' end
  EXPECT_THROW(run_federated(train, test, {night}, o, Selection::kRandom, *tracker), Error);
}

// Clients online 6 hours a day: every round takes only clients online in its hour, under
// either selection, and each client's window is 6 hours of every day.
TEST(Fl, RoundsChooseOnlyClientsOnlineInTheirHour) {
  const nn::Dataset train = synthetic(600, 2), test = synthetic(100, 3);
  Grid g{"g", {}};
  for (int h = 0; h < 24 * 10; ++h) g.g_per_kwh.push_back(100 + 10 * (h % 24));
  FlOptions o;
  o.clients = 6;
  o.per_round = 2;
  o.rounds = 5;
  o.hidden = 8;
  o.online_hours = 6;
  for (int c = 0; c < o.clients; ++c) {
    int hours = 0;
    for (size_t h = 24; h < 48; ++h) hours += online(o, c, h);
    EXPECT_EQ(hours, 6) << c;
    EXPECT_EQ(online(o, c, 30), online(o, c, 54));  // the same window every day
  }
  auto tracker = track::Tracker::for_this_process({.background_sampler = false});
  tracker->start();
  for (Selection s : {Selection::kRandom, Selection::kCarbonAware}) {
    const FlReport r = run_federated(train, test, {g}, o, s, *tracker);
    ASSERT_EQ(r.rounds.size(), 5u);
    for (const RoundReport& round : r.rounds) {
      EXPECT_FALSE(round.clients.empty());
      for (const ClientRound& c : round.clients)
        EXPECT_TRUE(online(o, c.client, round.hour)) << to_string(s) << " round " << round.round;
    }
  }
  tracker->stop();
  o.online_hours = 0;
  EXPECT_THROW(run_federated(train, test, {g}, o, Selection::kRandom, *tracker), Error);
}

}  // namespace
}  // namespace greenai::fl
