#include "greenai/grid/schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "greenai/error.h"
#include "support/errors.h"

namespace greenai::grid {
namespace {

constexpr double kHour = 3600, kQuarter = 900, kT0 = 1656633600;  // 2022-07-01T00:00:00Z

carbon::IntensitySeries hourly(const std::vector<double>& values) {
  std::string csv = "timestamp,g_per_kwh\n";
  for (size_t i = 0; i < values.size(); ++i)
    csv += std::to_string(static_cast<long long>(kT0 + kHour * static_cast<double>(i))) + "," +
           std::to_string(values[i]) + "\n";
  return carbon::IntensitySeries::parse_csv(csv, "test.csv");
}

TEST(ParseDuration, UnitsAndErrors) {
  EXPECT_DOUBLE_EQ(parse_duration("3h", "--duration"), 3 * kHour);
  EXPECT_DOUBLE_EQ(parse_duration("1.5h", "--duration"), 1.5 * kHour);
  EXPECT_DOUBLE_EQ(parse_duration("90m", "--duration"), 5400);
  EXPECT_DOUBLE_EQ(parse_duration("45s", "--duration"), 45);
  EXPECT_DOUBLE_EQ(parse_duration("120", "--duration"), 120);
  EXPECT_DOUBLE_EQ(parse_duration("2d", "--window"), 2 * 86400);
  for (const char* bad : {"", "h", "-3h", "0", "3x", "nan", "3 h"})
    EXPECT_EQ(testing::error_of([&] {
                parse_duration(bad, "--duration");
              }).rfind("cannot read duration (--duration=", 0),
              0u)
        << bad;
}

TEST(ParsePower, UnitsAndErrors) {
  EXPECT_DOUBLE_EQ(parse_power("300W"), 300);
  EXPECT_DOUBLE_EQ(parse_power("1.5kW"), 1500);
  EXPECT_DOUBLE_EQ(parse_power("250"), 250);
  for (const char* bad : {"", "W", "-3W", "0", "3MW", "nan", "inf", "3 W"})
    EXPECT_EQ(testing::error_of([&] { parse_power(bad); }).rfind("cannot read power (--power=", 0),
              0u)
        << bad;
}

TEST(BestSchedule, FindsTheCleanHoursByHand) {
  const auto series = hourly({500, 400, 100, 100, 300, 600});
  Schedule s = best_schedule(series, {kT0, 2 * kHour, 6 * kHour, false});
  ASSERT_EQ(s.runs.size(), 1u);
  EXPECT_DOUBLE_EQ(s.runs[0].first, kT0 + 2 * kHour);
  EXPECT_DOUBLE_EQ(s.mean_g_per_kwh, 100);
  EXPECT_DOUBLE_EQ(s.now_mean_g_per_kwh, 450);
  // Starting between boundaries: 1.5 h from 00:30 must still find 02:00-03:30.
  s = best_schedule(series, {kT0 + 1800, 1.5 * kHour, 5 * kHour, false});
  EXPECT_DOUBLE_EQ(s.runs[0].first, kT0 + 2 * kHour);
  EXPECT_DOUBLE_EQ(s.mean_g_per_kwh, 100);
  // Interruptible: 3 h from {500, 400, 100, 100, 300, 600} takes 02-04 and 04-05.
  s = best_schedule(series, {kT0, 3 * kHour, 6 * kHour, true});
  ASSERT_EQ(s.runs.size(), 1u);  // touching stretches are merged
  EXPECT_DOUBLE_EQ(s.runs[0].first, kT0 + 2 * kHour);
  EXPECT_DOUBLE_EQ(s.runs[0].second, kT0 + 5 * kHour);
  EXPECT_DOUBLE_EQ(s.mean_g_per_kwh, 500.0 / 3);
}

// Against brute force: hourly steps and quarter-hour durations put every place where the mean
// can bend on the quarter-hour grid, so scanning that grid finds the true minimum.
TEST(BestSchedule, MatchesBruteForceOnRandomSeries) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> g(20, 800);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<double> values(48);
    for (double& v : values) v = g(rng);
    const auto series = hourly(values);
    const double now = kT0 + kQuarter * static_cast<double>(rng() % 40);
    const double duration = kQuarter * static_cast<double>(1 + rng() % 24);
    const double window = duration + kQuarter * static_cast<double>(rng() % 100);
    const Schedule s = best_schedule(series, {now, duration, window, false});
    double brute = 1e300;
    for (double t = now; t + duration <= now + window + 1e-9; t += kQuarter)
      brute = std::min(brute, series.average_over(t, t + duration));
    EXPECT_NEAR(s.mean_g_per_kwh, brute, 1e-9) << trial;
    EXPECT_NEAR(series.average_over(s.runs[0].first, s.runs[0].second), s.mean_g_per_kwh, 1e-9);
    EXPECT_GE(s.runs[0].first, now);
    EXPECT_LE(s.runs[0].second, now + window + 1e-9);
    // Interruptible: the cleanest quarter-hours of the window, whatever their order.
    const Schedule i = best_schedule(series, {now, duration, window, true});
    std::vector<double> quarters;
    for (double t = now; t + kQuarter <= now + window + 1e-9; t += kQuarter)
      quarters.push_back(series.average_over(t, t));
    std::sort(quarters.begin(), quarters.end());
    double sum = 0;
    const int needed = static_cast<int>(std::lround(duration / kQuarter));
    for (int k = 0; k < needed; ++k) sum += quarters[static_cast<size_t>(k)];
    EXPECT_NEAR(i.mean_g_per_kwh, sum / needed, 1e-9) << trial;
    EXPECT_LE(i.mean_g_per_kwh, s.mean_g_per_kwh + 1e-9);
    double total = 0;
    for (const auto& [a, b] : i.runs) total += b - a;
    EXPECT_NEAR(total, duration, 1e-6);
  }
}

TEST(BestSchedule, RefusesWhatCannotBeScheduled) {
  const auto series = hourly({100, 200, 300});
  EXPECT_NE(testing::error_of([&] {
              best_schedule(series, {kT0, 2 * kHour, kHour, false});
            }).find("the window is shorter than the job"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] {
              best_schedule(series, {kT0, kHour, 5 * kHour, false});
            }).find("the series does not cover the window"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] {
              best_schedule(series, {kT0, 0, kHour, false});
            }).find("duration must be positive"),
            std::string::npos);
}

}  // namespace
}  // namespace greenai::grid

namespace greenai::grid {
namespace {

TEST(WaitingOutcome, ComparesTheRunWithTheSameLengthFromWhenAsked) {
  // 400 g/kWh for the first two hours, 100 after.
  const auto series = carbon::IntensitySeries::from_values({0, 3600, 7200, 10800},
                                                           {400, 400, 100, 100}, 3600, "test");
  const WaitOutcome w = waiting_outcome(series, 0, 7200, 9000);  // asked at 0, ran 2:00-2:30
  EXPECT_DOUBLE_EQ(w.met_g_per_kwh, 100);
  EXPECT_DOUBLE_EQ(w.asked_g_per_kwh, 400);
  EXPECT_DOUBLE_EQ(w.avoided_kg(2.0, 1.5), 2.0 * 1.5 * 300 / 1000);
}

}  // namespace
}  // namespace greenai::grid
