#include "cli/grid_models.h"

#include <cmath>
#include <cstdio>

#include "greenai/error.h"

namespace greenai::cli {

std::vector<OptionSpec> model_options() {
  return {{"seasons", true},     {"fill-gaps", true},   {"column", true},
          {"lstm-layers", true}, {"lstm-hidden", true}, {"lstm-window", true},
          {"lstm-epochs", true}, {"lstm-anchor", true}, {"seed", true}};
}

std::pair<int, int> seasons_of(const ParsedArgs& args, const grid::Series& series) {
  const int day = std::max(1, static_cast<int>(std::lround(86400 / series.step_s)));
  int m1 = day, m2 = 7 * day;
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
                                                           const LstmFactory& lstm,
                                                           std::vector<std::string>& skipped) {
  const auto [m1, m2] = seasons_of(args, series);
  std::vector<std::unique_ptr<grid::Forecaster>> models;
  for (auto& m : grid::baseline_models(m1, m2))
    if (which == "all" || m->name() == which ||
        (which == "seasonal-naive" && m->name().rfind("seasonal-naive", 0) == 0))
      models.push_back(std::move(m));
  if (which == "all" || which == "lstm") {
    if (!lstm) {
      if (which == "lstm")
        throw Error("cannot forecast (--model=lstm)", "this greenai was built without LibTorch",
                    "install libtorch-dev (scripts/setup) and build with GREENAI_WITH_TORCH=ON");
      skipped.push_back("lstm: this greenai was built without LibTorch");
    } else {
      grid::LstmOptions o;
      o.layers = static_cast<int>(integer(args, "lstm-layers", o.layers, 1));
      o.hidden = static_cast<int>(integer(args, "lstm-hidden", o.hidden, 1));
      o.window = static_cast<int>(integer(args, "lstm-window", o.window, 1));
      o.epochs = static_cast<int>(integer(args, "lstm-epochs", o.epochs, 1));
      o.seed = static_cast<uint64_t>(integer(args, "seed", 0, 0));
      o.horizon = horizon;
      o.start_unix_s = series.times.front();
      o.step_s = series.step_s;
      const std::string anchor = args.get("lstm-anchor").value_or("week");
      o.anchor_period = anchor == "week" ? m2 : anchor == "day" ? m1 : anchor == "none" ? 0 : -1;
      if (o.anchor_period < 0) throw UsageError("--lstm-anchor takes week, day or none");
      models.push_back(lstm(o));
    }
  }
  if (models.empty())
    throw Error("cannot forecast (--model=" + which + ")", "unknown model",
                "use naive, seasonal-naive, seasonal-naive-" + std::to_string(m1) +
                    ", holt-winters, lstm or all");
  return models;
}

}  // namespace greenai::cli
