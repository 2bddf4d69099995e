// `greenai run`: start a command, track its whole process tree, write records as they are taken.
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <optional>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "cli/tracking_flags.h"
#include "greenai/carbon/intensity.h"
#include "greenai/error.h"
#include "greenai/grid/schedule.h"
#include "greenai/track/process.h"

namespace greenai::cli {
namespace {

const std::vector<int> kForwardedSignals{SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

// --when-green: the start within --window with the least mean intensity over --duration.
struct WhenGreen {
  carbon::IntensitySeries series;
  grid::Schedule schedule;
  double asked;  // when the run was asked for
};

WhenGreen plan_when_green(const ParsedArgs& args) {
  auto path = args.get("intensity-series");
  if (!path)
    throw UsageError(
        "--when-green needs --intensity-series FILE (a forecast of the grid's intensity)");
  auto duration = args.get("duration");
  if (!duration) throw UsageError("--when-green needs --duration, the job's expected length (3h)");
  grid::ScheduleRequest request;
  request.now = carbon::now_unix_s();
  request.duration_s = grid::parse_duration(*duration, "--duration");
  request.window_s = grid::parse_duration(args.get("window").value_or("8h"), "--window");
  WhenGreen green{carbon::IntensitySeries::load(*path), {}, request.now};
  green.schedule = grid::best_schedule(green.series, request);
  const double wait = green.schedule.runs[0].first - request.now;
  if (wait < 1)
    std::fprintf(stderr,
                 "greenai: when green: starting now, the cleanest start within %s (%.1f g/kWh over "
                 "%s)\n",
                 args.get("window").value_or("8h").c_str(), green.schedule.mean_g_per_kwh,
                 duration->c_str());
  else
    std::fprintf(stderr,
                 "greenai: when green: waiting %.2f h, for %.1f g/kWh over %s against %.1f g/kWh "
                 "at once\n",
                 wait / 3600, green.schedule.mean_g_per_kwh, duration->c_str(),
                 green.schedule.now_mean_g_per_kwh);
  return green;
}

}  // namespace

int run_command(int argc, char** argv) {
  auto specs = tracking_option_specs();
  for (auto spec : std::vector<OptionSpec>{
           {"help", false}, {"when-green", false}, {"window", true}, {"duration", true}})
    specs.push_back(spec);
  ParsedArgs args = ArgParser("run", specs).parse(argc, argv, 2, /*stop_at_positional=*/true);
  if (args.has("help")) return print_help({"run", "tracking"});
  // Everything is validated before the command starts or a file is touched.
  track::TrackerOptions options = tracker_options(args);
  sensor_options(args);  // validated here; the tracker reads them again below
  std::optional<WhenGreen> green;
  if (args.has("when-green")) green = plan_when_green(args);
  std::vector<std::string> command = args.rest;
  if (command.empty()) command = {track::self_executable(), "workload", "--seconds", "2"};
  if (int rc = track::resolve_program(command[0]); rc != 0) {
    std::cerr << "greenai: cannot run '" << command[0]
              << "': " << (rc == ENOENT ? "command not found" : "permission denied") << "\n";
    return rc == ENOENT ? 127 : 126;
  }
  auto [tracker, tree] = tracker_for_descendants(args, options);

  if (green) grid::sleep_until(green->schedule.runs[0].first);
  // From here on, the signals sent to greenai are passed on to the command.
  track::Supervisor supervisor(*tree, kForwardedSignals);
  const double started = carbon::now_unix_s();
  tracker->start();
  int exit_code = 0;
  try {
    exit_code = supervisor.run(command);
  } catch (const greenai::Error& e) {
    tracker->stop();
    std::cerr << "greenai: " << e.what() << "\n";
    return 126;
  }
  track::Record total = tracker->stop();
  std::cerr << track::format_summary(tracker->info(), total, tracker->phases());
  if (green) {
    const grid::WaitOutcome w =
        grid::waiting_outcome(green->series, green->asked, started, carbon::now_unix_s());
    std::fprintf(stderr,
                 "  when green: ran at %.1f g/kWh against %.1f g/kWh had it started when asked: "
                 "%.3g kg CO2eq avoided (from the series)\n",
                 w.met_g_per_kwh, w.asked_g_per_kwh,
                 w.avoided_kg(total.tree.total_j() / carbon::kJoulesPerKwh, options.pue));
  }
  return exit_code;
}

}  // namespace greenai::cli
