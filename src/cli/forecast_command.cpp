// `greenai forecast`: forecast a series with the LSTM and the baselines, side by side (grid).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/grid_models.h"
#include "cli/help.h"
#include "greenai/carbon/intensity.h"
#include "greenai/error.h"
#include "greenai/grid/compare.h"
#include "greenai/grid/lstm.h"
#include "greenai/report/report.h"
#include "greenai/track/tracker.h"
#include "greenai/util/file.h"
#include "greenai/util/json.h"

namespace greenai::cli {
namespace {

// Where scripts/setup exports Taylor's (2003) half-hourly demand series from r-cran-forecast.
constexpr const char* kDefaultSeries = "/usr/local/share/greenai/taylor_demand_2000.csv";

}  // namespace

int forecast_main(int argc, char** argv, const LstmFactory& lstm) {
  std::vector<OptionSpec> options{{"model", true},  {"horizon", true}, {"test-size", true},
                                  {"stride", true}, {"out", true},     {"svg", true},
                                  {"json", false},  {"help", false}};
  for (auto& o : model_options()) options.push_back(o);
  ParsedArgs args = ArgParser("forecast", options).parse(argc, argv, 2);
  if (args.has("help")) return print_help({"forecast"});
  if (args.positionals.size() > 1) throw UsageError("expected one series FILE");
  std::string path = args.positionals.empty() ? kDefaultSeries : args.positionals[0];
  if (args.positionals.empty() && !std::filesystem::exists(path))
    throw Error("cannot forecast (FILE=" + path + ")", "no series given and no default series",
                "run scripts/setup (it exports Taylor's demand series there) or give a FILE");
  const grid::Series series = load_series_flags(path, args);
  const auto [m1, m2] = seasons_of(args, series);
  const int day = std::max(1, static_cast<int>(std::lround(86400 / series.step_s)));
  const int horizon = static_cast<int>(integer(args, "horizon", day, 1));
  const int test = static_cast<int>(integer(args, "test-size", 14 * day, 1));
  const int stride = static_cast<int>(integer(args, "stride", horizon, 1));
  if (static_cast<size_t>(test) >= series.values.size())
    throw Error("cannot forecast (--test-size=" + std::to_string(test) + ")",
                "the series has only " + std::to_string(series.values.size()) + " values");
  const size_t train_end = series.values.size() - static_cast<size_t>(test);
  const std::string which = args.get("model").value_or("all");
  std::vector<std::string> skipped;
  auto models = make_models(which, args, series, horizon, lstm, skipped);

  // With --model all, a model that cannot be fitted (too little history for its seasons) is
  // reported and skipped; asked for alone, its error stands.
  auto tracker = track::Tracker::for_this_process({.background_sampler = false});
  tracker->start();
  const auto metered = grid::compare_forecasters(
      models, series, train_end, horizon, stride,
      [&] {
        const track::StepEnergy e = tracker->step();
        return grid::StepCost{e.tree.total_j(), e.duration_s};
      },
      skipped);
  tracker->stop();
  const std::string provenance = tracker->info().provenance();
  if (auto out = args.get("out")) grid::write_forecasts_csv(*out, series, metered, horizon);
  const grid::Comparison comparison{&series,  train_end, horizon, stride,
                                    {m1, m2}, metered,   skipped, provenance};
  if (auto svg = args.get("svg")) {
    std::vector<report::Line> lines;
    for (auto& [label, y] : comparison.held_out_lines()) lines.push_back({label, y});
    util::write_file_atomic(
        *svg, report::standalone_svg(report::lines_svg(
                  lines, "held-out steps from " + carbon::format_timestamp(series.times[train_end]),
                  args.get("column").value_or("value"))));
  }
  std::cout << (args.has("json") ? comparison.to_json().dump(2) + "\n" : comparison.to_text());
  if (!args.has("json"))
    std::printf("\nenergy of fitting and forecasting each model: %s (%s)\n", provenance.c_str(),
                tracker->info().sources[0].detail.c_str());
  return 0;
}

}  // namespace greenai::cli
