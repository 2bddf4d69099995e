// Forecasters compared side by side (`greenai forecast`): each evaluated from rolling origins on
// the held-out tail of a series, the energy of fitting and forecasting metered for each, and the
// results as JSON and CSV.
//
//   auto rows = compare_forecasters(models, series, train_end, 48, 48, meter, skipped);
//   std::cout << comparison_to_json(series, rows, ...).dump(2);
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "greenai/grid/forecast.h"
#include "greenai/grid/lstm.h"
#include "greenai/util/json.h"

namespace greenai::grid {

struct MeteredEvaluation {
  Evaluation evaluation;
  StepCost cost;                     ///< of fitting and forecasting
  std::optional<LstmFitReport> fit;  ///< what the LSTM's fit found
  /// {"model", "mape", "mae", "rmse", "origins", "energy_j", "seconds", "fit", "per_step"}
  util::Json to_json() const;
};

/// Each model fitted on series[0, train_end) and evaluated from origins every `stride` steps,
/// `horizon` ahead, metered. With several models, one that cannot be fitted is listed in
/// `skipped` ("name: why"); alone, its error stands. Throws greenai::Error when none could.
std::vector<MeteredEvaluation> compare_forecasters(
    const std::vector<std::unique_ptr<Forecaster>>& models, const Series& series, size_t train_end,
    int horizon, int stride, const CostMeter& meter, std::vector<std::string>& skipped);

/// Writes every forecast: origin, step, timestamp, actual, then one column per model. Throws
/// greenai::Error naming the path when it cannot be written.
void write_forecasts_csv(const std::string& path, const Series& series,
                         const std::vector<MeteredEvaluation>& results, int horizon);

/// A comparison as `greenai forecast` reports it.
struct Comparison {
  const Series* series = nullptr;  ///< what was forecast (outlives the comparison)
  size_t train_end = 0;
  int horizon = 0, stride = 0;
  std::pair<int, int> seasons;  ///< the baselines' two seasons, in steps
  std::vector<MeteredEvaluation> models;
  std::vector<std::string> skipped;
  std::string provenance;  ///< of the energy figures (measured or estimated, and how)
  /// {"series", "values", "step_s", "filled", "train", "horizon", "seasons", "models",
  /// "skipped"}; each model with its "energy_provenance".
  util::Json to_json() const;
  /// The held-out tail ("actual"), then each model's forecasts over it, one value per step (NaN
  /// where the model made none): what `greenai forecast --svg` draws.
  std::vector<std::pair<std::string, std::vector<double>>> held_out_lines() const;
  /// The series, the evaluation's shape, and a table of each model's MAPE, MAE, RMSE, MAPE at
  /// steps 1, h/2 and h, and energy.
  std::string to_text() const;
};
}  // namespace greenai::grid
