#include "cli/grid_models.h"

#include <cstdio>

#include "greenai/error.h"

namespace greenai::cli {

std::vector<OptionSpec> model_options() {
  return {{"seasons", true},     {"fill-gaps", true},   {"column", true},
          {"lstm-layers", true}, {"lstm-hidden", true}, {"lstm-window", true},
          {"lstm-epochs", true}, {"lstm-anchor", true}, {"seed", true}};
}

std::pair<int, int> seasons_of(const ParsedArgs& args, const grid::Series& series) {
  auto [m1, m2] = grid::default_seasons(series);
  if (auto seasons = args.get("seasons")) {
    if (std::sscanf(seasons->c_str(), "%d,%d", &m1, &m2) != 2 || m1 < 2 || m2 <= m1)
      throw UsageError("--seasons takes two periods in steps, shorter first, such as 48,336");
  }
  return {m1, m2};
}

grid::Series load_series_flags(const std::string& path, const ParsedArgs& args) {
  const int fill = static_cast<int>(integer(args, "fill-gaps", 0, 0));
  return grid::load_series(path, args.get("column").value_or(""), fill);
}

std::vector<std::unique_ptr<grid::Forecaster>> make_models(const std::string& which,
                                                           const ParsedArgs& args,
                                                           const grid::Series& series, int horizon,
                                                           const grid::LstmFactory& lstm,
                                                           std::vector<std::string>& skipped) {
  grid::ModelChoice choice;
  choice.which = which;
  choice.seasons = seasons_of(args, series);
  grid::LstmOptions& o = choice.lstm;
  o.layers = static_cast<int>(integer(args, "lstm-layers", o.layers, 1));
  o.hidden = static_cast<int>(integer(args, "lstm-hidden", o.hidden, 1));
  o.window = static_cast<int>(integer(args, "lstm-window", o.window, 1));
  o.epochs = static_cast<int>(integer(args, "lstm-epochs", o.epochs, 1));
  o.seed = static_cast<uint64_t>(integer(args, "seed", 0, 0));
  choice.anchor = grid::parse_anchor(args.get("lstm-anchor").value_or("week"));
  return grid::make_forecasters(choice, series, horizon, lstm, skipped);
}

}  // namespace greenai::cli
