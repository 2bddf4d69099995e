// Choosing forecasters by name: the baselines every forecaster must beat and the LSTM, made by
// whatever can make it (LibTorch is linked only where lstm_model is).
//
//   ModelChoice choice{.which = "all", .seasons = default_seasons(series)};
//   auto models = make_forecasters(choice, series, 48, lstm_model, skipped);
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "greenai/grid/forecast.h"
#include "greenai/grid/lstm.h"

namespace greenai::grid {

/// Makes the LSTM; empty where this program has no LibTorch.
using LstmFactory = std::function<std::unique_ptr<Forecaster>(const LstmOptions&)>;

/// A day and a week of the series' steps (at least 1): its short and long seasons.
std::pair<int, int> default_seasons(const Series& series);

enum class LstmAnchor { kWeek, kDay, kNone };
/// "week", "day" or "none"; throws greenai::Error naming --lstm-anchor otherwise.
LstmAnchor parse_anchor(const std::string& name);

struct ModelChoice {
  /// naive, seasonal-naive (both seasons), seasonal-naive-M, holt-winters, lstm or all.
  std::string which = "all";
  std::pair<int, int> seasons{24, 168};  ///< short and long, in steps
  /// The LSTM's options; horizon, start_unix_s, step_s and anchor_period are set from the
  /// series, the horizon and `anchor`.
  LstmOptions lstm;
  LstmAnchor anchor = LstmAnchor::kWeek;  ///< the season the LSTM predicts changes against
};

/// The models `choice` names, for forecasts of up to `horizon` steps of `series`. The LSTM with
/// no factory is listed in `skipped` under "all", and an error when asked for alone. Throws
/// greenai::Error for an unknown name (listing the known ones).
std::vector<std::unique_ptr<Forecaster>> make_forecasters(const ModelChoice& choice,
                                                          const Series& series, int horizon,
                                                          const LstmFactory& lstm,
                                                          std::vector<std::string>& skipped);

}  // namespace greenai::grid
