// Scheduling on a forecast (`greenai schedule --forecaster`): a model fitted on the history up to
// now forecasts the window, the job is scheduled on the forecast, and, where the history goes on
// past the window (a replay of the past), the choice is charged the actual intensities and set
// against perfect foresight.
//
//   ForecastOrigin at = forecast_origin(past, request.now, request.window_s);
//   carbon::IntensitySeries f = forecast_intensity(*model, past, at, request.now);
//   Schedule s = best_schedule(f, request);
//   if (auto actual = actual_intensity(past, request.now, request.window_s))
//     ActualOutcome o = score_on_actual(s, *actual, request);
#pragma once

#include <optional>
#include <string>

#include "greenai/carbon/intensity.h"
#include "greenai/grid/forecast.h"
#include "greenai/grid/schedule.h"
#include "greenai/util/json.h"

namespace greenai::grid {

/// Where a forecast made at `now` starts and how far it must reach.
struct ForecastOrigin {
  size_t origin = 0;  ///< the first step of the history at or after now (what is forecast)
  int horizon = 0;    ///< steps from the origin to the end of the window
};

/// Throws greenai::Error when `now` is not after the history's first value, or more than one
/// step past its last.
ForecastOrigin forecast_origin(const Series& past, double now, double window_s);

/// Fits `model` on the history before the origin and forecasts the window: the series to
/// schedule on. The step in force at `now` started before the origin: it is history, not
/// forecast.
carbon::IntensitySeries forecast_intensity(Forecaster& model, const Series& past,
                                           const ForecastOrigin& at, double now);

/// The actual intensities, when the history covers [now, now + window]; else nullopt.
std::optional<carbon::IntensitySeries> actual_intensity(const Series& past, double now,
                                                        double window_s);

/// What a schedule chosen on a forecast actually met, and the best it could have.
struct ActualOutcome {
  double mean_g_per_kwh = 0;  ///< the chosen runs, at the actual intensities
  Schedule perfect;           ///< the schedule on the actual intensities
};

ActualOutcome score_on_actual(const Schedule& chosen, const carbon::IntensitySeries& actual,
                              const ScheduleRequest& request);

/// One job scheduled, as `greenai schedule` reports it: on a series taken as it is, or on a
/// forecaster's forecast of a history, with the actual outcome where the history covers the
/// window.
struct JobSchedule {
  std::string series;  ///< the file scheduled on, as given
  ScheduleRequest request;
  Schedule schedule;
  std::string forecaster;  ///< the model whose forecast was used; "" for the series itself
  double power_w = 0;      ///< the job's power, for its kg CO2eq; 0 where not given
  std::optional<ActualOutcome> actual;
  /// 1 - mean / mean starting at once (0 where starting at once emits nothing).
  double saving() const;
  /// kg CO2eq of the job at power_w over its duration at `g_per_kwh`.
  double kg(double g_per_kwh) const;
  /// {"series", "now", "duration_s", "window_s", "interruptible", "runs", "mean_g_per_kwh",
  /// "now_mean_g_per_kwh", "saving_fraction"[, "forecaster", "intensities"][, "power_w", "kg",
  /// "now_kg"][, "actual"]}
  util::Json to_json() const;
  /// Lines for people: the start (or stretches), the mean intensity against starting at once,
  /// the kg CO2eq at power_w, and the actual outcome.
  std::string to_text() const;
};

/// Schedules on `series` as it is.
JobSchedule schedule_on_series(const std::string& path, const carbon::IntensitySeries& series,
                               const ScheduleRequest& request, double power_w = 0);
/// Schedules on `model`'s forecast of the window from the history `past` (fitted on the values
/// before now), scored on the actual values where `past` covers the window.
JobSchedule schedule_on_forecast(const std::string& path, const Series& past, Forecaster& model,
                                 const ScheduleRequest& request, double power_w = 0);

}  // namespace greenai::grid
