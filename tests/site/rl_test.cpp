// The site's RL agents: observations worked by hand, learning the evening arbitrage on a
// synthetic fortnight, determinism with a seed, the model file, and bad options and files.
#include "greenai/site/rl.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <numbers>

#include "greenai/error.h"
#include "greenai/site/controllers.h"
#include "support/temp_dir.h"

namespace greenai::site {
namespace {

// One LibTorch thread, as greenai site train runs: the determinism test compares runs of the same
// thread count, and two threads only spin on each other when ctest runs tests side by side.
class OneThread : public ::testing::Environment {
 public:
  void SetUp() override { torch::set_num_threads(1); }
};
const auto* const kOneThread = ::testing::AddGlobalTestEnvironment(new OneThread);

const char* kHeader =
    "month,hour,day_type,daylight_savings_status,indoor_dry_bulb_temperature,"
    "average_unmet_cooling_setpoint_difference,indoor_relative_humidity,non_shiftable_load,"
    "dhw_demand,cooling_demand,heating_demand,solar_generation\n";

// Two buildings, `days` days: PV at midday, the load, the tariff and the carbon intensity high
// from 17:00 to 22:00. Storing the midday surplus for the evening is what pays.
SiteData fortnight(int days = 14) {
  std::string b1 = kHeader, b2 = kHeader, prices = "electricity_pricing\n",
              carbon = "carbon_intensity\n";
  for (int day = 0; day < days; ++day)
    for (int hour = 1; hour <= 24; ++hour) {
      const bool evening = hour >= 17 && hour <= 22;
      const double pv = hour >= 9 && hour <= 16 ? 800 : 0;  // W/kW
      const std::string row =
          "6," + std::to_string(hour) + "," + std::to_string(day % 7 + 1) + ",0,,,,";
      b1 += row + (evening ? "2.0" : "0.6") + ",0,0,0," + std::to_string(pv) + "\n";
      b2 += row + (evening ? "1.5" : "0.5") + ",0,0,0," + std::to_string(pv) + "\n";
      prices += evening ? "0.5\n" : "0.2\n";
      carbon += evening ? "0.5\n" : "0.3\n";
    }
  const char* schema = R"({"buildings": {
    "Building_1": {"electrical_storage": {"attributes": {"capacity": 6, "nominal_power": 3}},
                   "pv": {"attributes": {"nominal_power": 2}}},
    "Building_2": {"electrical_storage": {"attributes": {"capacity": 4, "nominal_power": 2}},
                   "pv": {"attributes": {"nominal_power": 1.5}}}}})";
  return parse_citylearn(schema, {{"Building_1", b1}, {"Building_2", b2}}, prices, carbon);
}

RlOptions small(uint64_t seed = 0) {
  RlOptions o;
  o.episodes = 30;
  o.hidden = {32, 32};
  o.batch_size = 32;
  o.learning_starts = 200;
  o.target_update_every = 100;
  o.seed = seed;
  return o;
}

double score_of(const SiteData& d, Controller& c) {
  return score(d, simulate(d, c), baseline(d)).district.score();
}

TEST(SiteRl, ObservationsAreTheHoursDataScaled) {
  const SiteData d = fortnight(2);
  Battery b1(d.buildings[0].battery), b2(d.buildings[1].battery);
  SiteState state;
  state.data = &d;
  state.t = 17;  // hour 18 of day 1: evening
  state.batteries = {&b1, &b2};
  state.last_net_kwh = {1.2, 0.9};
  float o[kRlObservations];
  rl_observation(state, 0, {0.5, 0.5}, o);
  const double hour = 2 * std::numbers::pi * 18 / 24, month = 2 * std::numbers::pi * 6 / 12;
  EXPECT_FLOAT_EQ(o[0], static_cast<float>(std::sin(hour)));
  EXPECT_FLOAT_EQ(o[1], static_cast<float>(std::cos(hour)));
  EXPECT_FLOAT_EQ(o[2], static_cast<float>(std::sin(month)));
  EXPECT_FLOAT_EQ(o[3], static_cast<float>(std::cos(month)));
  EXPECT_FLOAT_EQ(o[4], 0);                                    // day type 1: a Monday
  for (int w = 5; w < 21; ++w) EXPECT_FLOAT_EQ(o[w], 0) << w;  // no weather.csv
  EXPECT_FLOAT_EQ(o[21], 0.5f / 0.5f);                         // carbon now over its scale
  EXPECT_FLOAT_EQ(o[22], 2.0f / 6);                            // load over capacity
  EXPECT_FLOAT_EQ(o[23], 0);                                   // no PV in the evening
  EXPECT_FLOAT_EQ(o[24], 0);                                   // empty battery
  EXPECT_FLOAT_EQ(o[25], 1.2f / 6);                            // last hour's net over capacity
  EXPECT_FLOAT_EQ(o[26], 0.5f / 0.5f);                         // tariff now
  EXPECT_FLOAT_EQ(o[27], 0.2f / 0.5f);  // no predictions in pricing.csv: the tariff 6 h on
  EXPECT_FLOAT_EQ(o[28], 0.2f / 0.5f);  // 12 h on
  EXPECT_FLOAT_EQ(o[29], 0.5f / 0.5f);  // 24 h on: the next evening
  rl_observation(state, 1, {0.5, 0.5}, o);
  EXPECT_FLOAT_EQ(o[22], 1.5f / 4);
  state.t = 47;  // the last hour: the tariff ahead is held at the series' end
  rl_observation(state, 0, {0.5, 0.5}, o);
  EXPECT_FLOAT_EQ(o[29], o[26]);
  EXPECT_FLOAT_EQ(o[21], 0.3f / 0.5f);
}

TEST(SiteRl, WeatherAndPricePredictionsComeFromTheirFiles) {
  SiteData d = fortnight(1);
  std::string weather;
  for (size_t k = 0; k < kWeatherColumns.size(); ++k)
    weather += (k ? "," : "") + std::string(kWeatherColumns[k]);
  weather += "\n";
  for (int t = 0; t < 24; ++t) {
    // temperature 20 + t, humidity 50, diffuse 100, direct 10 t; predictions: +1, +2, +3.
    const double now[4] = {20.0 + t, 50, 100, 10.0 * t};
    std::string row;
    for (int w = 0; w < 4; ++w) row += (w ? "," : "") + std::to_string(now[w]);
    for (int w = 0; w < 4; ++w)
      for (int p = 1; p <= 3; ++p) row += "," + std::to_string(now[w] + p);
    weather += row + "\n";
  }
  parse_weather(d, weather, "weather.csv");
  d.price_predicted.assign(d.hours(), {0.1, 0.2, 0.4});
  Battery b1(d.buildings[0].battery), b2(d.buildings[1].battery);
  SiteState state;
  state.data = &d;
  state.t = 12;
  state.batteries = {&b1, &b2};
  float o[kRlObservations];
  rl_observation(state, 0, {0.5, 0.5}, o);
  EXPECT_FLOAT_EQ(o[5], 32.0f / 40);      // temperature now
  EXPECT_FLOAT_EQ(o[6], 0.5f);            // humidity now
  EXPECT_FLOAT_EQ(o[8], 120.0f / 1000);   // direct irradiance now
  EXPECT_FLOAT_EQ(o[9], 33.0f / 40);      // temperature 6 h on, as predicted
  EXPECT_FLOAT_EQ(o[20], 123.0f / 1000);  // direct irradiance 24 h on, as predicted
  EXPECT_FLOAT_EQ(o[27], 0.1f / 0.5f);
  EXPECT_FLOAT_EQ(o[29], 0.4f / 0.5f);
  // A bad value names the file and line; a short file, the hours.
  std::string bad = weather;
  bad.replace(bad.find("\n") + 1, 2, "x,");
  try {
    parse_weather(d, bad, "weather.csv");
    ADD_FAILURE() << "parsed a bad weather file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("weather.csv, line=2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_weather(d, weather.substr(0, weather.rfind("\n", weather.size() - 2) + 1),
                             "weather.csv"),
               Error);
}

TEST(SiteRl, LearnsToStoreMiddayPvForTheEvening) {
  const SiteData d = fortnight();
  RlTrainReport report;
  auto agent = train_rl(d, small(), &report);
  ASSERT_EQ(report.episodes.size(), 30u);
  EXPECT_GT(report.updates, 0);
  const double learned = score_of(d, *agent);
  NoController idle;
  RuleBasedController rbc;
  // The kept weights' score is what the report says of their episode.
  EXPECT_NEAR(learned, report.episodes[static_cast<size_t>(report.best_episode - 1)].score, 1e-12);
  EXPECT_LT(learned, score_of(d, idle) - 0.1);
  EXPECT_LT(learned, score_of(d, rbc));
}

TEST(SiteRl, TheSameSeedTrainsTheSameAgent) {
  const SiteData d = fortnight(4);
  RlOptions o = small(7);
  o.episodes = 3;
  RlTrainReport a, b;
  auto first = train_rl(d, o, &a);
  auto second = train_rl(d, o, &b);
  ASSERT_EQ(a.episodes.size(), b.episodes.size());
  for (size_t e = 0; e < a.episodes.size(); ++e)
    EXPECT_EQ(a.episodes[e].score, b.episodes[e].score) << "episode " << e + 1;
  const SiteRun ra = simulate(d, *first), rb = simulate(d, *second);
  EXPECT_EQ(ra.net_kwh, rb.net_kwh);
}

TEST(SiteRl, TheModelFileKeepsThePolicyAndRefusesOthers) {
  const SiteData d = fortnight(4);
  RlOptions o = small();
  o.episodes = 2;
  auto agent = train_rl(d, o);
  agent->set_training(util::Json::object().set("note", "test"));
  testing::TempDir dir;
  agent->save(dir.file("agent.pt"));
  auto loaded = RlController::load(dir.file("agent.pt"));
  EXPECT_EQ(simulate(d, *agent).net_kwh, simulate(d, *loaded).net_kwh);
  EXPECT_EQ(loaded->training().at("note").string(), "test");
  EXPECT_EQ(loaded->name(), "rl");

  dir.write("junk.pt", "not an archive");
  for (const std::string& bad : {dir.file("junk.pt"), dir.file("missing.pt")}) {
    try {
      RlController::load(bad);
      ADD_FAILURE() << "loaded " << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
      EXPECT_NE(e.hint().find("greenai site train"), std::string::npos) << e.hint();
    }
  }
}

TEST(SiteRl, OptionsOutOfRangeAreRefused) {
  const SiteData d = fortnight(2);
  RlOptions o = small();
  o.gamma = 1.0;
  EXPECT_THROW(train_rl(d, o), Error);
  o = small();
  o.hidden = {};
  EXPECT_THROW(train_rl(d, o), Error);
  o = small();
  o.batch_size = o.buffer_size + 1;
  EXPECT_THROW(train_rl(d, o), Error);
  o = small();
  o.episodes = 0;
  EXPECT_THROW(train_rl(d, o), Error);
}

}  // namespace
}  // namespace greenai::site
