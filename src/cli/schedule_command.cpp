// `greenai schedule`: when to run a job so that it emits the least (grid module), on a series
// of intensities, on a forecast made from their history, or replayed over history to measure
// what scheduling saves.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/help.h"
#include "cli/grid_models.h"
#include "cli/progress.h"
#include "greenai/carbon/intensity.h"
#include "greenai/error.h"
#include "greenai/grid/forecast.h"
#include "greenai/grid/forecast_schedule.h"
#include "greenai/grid/replay.h"
#include "greenai/grid/replay_plan.h"
#include "greenai/grid/schedule.h"
#include "greenai/track/tracker.h"
#include "greenai/util/json.h"

namespace greenai::cli {
namespace {

using util::Json;

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


double time_flag(const ParsedArgs& args) {
  if (auto now = args.get("now")) {
    auto t = carbon::parse_timestamp(*now);
    if (!t)
      throw Error("cannot read time (--now=" + *now + ")", "not a timestamp",
                  "use ISO 8601 (2022-07-01T06:00:00Z) or Unix seconds");
    return *t;
  }
  return static_cast<double>(std::time(nullptr));
}

grid::ReplayPlan plan_replay(const ParsedArgs& args) {
  grid::ReplayRequest r;
  r.window_s = grid::parse_duration(args.get("window").value_or("24h"), "--window");
  if (auto durations = args.get("durations")) {
    r.durations_s.clear();
    for (const std::string& one : split_list(*durations))
      r.durations_s.push_back(grid::parse_duration(one, "--durations"));
  }
  r.warm_up_s = grid::parse_duration(args.get("warm-up").value_or("56d"), "--warm-up");
  r.refit_every_s = grid::parse_duration(args.get("refit-every").value_or("28d"), "--refit-every");
  return grid::plan_replay(load_series_flags(*args.get("intensity-series"), args), r);
}

void print_replay(const grid::ReplayPlan& p, const grid::Replay& perfect,
                  const std::vector<grid::ForecasterReplay>& results,
                  const std::vector<std::string>& skipped, const std::string& energy_source) {
  const grid::Series& series = p.series;
  std::printf(
      "%s: %zu arrivals, one every %.0f s from %s to %s;\n"
      "at each, a job of each of %zu lengths that must finish within %.0f h;\n"
      "forecasters refitted every %zu steps on all earlier values\n",
      series.origin.c_str(), p.arrivals.size(), series.step_s,
      carbon::format_timestamp(series.times[p.arrivals.front()]).c_str(),
      carbon::format_timestamp(series.times[p.arrivals.back()]).c_str(),
      p.options.durations_steps.size(), p.window_s / 3600, p.refit_steps);
  if (!series.filled.empty())
    std::printf(
        "%zu missing values filled by linear interpolation (first at %s) for the forecasters;\n"
        "%zu arrivals whose window holds one are not scored\n",
        series.filled.size(), carbon::format_timestamp(series.times[series.filled[0]]).c_str(),
        p.unscored);
  for (const std::string& why : skipped) std::printf("skipped %s\n", why.c_str());
  std::printf("\nperfect foresight saves %.1f %% of the carbon of running at once\n\n",
              100 * perfect.all.perfect_saving());
  std::printf("%-20s %12s %12s %10s", "forecaster", "window MAPE", "saving %", "captured");
  for (int d : p.options.durations_steps) std::printf(" %6.0fh", d * series.step_s / 3600);
  std::printf(" %10s\n", "energy J");
  for (const auto& r : results) {
    std::printf("%-20s %11.2f%% %11.1f%% %9.1f%%", r.model.c_str(), r.window_mape,
                100 * r.replay.all.forecast_saving(), 100 * r.replay.all.captured());
    for (const auto& row : r.replay.rows) std::printf(" %6.1f%%", 100 * row.captured());
    std::printf(" %10.1f\n", r.energy_j);
  }
  std::printf("%-20s %12s %11.1f%% %9.1f%%", "perfect foresight", "",
              100 * perfect.all.perfect_saving(), 100.0);
  for (const auto& row : perfect.rows) std::printf(" %6.1f%%", 100 * row.perfect_saving());
  std::printf(
      "\n\n(per-length columns: share of the perfect saving captured; for perfect\n"
      "foresight, its saving). Energy of fitting and forecasting: %s.\n",
      energy_source.c_str());
}

int replay_main(const ParsedArgs& args, const LstmFactory& lstm) {
  const grid::ReplayPlan plan = plan_replay(args);
  std::vector<std::string> skipped;
  auto models = make_models(args.get("forecaster").value_or("all"), args, plan.series,
                            plan.options.window_steps, lstm, skipped);
  const grid::Replay perfect =
      grid::replay_schedules(plan.series.values, plan.arrivals, nullptr, plan.options);
  auto tracker = track::Tracker::for_this_process({.background_sampler = false});
  tracker->start();
  ProgressLine progress(progress_mode(args.has("quiet")));
  const auto results = grid::replay_forecasters(
      plan, models,
      [&] {
        const track::StepEnergy e = tracker->step();
        return grid::StepCost{e.tree.total_j(), e.duration_s};
      },
      skipped,
      [&](const std::string& model, size_t done, size_t total) {
        char text[160];
        std::snprintf(text, sizeof text, "replay: %s, %zu of %zu arrivals forecast", model.c_str(),
                      done, total);
        progress.show(text, done == total);
      });
  progress.clear();
  tracker->stop();
  const std::string provenance = tracker->info().provenance();
  if (args.has("json")) {
    std::cout << grid::replay_to_json(plan, perfect, results, skipped, provenance).dump(2) << "\n";
    return 0;
  }
  print_replay(plan, perfect, results, skipped,
               provenance + " (" + tracker->info().sources[0].detail + ")");
  return 0;
}

void print_schedule(const grid::JobSchedule& j) {
  const grid::Schedule& s = j.schedule;
  const double now = j.request.now;
  if (!j.forecaster.empty())
    std::printf("on the %s forecast of %s from %s:\n", j.forecaster.c_str(), j.series.c_str(),
                carbon::format_timestamp(now).c_str());
  if (j.request.interruptible) {
    std::printf("run in %zu stretch(es):\n", s.runs.size());
    for (const auto& [start, end] : s.runs)
      std::printf("  %s to %s\n", carbon::format_timestamp(start).c_str(),
                  carbon::format_timestamp(end).c_str());
  } else {
    std::printf("best start: %s (%.1f h after %s), until %s\n",
                carbon::format_timestamp(s.runs[0].first).c_str(), (s.runs[0].first - now) / 3600,
                carbon::format_timestamp(now).c_str(),
                carbon::format_timestamp(s.runs[0].second).c_str());
  }
  std::printf(
      "%smean intensity %.1f g/kWh, against %.1f g/kWh starting at once: %.1f %% less carbon\n",
      j.forecaster.empty() ? "" : "forecast ", s.mean_g_per_kwh, s.now_mean_g_per_kwh,
      100 * j.saving());
  if (j.power_w > 0) {
    const double kg = j.kg(s.mean_g_per_kwh), now_kg = j.kg(s.now_mean_g_per_kwh);
    std::printf("at %.0f W: %.4g kg CO2eq instead of %.4g (%.4g kg avoided)\n", j.power_w, kg,
                now_kg, now_kg - kg);
  }
  if (j.actual)
    std::printf(
        "actually: %.1f g/kWh at the chosen time, %.1f starting at once, %.1f with perfect "
        "foresight (from %s)\n",
        j.actual->mean_g_per_kwh, j.actual->perfect.now_mean_g_per_kwh,
        j.actual->perfect.mean_g_per_kwh,
        carbon::format_timestamp(j.actual->perfect.runs[0].first).c_str());
}

// The best time for one job, on a series or on a forecaster's forecast of a history; with the
// actual outcome where the history covers the window.
int schedule_once(const ParsedArgs& args, const std::string& path, const LstmFactory& lstm) {
  auto duration_text = args.get("duration");
  if (!duration_text) throw UsageError("missing --duration (such as 3h)");
  grid::ScheduleRequest request;
  request.duration_s = grid::parse_duration(*duration_text, "--duration");
  request.window_s = grid::parse_duration(args.get("window").value_or("24h"), "--window");
  request.interruptible = args.has("interruptible");
  request.now = time_flag(args);
  const double watts = args.get("power") ? parse_power(*args.get("power")) : 0;  // 0: not given
  grid::JobSchedule job;
  if (auto name = args.get("forecaster")) {
    const grid::Series past = load_series_flags(path, args);
    const int horizon = grid::forecast_origin(past, request.now, request.window_s).horizon;
    std::vector<std::string> skipped;
    auto models = make_models(*name, args, past, horizon, lstm, skipped);
    if (models.size() != 1)
      throw UsageError(
          "--forecaster takes one model: naive, seasonal-naive-M, holt-winters or lstm");
    job = grid::schedule_on_forecast(path, past, *models[0], request, watts);
  } else {
    job = grid::schedule_on_series(path, carbon::IntensitySeries::load(path), request, watts);
  }
  if (args.has("json"))
    std::cout << job.to_json().dump(2) << "\n";
  else
    print_schedule(job);
  return 0;
}

}  // namespace

int schedule_main(int argc, char** argv, const LstmFactory& lstm) {
  std::vector<OptionSpec> options{
      {"intensity-series", true}, {"duration", true}, {"window", true},      {"now", true},
      {"interruptible", false},   {"power", true},    {"forecaster", true},  {"replay", false},
      {"durations", true},        {"warm-up", true},  {"refit-every", true}, {"json", false},
      {"quiet", false},           {"help", false}};
  for (auto& o : model_options()) options.push_back(o);
  ParsedArgs args = ArgParser("schedule", options).parse(argc, argv, 2);
  if (args.has("help")) return print_help({"schedule"});
  auto path = args.get("intensity-series");
  if (!path) throw UsageError("missing --intensity-series FILE");
  // Flags of one mode given to another are refused rather than ignored.
  const bool replay = args.has("replay"), reads_history = replay || args.has("forecaster");
  auto refuse = [&](const std::vector<std::string>& names, const std::string& why) {
    for (const auto& name : names)
      if (args.has(name)) throw UsageError("--" + name + " " + why);
  };
  if (!replay) refuse({"durations", "warm-up", "refit-every"}, "needs --replay");
  if (replay) refuse({"duration", "now", "interruptible", "power"}, "is not for --replay");
  if (!reads_history) {
    std::vector<std::string> history_flags;
    for (const auto& spec : model_options()) history_flags.push_back(spec.name);
    refuse(history_flags, "reads a history: give --forecaster or --replay");
  }
  if (replay) return replay_main(args, lstm);
  return schedule_once(args, *path, lstm);
}

}  // namespace greenai::cli
