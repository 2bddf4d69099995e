// The site simulator on tiny data worked by hand: the battery's charge and discharge sequence,
// the KPIs' arithmetic, the rule-based controller, and malformed files.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "greenai/error.h"
#include "greenai/site/controllers.h"

namespace greenai::site {
namespace {

// A 10 kWh, 5 kW battery with CityLearn's 2022 curves, no hourly leak, 1e-5 fade.
BatterySpec spec() {
  BatterySpec s;
  s.capacity_kwh = 10;
  s.nominal_power_kw = 5;
  return s;
}

TEST(Battery, ChargesAndDischargesAsCityLearnModelsIt) {
  Battery b(spec());
  // Ask 8 kWh: the capacity-power curve at an empty battery allows 5 (the nominal power); at
  // 5/5 = 1 of nominal the round-trip efficiency is 0.85, one way sqrt(0.85).
  const double eff = std::sqrt(0.85);
  double drawn = b.charge(8);
  EXPECT_NEAR(b.soc_kwh(), 5 * eff, 1e-12);
  EXPECT_NEAR(drawn, 5, 1e-12);  // the energy balance: stored / eff
  // Fade: 1e-5 x 10 x 5 / (2 x 10) = 2.5e-5 kWh.
  EXPECT_NEAR(b.capacity_kwh(), 10 - 2.5e-5, 1e-15);
  // Now at 4.61 kWh of 9.99998 (0.461 of capacity): the curve still allows 5 kW. Ask 1.5 kWh:
  // 1.5 / 5 = 0.3 of nominal, round trip 0.83.
  const double soc = b.soc_kwh(), cap = b.capacity_kwh();
  drawn = b.charge(1.5);
  EXPECT_NEAR(b.soc_kwh(), soc + 1.5 * std::sqrt(0.83), 1e-12);
  EXPECT_NEAR(drawn, 1.5, 1e-12);
  EXPECT_NEAR(b.capacity_kwh(), cap - 1e-5 * 10 * 1.5 / (2 * cap), 1e-15);
  // Discharge 2 kWh (0.4 of nominal: 0.83 + (0.9 - 0.83) x 0.1 / 0.4 = 0.8475 round trip): the
  // battery loses 2 / sqrt(0.8475); CityLearn credits the bus with that drop over the efficiency
  // again, 2 / 0.8475.
  const double before = b.soc_kwh();
  drawn = b.charge(-2);
  const double e = std::sqrt(0.83 + 0.07 * 0.1 / 0.4);
  EXPECT_NEAR(b.soc_kwh(), before - 2 / e, 1e-12);
  EXPECT_NEAR(drawn, -2 / (e * e), 1e-12);
}

TEST(Battery, PhysicalAccountingDeliversTheDropTimesTheEfficiency) {
  BatterySpec s = spec();
  s.accounting = BatteryAccounting::kPhysical;
  Battery b(s);
  b.charge(5);
  const double before = b.soc_kwh();
  const double drawn = b.charge(-2);
  const double e = std::sqrt(0.83 + 0.07 * 0.1 / 0.4);
  EXPECT_NEAR(b.soc_kwh(), before - 2 / e, 1e-12);
  EXPECT_NEAR(drawn, -2, 1e-12);  // what was asked reaches the bus
  // A round trip under CityLearn's accounting gives back all it took (no leak here; the fade
  // shrinks the capacity, not the charge).
  Battery c(spec());
  const double in = c.charge(2), out = c.charge(-2);
  EXPECT_EQ(c.soc_kwh(), 0);
  EXPECT_NEAR(out, -in, 1e-12);
  EXPECT_EQ(parse_battery_accounting("physical"), BatteryAccounting::kPhysical);
  EXPECT_THROW(parse_battery_accounting("ideal"), Error);
}

TEST(Battery, TheCurvesLimitPowerNearFullAndEmptyStopsAtZero) {
  Battery b(spec());
  for (int i = 0; i < 3; ++i) b.charge(5);  // about 13.8 asked, the capacity caps it
  // Full at the capacity it had before the last hour's fade (CityLearn does not trim the charge
  // to the faded capacity until the next charge).
  EXPECT_LE(b.soc_kwh(), 10.0);
  EXPECT_NEAR(b.soc_kwh(), b.capacity_kwh(), 1e-4);
  // Above 0.8 of capacity the power limit falls linearly to 0.2 x nominal at full.
  const double x = b.soc_kwh() / b.capacity_kwh();
  EXPECT_NEAR(b.max_power_kw(), 5 * interpolate({{0, 1}, {0.8, 1}, {1, 0.2}}, x), 1e-12);
  EXPECT_LT(b.max_power_kw(), 5);
  // Emptying: never below 0.
  for (int i = 0; i < 5; ++i) b.charge(-5);
  EXPECT_NEAR(b.soc_kwh(), 0, 1e-12);
  EXPECT_NEAR(b.charge(-5), 0, 1e-12);  // nothing left to give
}

TEST(Battery, LeakLosesAShareOfTheChargeEachHour) {
  BatterySpec s = spec();
  s.loss_coefficient = 0.1;
  s.capacity_loss_coefficient = 0;
  Battery b(s);
  b.charge(5);
  const double soc = b.soc_kwh();
  EXPECT_NEAR(b.charge(0), 0, 1e-12);
  EXPECT_NEAR(b.soc_kwh(), 0.9 * soc, 1e-12);
}

TEST(Interpolate, IsLinearAndHeldAtTheEnds) {
  const std::vector<std::pair<double, double>> c{{0, 1}, {0.8, 1}, {1, 0.2}};
  EXPECT_DOUBLE_EQ(interpolate(c, -1), 1);
  EXPECT_DOUBLE_EQ(interpolate(c, 0.4), 1);
  EXPECT_DOUBLE_EQ(interpolate(c, 0.9), 0.6);
  EXPECT_DOUBLE_EQ(interpolate(c, 2), 0.2);
}

// Two buildings, four hours; prices and carbon by hand.
const char* kSchema = R"({"buildings": {
  "Building_1": {"include": true, "energy_simulation": "Building_1.csv",
    "electrical_storage": {"attributes": {"capacity": 10, "nominal_power": 5,
      "capacity_loss_coefficient": 0}},
    "pv": {"attributes": {"nominal_power": 2}}},
  "Building_2": {"include": true, "energy_simulation": "Building_2.csv",
    "electrical_storage": {"attributes": {"capacity": 0, "nominal_power": 0}},
    "pv": {"attributes": {"nominal_power": 0}}}}})";
const char* kHeader =
    "month,hour,day_type,daylight_savings_status,indoor_dry_bulb_temperature,"
    "average_unmet_cooling_setpoint_difference,indoor_relative_humidity,non_shiftable_load,"
    "dhw_demand,cooling_demand,heating_demand,solar_generation\n";

SiteData tiny() {
  std::string b1 = kHeader, b2 = kHeader;
  // Hours 13 to 16. Building 1: load 2, 1, 3, 2 kWh; PV yield 0, 500, 1000, 0 W/kW x 2 kW =
  // 0, 1, 2, 0 kWh.
  b1 +=
      "1,13,1,0,,,,2,0,0,0,0\n1,14,1,0,,,,1,0,0,0,500\n1,15,1,0,,,,3,0,0,0,1000\n"
      "1,16,1,0,,,,2,0,0,0,0\n";
  // Building 2: load 1, 2, 1, 1; no PV, no battery.
  b2 +=
      "1,13,1,0,,,,1,0,0,0,0\n1,14,1,0,,,,2,0,0,0,0\n1,15,1,0,,,,1,0,0,0,0\n"
      "1,16,1,0,,,,1,0,0,0,0\n";
  return parse_citylearn(kSchema, {{"Building_1", b1}, {"Building_2", b2}},
                         "electricity_pricing\n0.1\n0.2\n0.3\n0.4\n",
                         "carbon_intensity\n0.5\n0.4\n0.3\n0.2\n");
}

TEST(Site, TheBaselineAndItsRawKpisByHand) {
  const SiteData d = tiny();
  ASSERT_EQ(d.hours(), 4u);
  EXPECT_DOUBLE_EQ(d.buildings[0].solar_kwh(2), 2);
  const SiteRun base = baseline(d);
  // Building 1 net: 2, 0, 1, 2; building 2: 1, 2, 1, 1; district 3, 2, 2, 3.
  EXPECT_EQ(base.district_net_kwh, (std::vector<double>{3, 2, 2, 3}));
  const RawKpis k = raw_kpis(base.net_kwh, d.price_per_kwh, d.carbon_kg_per_kwh);
  EXPECT_NEAR(k.cost, 3 * 0.1 + 2 * 0.2 + 2 * 0.3 + 3 * 0.4, 1e-12);
  EXPECT_NEAR(k.emissions, (2 * 0.5 + 0 + 0.3 + 2 * 0.2) + (0.5 + 0.8 + 0.3 + 0.2), 1e-12);
  EXPECT_NEAR(k.ramping, 1 + 0 + 1, 1e-12);
  EXPECT_NEAR(k.one_minus_load_factor, 1 - 2.5 / 3, 1e-12);  // one window: mean 2.5, peak 3
  const Scores s = score(d, base, base);
  EXPECT_DOUBLE_EQ(s.district.score(), 1);
}

TEST(Site, ExportIsNotCreditedAndTheScoreWeighsAsTheChallenge) {
  // A district that exports in one hour: that hour costs 0, not a credit.
  const RawKpis k = raw_kpis({{1, -2, 1}}, {0.5, 0.5, 0.5}, {1, 1, 1});
  EXPECT_NEAR(k.cost, 1.0, 1e-12);
  EXPECT_NEAR(k.emissions, 2.0, 1e-12);
  EXPECT_NEAR(k.ramping, 6.0, 1e-12);
  Kpis r{0.9, 0.6, 1.2, 0.3};
  EXPECT_NEAR(r.score(), 0.9 / 3 + 0.6 / 3 + 1.2 / 6 + 0.3 / 6, 1e-12);
}

TEST(Site, TheRuleBasedControllerChargesInThePvHours) {
  const SiteData d = tiny();
  RuleBasedController rbc;
  const SiteRun run = simulate(d, rbc);
  // Hours 13 and 14 charge 11 % of capacity (1.1 kWh asked), 15 and 16 discharge 6.7 %.
  EXPECT_GT(run.soc_kwh[0][0], 0);
  EXPECT_GT(run.soc_kwh[0][1], run.soc_kwh[0][0]);
  EXPECT_LT(run.soc_kwh[0][2], run.soc_kwh[0][1]);
  EXPECT_LT(run.soc_kwh[0][3], run.soc_kwh[0][2]);
  EXPECT_NEAR(run.net_kwh[0][0], 2 + 1.1, 1e-12);  // the battery drew what it was asked
  EXPECT_EQ(run.soc_kwh[1], (std::vector<double>{0, 0, 0, 0}));  // no battery in building 2
  EXPECT_EQ(run.net_kwh[1], (std::vector<double>{1, 2, 1, 1}));
  EXPECT_EQ(make_controller("rbc")->name(), "rbc");
  EXPECT_THROW(make_controller("magic"), Error);
}

TEST(Site, MalformedFilesNameTheFileLineAndFix) {
  const auto message = [](const std::string& building_csv, const std::string& pricing) {
    try {
      parse_citylearn(kSchema, {{"Building_1", building_csv}}, pricing, "carbon_intensity\n0.5\n");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string ok_row = "1,6,1,0,,,,2,0,0,0,0\n";
  EXPECT_EQ(message(kHeader + ok_row, "electricity_pricing\n0.1\n"), "no error");
  EXPECT_NE(message(kHeader + std::string("1,6,1,0,,,,x,0,0,0,0\n"), "electricity_pricing\n0.1\n")
                .find("file=site/Building_1.csv, line=2): column non_shiftable_load (8): not a "
                      "number: 'x'"),
            std::string::npos);
  EXPECT_NE(message(kHeader + std::string("1,6,1\n"), "electricity_pricing\n0.1\n")
                .find("3 fields where the header has 12"),
            std::string::npos);
  EXPECT_NE(message("month,hour\n1,2\n", "electricity_pricing\n0.1\n").find("no column day_type"),
            std::string::npos);
  EXPECT_NE(message(kHeader + ok_row, "electricity_pricing\n0.1\n0.2\n")
                .find("1 hours where pricing.csv has 2"),
            std::string::npos);
  try {
    parse_citylearn("{", {}, "", "");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("schema.json"), std::string::npos);
  }
  try {
    parse_citylearn(R"({"buildings": {"Building_1": {"electrical_storage": {"attributes":
                      {"capacity": -1}}}}})",
                    {{"Building_1", kHeader + ok_row}}, "electricity_pricing\n0.1\n",
                    "carbon_intensity\n0.5\n");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("battery capacity and power must be >= 0"),
              std::string::npos);
  }
}

// Property: mutated building files parse or fail with greenai::Error, never crash.
TEST(Site, MutatedFilesParseOrFailCleanly) {
  std::string good = kHeader;
  for (int h = 1; h <= 24; ++h) good += "1," + std::to_string(h) + ",1,0,,,,1.5,0,0,0,300\n";
  std::string prices = "electricity_pricing\n", carbon = "carbon_intensity\n";
  for (int h = 1; h <= 24; ++h) {
    prices += "0.2\n";
    carbon += "0.4\n";
  }
  std::mt19937 rng(11);
  for (int i = 0; i < 500; ++i) {
    std::string text = good;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
      const size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text[at] = ",\n\"-.e9x"[rng() % 8];
          break;
        case 1:
          text.erase(at, 1 + rng() % 10);
          break;
        default:
          text.insert(at, 1, ",\n0"[rng() % 3]);
      }
      if (text.empty()) text = "x";
    }
    try {
      const SiteData d = parse_citylearn(kSchema, {{"Building_1", text}}, prices, carbon);
      RuleBasedController rbc;
      const SiteRun run = simulate(d, rbc);
      EXPECT_EQ(run.net_kwh[0].size(), d.hours());
    } catch (const Error&) {
    }
  }
}

}  // namespace
}  // namespace greenai::site

namespace greenai::site {
namespace {

// A week of a building whose PV exceeds its load at midday and whose evening is expensive: the
// perfect-foresight MPC must beat doing nothing and the rule, and the forecast MPC must beat
// doing nothing.
SiteData week() {
  std::string csv = kHeader, prices = "electricity_pricing\n", carbon = "carbon_intensity\n";
  for (int day = 0; day < 7; ++day)
    for (int hour = 1; hour <= 24; ++hour) {
      const double pv = hour >= 9 && hour <= 16 ? 800 : 0;  // W/kW, 2 kW: 1.6 kWh
      const double load = hour >= 17 && hour <= 22 ? 2.0 : 0.6;
      csv += "1," + std::to_string(hour) + ",1,0,,,," + std::to_string(load) + ",0,0,0," +
             std::to_string(pv) + "\n";
      prices += hour >= 17 && hour <= 22 ? "0.5\n" : "0.2\n";
      carbon += hour >= 17 && hour <= 22 ? "0.5\n" : "0.3\n";
    }
  const char* schema = R"({"buildings": {"Building_1": {"electrical_storage": {"attributes":
      {"capacity": 6, "nominal_power": 3, "capacity_loss_coefficient": 1e-5}},
      "pv": {"attributes": {"nominal_power": 2}}}}})";
  return parse_citylearn(schema, {{"Building_1", csv}}, prices, carbon);
}

TEST(Mpc, StoresMiddayPvForTheExpensiveEvening) {
  const SiteData d = week();
  const SiteRun base = baseline(d);
  auto oracle = make_controller("mpc-oracle", &d);
  auto forecast = make_controller("mpc", &d);
  RuleBasedController rbc;
  const double s_oracle = score(d, simulate(d, *oracle), base).district.score();
  const double s_forecast = score(d, simulate(d, *forecast), base).district.score();
  const double s_rbc = score(d, simulate(d, rbc), base).district.score();
  EXPECT_LT(s_oracle, 0.8);
  EXPECT_LT(s_oracle, s_rbc);
  EXPECT_LT(s_forecast, 1.0);
  EXPECT_LE(s_oracle, s_forecast + 1e-9);
  EXPECT_EQ(dynamic_cast<MpcController&>(*oracle).failures(), 0);
  EXPECT_THROW(make_controller("mpc"), Error);  // needs the data for its forecasts
}

// The MPC's program against brute force: one building, a 2-hour horizon, each hour's charge on a
// fine grid; the LP's first action must be (near) the best first action of the grid's optimum of
// the same linearised objective.
TEST(Mpc, TheProgramMatchesBruteForceOnATinyHorizon) {
  const SiteData d = week();
  MpcOptions o;
  o.horizon_h = 2;
  o.oracle = true;
  MpcController mpc(d, o);
  Battery battery(d.buildings[0].battery);
  for (int i = 0; i < 3; ++i) battery.charge(3);  // some charge to start from
  SiteState state;
  state.data = &d;
  state.batteries = {&battery};
  state.t = 15;  // hours 16 and 17: cheap then expensive
  state.last_district_net_kwh = 0.2;
  std::vector<double> action(1);
  mpc.act(state, action);
  // Brute force of the same objective: cost, emission and ramp terms with the weights of the
  // horizon (the MPC's before a day is seen), eta = sqrt(0.9), power <= 3 kW x the capacity-power
  // curve's top segment at the hour's starting charge (a full battery gives only 0.6 kW: the
  // program may discharge early to discharge more in the expensive hour).
  const double eta = std::sqrt(0.9), cap = battery.capacity_kwh(), s0 = battery.soc_kwh();
  double net[2], price[2], carbon[2];
  for (int h = 0; h < 2; ++h) {
    net[h] = d.buildings[0].load_kwh[16 + h - 1] - d.buildings[0].solar_kwh(16 + h - 1);
    price[h] = d.price_per_kwh[15 + h];
    carbon[h] = d.carbon_kg_per_kwh[15 + h];
  }
  net[0] = d.buildings[0].load_kwh[15] - d.buildings[0].solar_kwh(15);
  net[1] = d.buildings[0].load_kwh[16] - d.buildings[0].solar_kwh(16);
  double wc = 0, we = 0, wr = std::abs(net[1] - net[0]);
  for (int h = 0; h < 2; ++h) {
    wc += std::max(net[h] * price[h], 0.0);
    we += std::max(net[h] * carbon[h], 0.0);
  }
  wc = (1.0 / 3) * 2 / wc;
  we = (1.0 / 3) * 2 / we;
  wr = wr > 0 ? (1.0 / 6) * 2 / wr : 0;
  double best = INFINITY, best_first = 0;
  for (double a0 = -3; a0 <= 3 + 1e-9; a0 += 0.01)
    for (double a1 = -3; a1 <= 3 + 1e-9; a1 += 0.05) {
      const auto limit = [&](double soc) { return 3 * std::min(1.0, 4.2 - 4 * soc / cap); };
      if (std::abs(a0) > limit(s0) + 1e-9) continue;
      const double s1 = s0 + (a0 > 0 ? a0 * eta : a0 / eta);
      if (std::abs(a1) > limit(s1) + 1e-9) continue;
      const double s2 = s1 + (a1 > 0 ? a1 * eta : a1 / eta);
      if (s1 < 0 || s1 > cap || s2 < 0 || s2 > cap) continue;
      const double n0 = net[0] + a0, n1 = net[1] + a1;
      const double v = wc * (price[0] * std::max(n0, 0.0) + price[1] * std::max(n1, 0.0)) +
                       we * (carbon[0] * std::max(n0, 0.0) + carbon[1] * std::max(n1, 0.0)) +
                       wr * (std::abs(n0 - 0.2) + std::abs(n1 - n0));
      if (v < best - 1e-12) {
        best = v;
        best_first = a0;
      }
    }
  EXPECT_NEAR(action[0] * cap, best_first, 0.05);
}

}  // namespace
}  // namespace greenai::site

namespace greenai::site {
namespace {

// Deferrable jobs: the baseline runs them on release; a controller that never asks still finishes
// them by the deadline (the simulator's must-run); the MPC moves them into the cheap, sunny hours.
TEST(Jobs, RunOnReleaseMustFinishAndTheMpcMovesThemToCheapHours) {
  SiteData d = week();
  // Two 3 kW, 3-hour jobs released at 17:00 of day 1 (expensive), due at 17:00 of day 2.
  d.jobs = parse_jobs(
      "name,power_kw,duration_h,release_h,deadline_h\ntrain,3,3,16,40\n"
      "eval,3,3,16,40\n",
      "jobs.csv", d.hours());
  const SiteRun base = baseline(d);
  EXPECT_EQ(base.job_share[0][16], 1);  // released at hour index 16: runs at once
  EXPECT_EQ(base.job_share[0][19], 0);
  class Never : public Controller {
   public:
    std::string name() const override { return "never"; }
    void act(const SiteState&, std::span<double> a) override { std::fill(a.begin(), a.end(), 0.0); }
    void schedule(const SiteState&, std::span<double> s) override {
      std::fill(s.begin(), s.end(), 0.0);
    }
  } never;
  const SiteRun late = simulate(d, never);
  double ran = 0;
  for (size_t t = 0; t < d.hours(); ++t) ran += late.job_share[0][t];
  EXPECT_NEAR(ran, 3, 1e-12);
  EXPECT_EQ(late.job_share[0][37], 1);  // the last three hours before the deadline
  EXPECT_EQ(late.job_share[0][36], 0);
  auto mpc = make_controller("mpc-oracle", &d);
  const SiteRun planned = simulate(d, *mpc);
  double evening = 0, total = 0, base_evening = 0;
  for (size_t t = 16; t < 40; ++t) {
    const int hour = d.buildings[0].hour[t];
    total += planned.job_share[0][t] + planned.job_share[1][t];
    if (hour >= 17 && hour <= 22) {
      evening += planned.job_share[0][t] + planned.job_share[1][t];
      base_evening += base.job_share[0][t] + base.job_share[1][t];
    }
  }
  EXPECT_NEAR(total, 6, 1e-6);
  EXPECT_EQ(base_evening, 6);  // on release: all in the expensive evening
  EXPECT_LT(evening, 0.5);     // planned: out of it
  EXPECT_LT(score(d, planned, base).district.score(), score(d, late, base).district.score());
}

TEST(Jobs, BadJobFilesNameTheLine) {
  const auto message = [](const std::string& csv) {
    try {
      parse_jobs(csv, "jobs.csv", 100);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string header = "name,power_kw,duration_h,release_h,deadline_h\n";
  EXPECT_EQ(message(header + "a,1,2,0,10\n"), "no error");
  EXPECT_NE(message(header + "a,1,20,0,10\n").find("line=2): it cannot run 20 hours"),
            std::string::npos);
  EXPECT_NE(message(header + "a,1,2,0,200\n").find("past the site's last hour"), std::string::npos);
  EXPECT_NE(message(header + "a,x,2,0,10\n").find("field 2 is not a number"), std::string::npos);
  EXPECT_NE(message("job,kw\n").find("the header is not"), std::string::npos);
}

}  // namespace
}  // namespace greenai::site
