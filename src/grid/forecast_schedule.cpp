#include "greenai/grid/forecast_schedule.h"

#include <cmath>

#include "greenai/error.h"
#include "greenai/util/text.h"

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
  return carbon::IntensitySeries::from_series(past);
}

ActualOutcome score_on_actual(const Schedule& chosen, const carbon::IntensitySeries& actual,
                              const ScheduleRequest& request) {
  ActualOutcome o;
  o.perfect = best_schedule(actual, request);
  for (const auto& [start, end] : chosen.runs)
    o.mean_g_per_kwh += actual.average_over(start, end) * (end - start) / request.duration_s;
  return o;
}

double JobSchedule::saving() const {
  return schedule.now_mean_g_per_kwh > 0 ? 1 - schedule.mean_g_per_kwh / schedule.now_mean_g_per_kwh
                                         : 0;
}

double JobSchedule::kg(double g_per_kwh) const {
  return carbon::emissions_kg(power_w * request.duration_s / carbon::kJoulesPerKwh, 1.0, g_per_kwh);
}

namespace {

util::Json runs_json(const Schedule& s) {
  util::Json runs = util::Json::array();
  for (const auto& [start, end] : s.runs)
    runs.push(util::Json::object()
                  .set("start", carbon::format_timestamp(start))
                  .set("end", carbon::format_timestamp(end)));
  return runs;
}

}  // namespace

util::Json JobSchedule::to_json() const {
  util::Json result = util::Json::object()
                          .set("series", series)
                          .set("now", carbon::format_timestamp(request.now))
                          .set("duration_s", request.duration_s)
                          .set("window_s", request.window_s)
                          .set("interruptible", request.interruptible)
                          .set("runs", runs_json(schedule))
                          .set("mean_g_per_kwh", schedule.mean_g_per_kwh)
                          .set("now_mean_g_per_kwh", schedule.now_mean_g_per_kwh)
                          .set("saving_fraction", saving());
  if (!forecaster.empty()) result.set("forecaster", forecaster).set("intensities", "forecast");
  if (power_w > 0)
    result.set("power_w", power_w)
        .set("kg", kg(schedule.mean_g_per_kwh))
        .set("now_kg", kg(schedule.now_mean_g_per_kwh));
  if (actual)
    result.set("actual", util::Json::object()
                             .set("mean_g_per_kwh", actual->mean_g_per_kwh)
                             .set("now_mean_g_per_kwh", actual->perfect.now_mean_g_per_kwh)
                             .set("perfect_runs", runs_json(actual->perfect))
                             .set("perfect_mean_g_per_kwh", actual->perfect.mean_g_per_kwh));
  return result;
}

std::string JobSchedule::to_text() const {
  const JobSchedule& j = *this;
  std::string text;
  const Schedule& s = j.schedule;
  const double now = j.request.now;
  if (!j.forecaster.empty())
    util::appendf(text, "on the %s forecast of %s from %s:\n", j.forecaster.c_str(),
                  j.series.c_str(), carbon::format_timestamp(now).c_str());
  if (j.request.interruptible) {
    util::appendf(text, "run in %zu stretch(es):\n", s.runs.size());
    for (const auto& [start, end] : s.runs)
      util::appendf(text, "  %s to %s\n", carbon::format_timestamp(start).c_str(),
                    carbon::format_timestamp(end).c_str());
  } else {
    util::appendf(text, "best start: %s (%.1f h after %s), until %s\n",
                  carbon::format_timestamp(s.runs[0].first).c_str(), (s.runs[0].first - now) / 3600,
                  carbon::format_timestamp(now).c_str(),
                  carbon::format_timestamp(s.runs[0].second).c_str());
  }
  util::appendf(
      text,
      "%smean intensity %.1f g/kWh, against %.1f g/kWh starting at once: %.1f %% less carbon\n",
      j.forecaster.empty() ? "" : "forecast ", s.mean_g_per_kwh, s.now_mean_g_per_kwh,
      100 * j.saving());
  if (j.power_w > 0) {
    const double kg = j.kg(s.mean_g_per_kwh), now_kg = j.kg(s.now_mean_g_per_kwh);
    util::appendf(text, "at %.0f W: %.4g kg CO2eq instead of %.4g (%.4g kg avoided)\n", j.power_w,
                  kg, now_kg, now_kg - kg);
  }
  if (j.actual)
    util::appendf(
        text,
        "actually: %.1f g/kWh at the chosen time, %.1f starting at once, %.1f with perfect "
        "foresight (from %s)\n",
        j.actual->mean_g_per_kwh, j.actual->perfect.now_mean_g_per_kwh,
        j.actual->perfect.mean_g_per_kwh,
        carbon::format_timestamp(j.actual->perfect.runs[0].first).c_str());
  return text;
}

JobSchedule schedule_on_series(const std::string& path, const carbon::IntensitySeries& series,
                               const ScheduleRequest& request, double power_w) {
  JobSchedule j;
  j.series = path;
  j.request = request;
  j.schedule = best_schedule(series, request);
  j.power_w = power_w;
  return j;
}

JobSchedule schedule_on_forecast(const std::string& path, const Series& past, Forecaster& model,
                                 const ScheduleRequest& request, double power_w) {
  const ForecastOrigin at = forecast_origin(past, request.now, request.window_s);
  JobSchedule j =
      schedule_on_series(path, forecast_intensity(model, past, at, request.now), request, power_w);
  j.forecaster = model.name();
  if (auto history = actual_intensity(past, request.now, request.window_s))
    j.actual = score_on_actual(j.schedule, *history, request);
  return j;
}

}  // namespace greenai::grid
