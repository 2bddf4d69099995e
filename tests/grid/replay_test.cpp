#include "greenai/grid/replay.h"

#include <gtest/gtest.h>

#include <random>

#include "greenai/carbon/intensity.h"
#include "greenai/error.h"
#include "greenai/grid/schedule.h"
#include "support/errors.h"

namespace greenai::grid {
namespace {

constexpr double kHour = 3600, kT0 = 1656633600;  // 2022-07-01T00:00:00Z
// Sums of a few hundred intensities of up to 1,000 g/kWh, compared after reordering.
constexpr double kSumTolerance = 1e-9;

std::vector<double> prefix(const std::vector<double>& x) {
  std::vector<double> p{0};
  for (double v : x) p.push_back(p.back() + v);
  return p;
}

TEST(Replay, HandWorkedDay) {
  // Four steps, jobs of 1 and 2 steps arriving at 0 and 1 with a 3-step window.
  const std::vector<double> actual{100, 300, 50, 200, 10};
  // A forecast that misplaces the trough for the arrival at 0 (it expects step 1 cleanest),
  // and is right for the arrival at 1.
  const std::vector<std::vector<double>> forecasts{{100, 20, 400}, {300, 50, 200}};
  const Replay r =
      replay_schedules(actual, {0, 1}, &forecasts, {.durations_steps = {1, 2}, .window_steps = 3});
  ASSERT_EQ(r.rows.size(), 2u);
  // 1 step: now 100 + 300; perfect 50 + 50; forecast 300 (step 1) + 50.
  EXPECT_DOUBLE_EQ(r.rows[0].now, 400);
  EXPECT_DOUBLE_EQ(r.rows[0].perfect, 100);
  EXPECT_DOUBLE_EQ(r.rows[0].forecast, 350);
  EXPECT_DOUBLE_EQ(r.rows[0].captured(), 50.0 / 300);
  // 2 steps from 0: now 400, perfect min(400, 350) = 350, forecast picks start 0 (120 < 420):
  // 400. From 1: now 350, perfect min(350, 250) = 250, forecast picks start 2 (250).
  EXPECT_DOUBLE_EQ(r.rows[1].now, 750);
  EXPECT_DOUBLE_EQ(r.rows[1].perfect, 600);
  EXPECT_DOUBLE_EQ(r.rows[1].forecast, 650);
  EXPECT_EQ(r.all.jobs, 4u);
  EXPECT_DOUBLE_EQ(r.all.now, 1150);
  EXPECT_DOUBLE_EQ(r.all.perfect_saving(), 1 - 700.0 / 1150);
}

// Property: with the actual values as the forecast, the forecast schedule is the perfect one;
// and the perfect choice matches best_schedule's on the same window.
TEST(Replay, PerfectForecastCapturesEverythingAndMatchesBestSchedule) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> intensity(20, 900);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<double> actual(60);
    for (double& v : actual) v = intensity(rng);
    const int window = 4 + static_cast<int>(rng() % 12);
    std::vector<size_t> arrivals;
    std::vector<std::vector<double>> forecasts;
    for (size_t a = 0; a + static_cast<size_t>(window) <= actual.size(); a += 3) {
      arrivals.push_back(a);
      forecasts.emplace_back(actual.begin() + static_cast<long>(a),
                             actual.begin() + static_cast<long>(a) + window);
    }
    ReplayOptions o{.durations_steps = {1, 2, window / 2, window}, .window_steps = window};
    const Replay r = replay_schedules(actual, arrivals, &forecasts, o);
    EXPECT_NEAR(r.all.forecast, r.all.perfect, kSumTolerance);
    EXPECT_LE(r.all.perfect, r.all.now + kSumTolerance);

    std::vector<double> times;
    for (size_t i = 0; i < actual.size(); ++i) times.push_back(kT0 + kHour * double(i));
    const auto series = carbon::IntensitySeries::from_values(times, actual, kHour, "random");
    const size_t a = arrivals[rng() % arrivals.size()];
    const int d = o.durations_steps[rng() % o.durations_steps.size()];
    const Schedule s = best_schedule(
        series, {.now = times[a], .duration_s = d * kHour, .window_s = window * kHour});
    const auto p = prefix(actual);
    const size_t start =
        cleanest_start(p, a, a + static_cast<size_t>(window - d), static_cast<size_t>(d));
    EXPECT_NEAR((p[start + static_cast<size_t>(d)] - p[start]) / d, s.mean_g_per_kwh, 1e-9);
  }
}

TEST(Replay, RefusesJobsThatCannotFitAndWindowsPastTheEnd) {
  const std::vector<double> actual(10, 100);
  EXPECT_NE(testing::error_of([&] {
              replay_schedules(actual, {0}, nullptr, {.durations_steps = {5}, .window_steps = 4});
            }).find("every job must be at least one step and fit the window of 4 steps"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] {
              replay_schedules(actual, {8}, nullptr, {.durations_steps = {1}, .window_steps = 4});
            }).find("the window runs past the series' end"),
            std::string::npos);
  const std::vector<std::vector<double>> short_forecast{{1, 2}};
  EXPECT_NE(testing::error_of([&] {
              replay_schedules(actual, {0}, &short_forecast,
                               {.durations_steps = {1}, .window_steps = 4});
            }).find("a forecast is shorter than the window"),
            std::string::npos);
}

}  // namespace
}  // namespace greenai::grid
