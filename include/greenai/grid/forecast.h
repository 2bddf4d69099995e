// Forecasting a regular time series (electricity demand, grid carbon intensity) with the
// baselines every forecaster must beat, evaluated with a rolling origin.
//
//   Series s = load_series("demand.csv");                 // timestamp,value
//   auto models = baseline_models(48, 336);               // half-hourly: daily and weekly cycles
//   Evaluation e = evaluate(*models[2], s.values, 3360, 48, 48);   // MAPE/MAE/RMSE per step
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "greenai/carbon/intensity.h"

namespace greenai::grid {

/// A regular series (carbon::Series, greenai's one series type), as the forecasters take it.
using Series = carbon::Series;

/// Parses CSV text with a header: the first column a timestamp (ISO 8601 or Unix seconds), the
/// value from `column` (by name) or else the second column. Throws greenai::Error naming the
/// line for a non-numeric value, a negative one, a bad timestamp, a duplicate or out of order
/// timestamp, or a gap (an interval other than the series' own). With max_fill > 0, runs of up
/// to max_fill missing steps (empty values or absent timestamps) inside the series are filled
/// by linear interpolation and listed in Series::filled; longer runs are still errors.
Series parse_series(const std::string& text, const std::string& origin,
                    const std::string& column = "", int max_fill = 0);
Series load_series(const std::string& path, const std::string& column = "", int max_fill = 0);

/// What a span of work cost: joules (as the meter said) and seconds.
struct StepCost {
  double energy_j = 0;
  double seconds = 0;
};
/// The cost since the last call (the first call starts the count).
using CostMeter = std::function<StepCost()>;

/// A forecasting model. fit() sees the training part only; forecast_from() may then read any
/// history up to (not including) `origin` and predicts y[origin .. origin + horizon).
class Forecaster {
 public:
  virtual ~Forecaster() = default;
  virtual std::string name() const = 0;
  virtual void fit(const std::vector<double>& train) = 0;
  /// Forecasts from every origin in `origins` (ascending); row k is origin k's forecast.
  virtual std::vector<std::vector<double>> forecast_from(const std::vector<double>& y,
                                                         const std::vector<size_t>& origins,
                                                         int horizon) const = 0;
};

/// y[t + h] = y[t - 1] (the last value seen).
std::unique_ptr<Forecaster> naive_model();
/// y[t + h] = the value one season of `period` steps (or a whole number of seasons) earlier.
std::unique_ptr<Forecaster> seasonal_naive_model(int period, const std::string& name);
/// Double seasonal Holt-Winters with multiplicative seasonalities (periods m1 < m2) and an AR(1)
/// adjustment of the one-step error (Taylor, 2003); smoothing parameters fitted by least squares
/// of one-step errors on the training part.
std::unique_ptr<Forecaster> holt_winters_model(int m1, int m2);

/// naive, seasonal naive (m1), seasonal naive (m2), double seasonal Holt-Winters.
std::vector<std::unique_ptr<Forecaster>> baseline_models(int m1, int m2);

struct Evaluation {
  std::string model;
  std::vector<double> mape, mae, rmse;  ///< Per horizon step (1-based step k at index k - 1).
  double mape_all = 0, mae_all = 0, rmse_all = 0;
  size_t origins = 0;
  std::vector<std::vector<double>> forecasts;  ///< One row per origin.
  std::vector<size_t> origin_index;
};

/// Forecasts `horizon` steps from each of `origins` (ascending) as an operator would: the model
/// is fitted on every value before origins[0], and refitted on every value before the origin
/// each `refit_every` steps after that (0: never). Row k is origin k's forecast.
/// `on_progress` (optional) hears how many origins are forecast so far, after each refit.
std::vector<std::vector<double>> rolling_forecasts(
    Forecaster& model, const std::vector<double>& y, const std::vector<size_t>& origins,
    int horizon, size_t refit_every,
    const std::function<void(size_t done, size_t total)>& on_progress = {});

/// Fits on y[0, train_end) and forecasts `horizon` steps from origins train_end,
/// train_end + stride, ... while a whole horizon fits in y. MAPE in percent.
Evaluation evaluate(Forecaster& model, const std::vector<double>& y, size_t train_end, int horizon,
                    int stride);

}  // namespace greenai::grid
