// Carbon-aware scheduling: when to run a job of known length so that it emits the least, given
// a carbon-intensity series (history to replay, or a forecast).
//
// A contiguous job gets the start whose run has the least time-weighted mean intensity (the
// Carbon Aware SDK's best-window query, on the exact step function rather than sampled starts);
// an interruptible job gets the cleanest stretches of the window that add up to its length.
//
//   auto series = greenai::carbon::IntensitySeries::load("grid.csv");
//   greenai::grid::Schedule s = greenai::grid::best_schedule(series, {.now = t, .duration_s =
//   3 * 3600, .window_s = 24 * 3600});
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "greenai/carbon/intensity.h"

namespace greenai::grid {

struct ScheduleRequest {
  double now = 0;         ///< Unix seconds: the earliest start.
  double duration_s = 0;  ///< The job's length, > 0.
  double window_s = 0;    ///< The job must finish by now + window_s (>= duration_s).
  bool interruptible = false;
};

struct Schedule {
  /// The chosen time: one [start, end) for a contiguous job, the stretches of an interruptible
  /// one in time order.
  std::vector<std::pair<double, double>> runs;
  double mean_g_per_kwh = 0;      ///< Over the chosen time.
  double now_mean_g_per_kwh = 0;  ///< Over [now, now + duration): starting at once.
};

/// The schedule with the least mean intensity. Throws greenai::Error for a request that cannot
/// be met (non-positive duration, a window shorter than the job) or a window the series does not
/// cover (a schedule is only as good as the data under it).
Schedule best_schedule(const carbon::IntensitySeries& series, const ScheduleRequest& request);

/// What waiting for a schedule saved: the mean intensity over the run as it happened, against
/// the same length of time from when it was asked for.
struct WaitOutcome {
  double met_g_per_kwh = 0;
  double asked_g_per_kwh = 0;
  /// kg CO2eq avoided for `kwh` of energy at `pue` (negative if waiting cost carbon).
  double avoided_kg(double kwh, double pue) const;
};
WaitOutcome waiting_outcome(const carbon::IntensitySeries& series, double asked, double started,
                            double ended);

/// Sleeps until the Unix time `t` (at once if it has passed); a signal's default action still
/// ends the wait.
void sleep_until(double t);

/// "3h", "90m", "45s", "1.5h", "2d" or plain seconds; throws greenai::Error naming `what`.
double parse_duration(const std::string& text, const std::string& what);
/// "300W", "1.5kW" or plain watts, positive; throws greenai::Error naming --power.
double parse_power(const std::string& text);

}  // namespace greenai::grid
