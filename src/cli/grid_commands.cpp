// `greenai schedule`: when to run a job so that it emits the least (grid module).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "greenai/carbon/intensity.h"
#include "greenai/error.h"
#include "greenai/grid/forecast.h"
#include "greenai/grid/schedule.h"
#include "greenai/report/report.h"
#include "greenai/util/json.h"

namespace greenai::cli {
namespace {

using util::Json;

std::string iso_utc(double unix_s) {
  const auto t = static_cast<std::time_t>(unix_s);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return text;
}

// "300W", "1.5kW" or plain watts.
double parse_power(const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  const std::string unit = end ? std::string(end) : "";
  const double scale = unit.empty() || unit == "W" ? 1 : unit == "kW" ? 1000 : 0;
  if (end == text.c_str() || scale == 0 || !(value > 0) || !std::isfinite(value))
    throw Error("cannot read power (--power=" + text + ")", "not a positive power",
                "write it as 300W or 1.5kW");
  return value * scale;
}

const char* kScheduleHelp =
    "usage: greenai schedule --intensity-series FILE --duration D [--window W] [--now TIME]\n"
    "                        [--interruptible] [--power P] [--json]\n\n"
    "When to run a job of length D (90m, 3h, ...) within the window W after TIME (default 24h\n"
    "after now) so that it emits the least: the start whose run has the least mean carbon\n"
    "intensity (for --interruptible jobs, the cleanest stretches that add up to D), the mean\n"
    "against starting at once, and with --power the kg CO2eq of both. FILE is a series of\n"
    "`timestamp,g_per_kwh` (or an Electricity Maps CSV export), history to replay (give --now,\n"
    "ISO 8601 or Unix seconds) or a forecast; it must cover the window.\n";

}  // namespace

int schedule_command(int argc, char** argv) {
  ParsedArgs args = ArgParser("schedule", {{"intensity-series", true},
                                           {"duration", true},
                                           {"window", true},
                                           {"now", true},
                                           {"interruptible", false},
                                           {"power", true},
                                           {"json", false},
                                           {"help", false}})
                        .parse(argc, argv, 2);
  if (args.has("help")) {
    std::cout << kScheduleHelp;
    return 0;
  }
  auto path = args.get("intensity-series");
  if (!path) throw UsageError("missing --intensity-series FILE");
  auto duration_text = args.get("duration");
  if (!duration_text) throw UsageError("missing --duration (such as 3h)");
  grid::ScheduleRequest request;
  request.duration_s = grid::parse_duration(*duration_text, "--duration");
  request.window_s = grid::parse_duration(args.get("window").value_or("24h"), "--window");
  request.interruptible = args.has("interruptible");
  request.now = static_cast<double>(std::time(nullptr));
  if (auto now = args.get("now")) {
    auto t = carbon::parse_timestamp(*now);
    if (!t)
      throw Error("cannot read time (--now=" + *now + ")", "not a timestamp",
                  "use ISO 8601 (2022-07-01T06:00:00Z) or Unix seconds");
    request.now = *t;
  }
  const double watts = args.get("power") ? parse_power(*args.get("power")) : 0;  // 0: not given
  const carbon::IntensitySeries series = carbon::IntensitySeries::load(*path);
  const grid::Schedule s = grid::best_schedule(series, request);

  const double saving = s.now_mean_g_per_kwh > 0 ? 1 - s.mean_g_per_kwh / s.now_mean_g_per_kwh : 0;
  const double kwh = watts * request.duration_s / carbon::kJoulesPerKwh;
  Json runs = Json::array();
  for (const auto& [start, end] : s.runs)
    runs.push(Json::object().set("start", iso_utc(start)).set("end", iso_utc(end)));
  Json result = Json::object()
                    .set("series", *path)
                    .set("now", iso_utc(request.now))
                    .set("duration_s", request.duration_s)
                    .set("window_s", request.window_s)
                    .set("interruptible", request.interruptible)
                    .set("runs", runs)
                    .set("mean_g_per_kwh", s.mean_g_per_kwh)
                    .set("now_mean_g_per_kwh", s.now_mean_g_per_kwh)
                    .set("saving_fraction", saving);
  if (watts > 0)
    result.set("power_w", watts)
        .set("kg", carbon::emissions_kg(kwh, 1.0, s.mean_g_per_kwh))
        .set("now_kg", carbon::emissions_kg(kwh, 1.0, s.now_mean_g_per_kwh));
  if (args.has("json")) {
    std::cout << result.dump(2) << "\n";
    return 0;
  }
  if (request.interruptible) {
    std::printf("run in %zu stretch(es):\n", s.runs.size());
    for (const auto& [start, end] : s.runs)
      std::printf("  %s to %s\n", iso_utc(start).c_str(), iso_utc(end).c_str());
  } else {
    std::printf("best start: %s (%.1f h after %s), until %s\n", iso_utc(s.runs[0].first).c_str(),
                (s.runs[0].first - request.now) / 3600, iso_utc(request.now).c_str(),
                iso_utc(s.runs[0].second).c_str());
  }
  std::printf(
      "mean intensity %.1f g/kWh, against %.1f g/kWh starting at once: %.1f %% less carbon\n",
      s.mean_g_per_kwh, s.now_mean_g_per_kwh, 100 * saving);
  if (watts > 0)
    std::printf("at %.0f W: %.4g kg CO2eq instead of %.4g (%.4g kg avoided)\n", watts,
                result.at("kg").number(), result.at("now_kg").number(),
                result.at("now_kg").number() - result.at("kg").number());
  return 0;
}

}  // namespace greenai::cli

namespace greenai::cli {
namespace {

const char* kForecastHelp =
    "usage: greenai forecast FILE [--column NAME] [--model naive|seasonal-naive|holt-winters|all]\n"
    "                        [--horizon STEPS] [--test-size STEPS] [--stride STEPS]\n"
    "                        [--seasons M1,M2] [--out FORECASTS.csv] [--svg CHART.svg] [--json]\n\n"
    "Forecasts a regular series (CSV with a header: a timestamp, then the value, or the column\n"
    "named by --column) with the baselines: naive, seasonal naive over each season, and double\n"
    "seasonal Holt-Winters (Taylor, 2003) fitted on the training part. Evaluates them with a\n"
    "rolling origin over the last --test-size steps (default two weeks): a forecast of --horizon\n"
    "steps (default one day) from every --stride steps (default the horizon); MAPE, MAE and RMSE\n"
    "per horizon step and overall. Seasons default to a day and a week of the series' steps.\n"
    "--out writes every forecast beside the actual values; --svg draws the held-out tail and\n"
    "each model's forecasts (the latest origin's at each step).\n";

}  // namespace

int forecast_command(int argc, char** argv) {
  ParsedArgs args = ArgParser("forecast", {{"column", true},
                                           {"model", true},
                                           {"horizon", true},
                                           {"test-size", true},
                                           {"stride", true},
                                           {"seasons", true},
                                           {"out", true},
                                           {"svg", true},
                                           {"json", false},
                                           {"help", false}})
                        .parse(argc, argv, 2);
  if (args.has("help")) {
    std::cout << kForecastHelp;
    return 0;
  }
  if (args.positionals.size() != 1) throw UsageError("expected one series FILE");
  const grid::Series series =
      grid::load_series(args.positionals[0], args.get("column").value_or(""));
  auto whole = [&](const char* name, double fallback) {
    const double v = args.number(name, fallback);
    if (v != std::floor(v) || v < 1)
      throw UsageError(std::string("--") + name + " must be a positive integer");
    return static_cast<int>(v);
  };
  const int day = std::max(1, static_cast<int>(std::lround(86400 / series.step_s)));
  int m1 = day, m2 = 7 * day;
  if (auto seasons = args.get("seasons")) {
    if (std::sscanf(seasons->c_str(), "%d,%d", &m1, &m2) != 2 || m1 < 2 || m2 <= m1)
      throw UsageError("--seasons takes two periods in steps, shorter first, such as 48,336");
  }
  const int horizon = whole("horizon", day);
  const int test = whole("test-size", 14.0 * day);
  const int stride = whole("stride", horizon);
  if (static_cast<size_t>(test) >= series.values.size())
    throw Error("cannot forecast (--test-size=" + std::to_string(test) + ")",
                "the series has only " + std::to_string(series.values.size()) + " values");
  const size_t train_end = series.values.size() - static_cast<size_t>(test);
  const std::string which = args.get("model").value_or("all");
  std::vector<std::unique_ptr<grid::Forecaster>> models;
  for (auto& m : grid::baseline_models(m1, m2))
    if (which == "all" || m->name() == which ||
        (which == "seasonal-naive" && m->name().rfind("seasonal-naive", 0) == 0))
      models.push_back(std::move(m));
  if (models.empty())
    throw Error("cannot forecast (--model=" + which + ")", "unknown model",
                "use naive, seasonal-naive, holt-winters or all");
  // With --model all, a model that cannot be fitted (too little history for its seasons) is
  // reported and skipped; asked for alone, its error stands.
  std::vector<grid::Evaluation> results;
  std::vector<std::string> skipped;
  for (auto& m : models) {
    try {
      results.push_back(grid::evaluate(*m, series.values, train_end, horizon, stride));
    } catch (const Error& e) {
      if (models.size() == 1) throw;
      skipped.push_back(m->name() + ": " + e.what());
    }
  }
  if (results.empty()) throw Error("cannot forecast", skipped.front());

  if (auto out = args.get("out")) {
    std::ofstream f(*out);
    f << "origin,step,timestamp,actual";
    for (const auto& r : results) f << "," << r.model;
    f << "\n";
    for (size_t k = 0; k < results[0].origins; ++k)
      for (int j = 0; j < horizon; ++j) {
        const size_t i = results[0].origin_index[k] + static_cast<size_t>(j);
        f << iso_utc(series.times[results[0].origin_index[k]]) << "," << j + 1 << ","
          << iso_utc(series.times[i]) << "," << series.values[i];
        for (const auto& r : results) f << "," << r.forecasts[k][static_cast<size_t>(j)];
        f << "\n";
      }
    if (!f) throw Error("cannot write forecasts (path=" + *out + ")", "write failed");
  }
  if (auto svg = args.get("svg")) {
    const size_t tail = series.values.size() - train_end;
    std::vector<report::Line> lines{{"actual", {}}};
    lines[0].y.assign(series.values.begin() + static_cast<long>(train_end), series.values.end());
    for (const auto& r : results) {
      report::Line line{r.model, std::vector<double>(tail, std::nan(""))};
      for (size_t k = 0; k < r.origins; ++k)
        for (size_t j = 0; j < r.forecasts[k].size(); ++j)
          line.y[r.origin_index[k] - train_end + j] = r.forecasts[k][j];
      lines.push_back(std::move(line));
    }
    std::ofstream f(*svg);
    f << report::lines_svg(lines, "held-out steps from " + iso_utc(series.times[train_end]),
                           args.get("column").value_or("value"));
    if (!f) throw Error("cannot write chart (path=" + *svg + ")", "write failed");
  }
  Json rows = Json::array();
  for (const auto& r : results) {
    Json per_step = Json::array();
    for (size_t j = 0; j < r.mape.size(); ++j)
      per_step.push(Json::object()
                        .set("step", static_cast<double>(j + 1))
                        .set("mape", r.mape[j])
                        .set("mae", r.mae[j])
                        .set("rmse", r.rmse[j]));
    rows.push(Json::object()
                  .set("model", r.model)
                  .set("mape", r.mape_all)
                  .set("mae", r.mae_all)
                  .set("rmse", r.rmse_all)
                  .set("origins", static_cast<double>(r.origins))
                  .set("per_step", per_step));
  }
  if (args.has("json")) {
    std::cout << Json::object()
                     .set("series", series.origin)
                     .set("values", static_cast<double>(series.values.size()))
                     .set("step_s", series.step_s)
                     .set("train", static_cast<double>(train_end))
                     .set("horizon", horizon)
                     .set("seasons", Json::array().push(m1).push(m2))
                     .set("models", rows)
                     .set("skipped",
                          [&] {
                            Json list = Json::array();
                            for (const auto& why : skipped) list.push(why);
                            return list;
                          }())
                     .dump(2)
              << "\n";
    return 0;
  }
  std::printf(
      "%s: %zu values every %.0f s; trained on %zu, %zu origins every %d steps, "
      "horizon %d\n\n%-20s %8s %12s %12s %10s %10s %10s\n",
      series.origin.c_str(), series.values.size(), series.step_s, train_end, results[0].origins,
      stride, horizon, "model", "MAPE %", "MAE", "RMSE", "step 1", "step h/2", "step h");
  for (const std::string& why : skipped) std::printf("skipped %s\n", why.c_str());
  for (const auto& r : results)
    std::printf("%-20s %8.2f %12.4g %12.4g %9.2f%% %9.2f%% %9.2f%%\n", r.model.c_str(), r.mape_all,
                r.mae_all, r.rmse_all, r.mape[0], r.mape[r.mape.size() / 2], r.mape.back());
  return 0;
}

}  // namespace greenai::cli
