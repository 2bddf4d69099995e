#include "greenai/grid/forecast_schedule.h"

#include <cmath>

#include "greenai/error.h"

namespace greenai::grid {

ForecastOrigin forecast_origin(const Series& past, double now, double window_s) {
  // 1e-9 steps: a `now` on a step boundary is that step, despite rounding.
  const double steps_before = std::ceil((now - past.times.front()) / past.step_s - 1e-9);
  if (steps_before < 1 || steps_before > static_cast<double>(past.values.size()))
    throw Error(
        "cannot forecast from " + past.origin + " (--now=" + carbon::format_timestamp(now) + ")",
        "--now must fall after the history's first value and at most one step past "
        "its last");
  ForecastOrigin at;
  at.origin = static_cast<size_t>(steps_before);
  const double origin_time = past.times.front() + static_cast<double>(at.origin) * past.step_s;
  at.horizon = static_cast<int>(std::ceil((now + window_s - origin_time) / past.step_s - 1e-9));
  return at;
}

carbon::IntensitySeries forecast_intensity(Forecaster& model, const Series& past,
                                           const ForecastOrigin& at, double now) {
  model.fit(
      std::vector<double>(past.values.begin(), past.values.begin() + static_cast<long>(at.origin)));
  std::vector<double> values = model.forecast_from(past.values, {at.origin}, at.horizon)[0];
  const double origin_time = past.times.front() + static_cast<double>(at.origin) * past.step_s;
  std::vector<double> times;
  for (int h = 0; h < at.horizon; ++h) times.push_back(origin_time + h * past.step_s);
  if (now < origin_time) {
    times.insert(times.begin(), past.times[at.origin - 1]);
    values.insert(values.begin(), past.values[at.origin - 1]);
  }
  return carbon::IntensitySeries::from_values(times, values, past.step_s,
                                              model.name() + " forecast from " + past.origin);
}

std::optional<carbon::IntensitySeries> actual_intensity(const Series& past, double now,
                                                        double window_s) {
  if (past.times.back() + past.step_s < now + window_s) return std::nullopt;
  return carbon::IntensitySeries::from_values(past.times, past.values, past.step_s, past.origin);
}

ActualOutcome score_on_actual(const Schedule& chosen, const carbon::IntensitySeries& actual,
                              const ScheduleRequest& request) {
  ActualOutcome o;
  o.perfect = best_schedule(actual, request);
  for (const auto& [start, end] : chosen.runs)
    o.mean_g_per_kwh += actual.average_over(start, end) * (end - start) / request.duration_s;
  return o;
}

}  // namespace greenai::grid
