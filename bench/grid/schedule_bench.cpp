// The exact best-window search against the sampled search a simple scheduler does (every start
// on a one-minute grid), side by side on the same queries: time per query, their ratio, and the
// difference in the intensity they choose. Not a test: prints figures, never fails on timing.
//
//   greenai_schedule_bench [SERIES.csv [COLUMN]]   (default: a synthetic year, hourly)
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "greenai/carbon/intensity.h"
#include "greenai/grid/forecast.h"
#include "greenai/grid/schedule.h"

namespace {

using greenai::carbon::IntensitySeries;
using Clock = std::chrono::steady_clock;

constexpr double kHour = 3600, kSampleStep = 60, kTwoPi = 6.283185307179586;

IntensitySeries synthetic_year() {
  std::mt19937 rng(1);
  std::normal_distribution<double> noise(0, 15);
  std::vector<double> times, values;
  for (int h = 0; h < 8760; ++h) {
    times.push_back(1640995200 + h * kHour);  // 2022-01-01T00:00Z
    values.push_back(250 + 80 * std::sin(kTwoPi * h / 24) + noise(rng));
  }
  return IntensitySeries::from_values(times, values, kHour, "synthetic year");
}

// The start on a one-minute grid with the least mean over the job.
double sampled_mean(const IntensitySeries& s, const greenai::grid::ScheduleRequest& r) {
  double best = INFINITY;
  for (double t = r.now; t + r.duration_s <= r.now + r.window_s + 1e-9; t += kSampleStep)
    best = std::min(best, s.average_over(t, t + r.duration_s));
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  IntensitySeries series = synthetic_year();
  if (argc > 1) {
    const auto loaded = greenai::grid::load_series(argv[1], argc > 2 ? argv[2] : "", 24);
    series = IntensitySeries::from_values(loaded.times, loaded.values, loaded.step_s, argv[1]);
  }
  std::vector<greenai::grid::ScheduleRequest> queries;
  for (double now = series.start_unix_s(); now + 2 * 86400 <= series.end_unix_s(); now += 7 * kHour)
    queries.push_back({.now = now, .duration_s = 3 * kHour, .window_s = 24 * kHour});
  double exact_total = 0, sampled_total = 0, exact_s = 0, sampled_s = 0;
  for (int round = 0; round < 3; ++round) {  // alternate, so drift hits both alike
    auto t0 = Clock::now();
    for (const auto& q : queries)
      exact_total += greenai::grid::best_schedule(series, q).mean_g_per_kwh;
    auto t1 = Clock::now();
    for (const auto& q : queries) sampled_total += sampled_mean(series, q);
    auto t2 = Clock::now();
    exact_s += std::chrono::duration<double>(t1 - t0).count();
    sampled_s += std::chrono::duration<double>(t2 - t1).count();
  }
  const double n = 3.0 * static_cast<double>(queries.size());
  std::printf("%s: %zu queries (3 h job, 24 h window), 3 rounds each\n", series.origin().c_str(),
              queries.size());
  std::printf("exact (step boundaries)  %9.2f us/query, mean chosen %.4f g/kWh\n",
              1e6 * exact_s / n, exact_total / n);
  std::printf("sampled (every minute)   %9.2f us/query, mean chosen %.4f g/kWh\n",
              1e6 * sampled_s / n, sampled_total / n);
  std::printf("ratio sampled/exact time %.1fx; chosen means differ by %.2e g/kWh on average\n",
              sampled_s / exact_s, (sampled_total - exact_total) / n);
  return 0;
}
