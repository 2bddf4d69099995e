// Replaying history to measure what carbon-aware scheduling would have saved: jobs of several
// lengths arrive at every step; each is scheduled once with perfect foresight (the actual
// intensities of its window) and once on a forecast made at its arrival, and both choices are
// charged the actual intensities. Forecast error is so part of the result.
//
//   auto forecasts = rolling_forecasts(*model, s.values, arrivals, 24, 672);
//   Replay r = replay_schedules(s.values, arrivals, &forecasts, {.durations_steps = {1, 2, 4, 8},
//                                                               .window_steps = 24});
//   r.all.captured();   // share of the perfect-foresight saving the forecast got
#pragma once

#include <cstddef>
#include <vector>

namespace greenai::grid {

struct ReplayOptions {
  std::vector<int> durations_steps;  ///< Job lengths, in steps of the series.
  int window_steps = 24;             ///< A job must finish within this many steps of arrival.
};

/// Sums over jobs of duration x mean intensity (proportional to emissions at constant power).
struct ReplayRow {
  int duration_steps = 0;  ///< 0 for the total.
  size_t jobs = 0;
  double now = 0;       ///< Starting every job on arrival.
  double perfect = 0;   ///< Scheduled on the actual intensities.
  double forecast = 0;  ///< Scheduled on the forecast, charged the actual intensities.
  double perfect_saving() const { return now > 0 ? 1 - perfect / now : 0; }
  double forecast_saving() const { return now > 0 ? 1 - forecast / now : 0; }
  /// Share of the perfect-foresight saving that forecast-driven scheduling captured.
  double captured() const { return now > perfect ? (now - forecast) / (now - perfect) : 0; }
};

struct Replay {
  std::vector<ReplayRow> rows;  ///< One per duration, in the order asked.
  ReplayRow all;
};

/// The least mean over contiguous runs of `duration` values of `x` starting in
/// [first, last_start]: the start (earliest on ties).
size_t cleanest_start(const std::vector<double>& prefix_sums, size_t first, size_t last_start,
                      size_t duration);

/// Replays a job of each length arriving at each of `arrivals` (indices into `actual`; the
/// window must fit). forecasts[k] (window_steps values from arrivals[k]) drives the forecast
/// schedule; without forecasts, Row::forecast stays 0. Throws greenai::Error for a window
/// shorter than a job or outside the series.
Replay replay_schedules(const std::vector<double>& actual, const std::vector<size_t>& arrivals,
                        const std::vector<std::vector<double>>* forecasts,
                        const ReplayOptions& options);

}  // namespace greenai::grid
