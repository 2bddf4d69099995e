// What `greenai forecast` and `greenai schedule` share: choosing forecasting models by name,
// the LSTM's flags, and the series' seasons. The LSTM needs LibTorch, so the executable that
// links it passes a factory; `greenai` alone passes none and hands lstm work to greenai-torch.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli/args.h"
#include "greenai/grid/forecast.h"
#include "greenai/grid/lstm.h"
#include "greenai/grid/models.h"

namespace greenai::cli {

using LstmFactory = grid::LstmFactory;

/// --seasons, --fill-gaps, --column and the --lstm-* flags.
std::vector<OptionSpec> model_options();

/// The short and long seasons in steps: a day and a week of the series' steps, or --seasons.
std::pair<int, int> seasons_of(const ParsedArgs& args, const grid::Series& series);

/// Loads the series named by `path` with --column and --fill-gaps.
grid::Series load_series_flags(const std::string& path, const ParsedArgs& args);

/// The models `which` names: naive, seasonal-naive (both seasons), seasonal-naive-M,
/// holt-winters, lstm or all. A model this executable cannot make (lstm without LibTorch) is
/// listed in `skipped` under "all" and an error alone. `horizon` is the longest forecast asked.
std::vector<std::unique_ptr<grid::Forecaster>> make_models(const std::string& which,
                                                           const ParsedArgs& args,
                                                           const grid::Series& series, int horizon,
                                                           const LstmFactory& lstm,
                                                           std::vector<std::string>& skipped);

int forecast_main(int argc, char** argv, const LstmFactory& lstm);
int schedule_main(int argc, char** argv, const LstmFactory& lstm);

}  // namespace greenai::cli
