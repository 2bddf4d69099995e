// A year of history replayed as a scheduling trial (`greenai schedule --replay`): which arrivals
// are scored, each forecaster's rolling forecasts at them, the schedules those drive, and how
// far the forecasts were off over each job's window.
//
//   ReplayPlan plan = plan_replay(load_series("gb-2023.csv", "", 2),
//                                 {.window_s = 86400, .durations_s = {3600, 4 * 3600}});
//   auto results = replay_forecasters(plan, models, [&] { return meter.since_last(); },
//                                     skipped);
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "greenai/grid/forecast.h"
#include "greenai/grid/replay.h"
#include "greenai/util/json.h"

namespace greenai::grid {

/// `seconds` in whole steps of the series. Throws greenai::Error naming `what` when it is not a
/// whole, positive number of steps.
int steps_of(double seconds, const Series& series, const std::string& what);

struct ReplayRequest {
  double window_s = 86400;  ///< a job must finish within this of its arrival
  std::vector<double> durations_s{3600,     2 * 3600, 3 * 3600, 4 * 3600,
                                  5 * 3600, 6 * 3600, 7 * 3600, 8 * 3600};  ///< job lengths
  double warm_up_s = 56 * 86400;      ///< history before the first arrival
  double refit_every_s = 28 * 86400;  ///< forecasters refitted on all earlier values this often
};

/// What a replay covers: the series, the jobs, and the arrivals that are scored.
struct ReplayPlan {
  Series series;
  double window_s = 0;
  ReplayOptions options;  ///< in steps
  size_t refit_steps = 0;
  std::vector<size_t> arrivals;  ///< every step after the warm-up whose window fits and is measured
  size_t unscored = 0;           ///< arrivals left out: their window holds a filled value
};

/// The plan: forecasters may read filled values as history, but a job is scored only on measured
/// intensities. Throws greenai::Error when a length is not whole steps, or no arrival is left.
ReplayPlan plan_replay(Series series, const ReplayRequest& request);

/// Mean absolute percentage error (percent) of forecasts[k] against y over the `window` steps
/// from arrivals[k], over the non-zero actual values; 0 when there are none.
double window_mape(const std::vector<double>& y, const std::vector<size_t>& arrivals,
                   const std::vector<std::vector<double>>& forecasts, size_t window);

struct ForecasterReplay {
  std::string model;
  Replay replay;
  double window_mape = 0;  ///< of the forecasts over each arrival's window, percent
  double energy_j = 0;     ///< of fitting and forecasting, as the meter said
};

/// Progress of a replay: the model being replayed, arrivals forecast so far, of how many.
using ReplayProgress = std::function<void(const std::string& model, size_t done, size_t total)>;

/// Each model's forecasts at every arrival and the schedules they drive, each metered. With
/// several models, one that cannot be fitted is listed in `skipped` ("name: why"); alone, its
/// error stands.
std::vector<ForecasterReplay> replay_forecasters(
    const ReplayPlan& plan, const std::vector<std::unique_ptr<Forecaster>>& models,
    const CostMeter& meter, std::vector<std::string>& skipped,
    const ReplayProgress& on_progress = {});

/// The replay as `greenai schedule --replay --json` prints it: the plan, the perfect-foresight
/// saving, each model's window MAPE, energy (with `provenance`) and savings per job length.
util::Json replay_to_json(const ReplayPlan& plan, const Replay& perfect,
                          const std::vector<ForecasterReplay>& results,
                          const std::vector<std::string>& skipped, const std::string& provenance);
/// The same as a table for people: each forecaster's window MAPE, saving and share of the
/// perfect saving captured (overall and per job length), and its energy.
std::string replay_to_text(const ReplayPlan& plan, const Replay& perfect,
                           const std::vector<ForecasterReplay>& results,
                           const std::vector<std::string>& skipped, const std::string& provenance);

}  // namespace greenai::grid
