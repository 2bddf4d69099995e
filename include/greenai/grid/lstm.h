// An LSTM forecaster on LibTorch (the mission's example, made to work): a window of recent
// steps in, a whole horizon out at once.
//
// Each input step carries the normalised value, its change against one anchor season earlier,
// and calendar features (time of day and day of week as sine/cosine pairs). With an anchor
// season (a week, by default) the network predicts the change against the value one season
// before each target step, so it learns corrections to the seasonal naive forecast (this week
// is warmer, this evening is darker) rather than the whole daily shape from a short window.
// Without one it predicts the normalised values themselves.
//
//   LstmOptions o{.horizon = 48, .anchor_period = 336, .start_unix_s = s.times[0],
//                 .step_s = s.step_s};
//   auto model = lstm_model(o);                 // a Forecaster: fit(), forecast_from()
//   Evaluation e = evaluate(*model, s.values, train_end, 48, 48);
//
// This header needs no LibTorch; lstm_model() is in the greenai_grid_lstm library, which does.
#pragma once

#include <cstdint>
#include <memory>

#include "greenai/grid/forecast.h"

namespace greenai::grid {

struct LstmOptions {
  int layers = 2;    ///< Stacked LSTM layers.
  int hidden = 50;   ///< Units per layer.
  int window = 24;   ///< Input steps.
  int horizon = 48;  ///< Output steps (forecasts of fewer steps use the first ones).
  /// Predict the change against the value this many steps earlier (a season; 0: predict the
  /// values). Must be at least the horizon, so that every anchor is already known.
  int anchor_period = 0;
  int epochs = 60;              ///< Upper bound; the epoch with the least validation loss is kept.
  int batch_size = 64;          ///< Windows per step.
  double learning_rate = 3e-3;  ///< Adam; cosine-decayed to 0 over the epochs.
  double validation_fraction = 0.15;  ///< The latest windows of the training part.
  uint64_t seed = 0;                  ///< Initial weights and shuffling: fixed seed, same model.
  double start_unix_s = 0;            ///< Time of value 0, for the calendar features.
  double step_s = 3600;               ///< The series' interval.
};

/// What fit() found, for reports.
struct LstmFitReport {
  int epochs_run = 0;
  int best_epoch = 0;     ///< 1-based; its weights are kept.
  double train_loss = 0;  ///< Mean squared error in normalised units, at best_epoch.
  double validation_loss = 0;
  int64_t windows = 0;  ///< Training windows (validation ones excluded).
  double seconds = 0;
};

/// The LSTM as a Forecaster named "lstm". fit() throws greenai::Error when the training part
/// is too short for one window (window + anchor_period + horizon steps, and more for
/// validation) or the options are out of range.
std::unique_ptr<Forecaster> lstm_model(const LstmOptions& options);

/// Implemented by models that report on their last fit() (the LSTM).
class ReportsFit {
 public:
  virtual ~ReportsFit() = default;
  virtual const LstmFitReport& fit_report() const = 0;
};

/// The report of the last fit() of a model made by lstm_model (nullptr for other models).
/// Inline, so that code without LibTorch can ask any Forecaster.
inline const LstmFitReport* lstm_fit_report(const Forecaster& model) {
  const auto* reporting = dynamic_cast<const ReportsFit*>(&model);
  return reporting ? &reporting->fit_report() : nullptr;
}

}  // namespace greenai::grid
