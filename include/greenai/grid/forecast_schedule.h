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

#include "greenai/carbon/intensity.h"
#include "greenai/grid/forecast.h"
#include "greenai/grid/schedule.h"

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

}  // namespace greenai::grid
