// `greenai schedule`: when to run a job so that it emits the least (grid module), on a series
// of intensities, on a forecast made from their history, or replayed over history to measure
// what scheduling saves.
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/grid_models.h"
#include "cli/help.h"
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

double time_flag(const ParsedArgs& args) {
  if (auto now = args.get("now")) {
    auto t = carbon::parse_timestamp(*now);
    if (!t)
      throw Error("cannot read time (--now=" + *now + ")", "not a timestamp",
                  "use ISO 8601 (2022-07-01T06:00:00Z) or Unix seconds");
    return *t;
  }
  return carbon::now_unix_s();
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
  std::cout << grid::replay_to_text(plan, perfect, results, skipped,
                                    provenance + " (" + tracker->info().sources[0].detail + ")");
  return 0;
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
  const double watts =
      args.get("power") ? grid::parse_power(*args.get("power")) : 0;  // 0: not given
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
  std::cout << (args.has("json") ? job.to_json().dump(2) + "\n" : job.to_text());
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
