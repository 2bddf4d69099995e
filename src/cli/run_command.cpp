// `greenai run`: start a command, track its whole process tree, write records as they are taken.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <optional>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/tracking_flags.h"
#include "greenai/carbon/intensity.h"
#include "greenai/grid/schedule.h"
#include "greenai/meter/system.h"

extern char** environ;

namespace greenai::cli {
namespace {

constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

volatile sig_atomic_t g_child_pid = 0;
int g_wake_pipe[2] = {-1, -1};

void on_forwarded_signal(int signal, siginfo_t* info, void*) {
  // A terminal's Ctrl-C (SI_KERNEL) already reached the child, which shares our process group;
  // a signal sent to greenai alone (kill, timeout, a scheduler) is passed on.
  if (info->si_code != SI_KERNEL && g_child_pid > 0) ::kill(g_child_pid, signal);
}

void on_child(int) {
  int saved = errno;
  char byte = 0;
  [[maybe_unused]] ssize_t n = ::write(g_wake_pipe[1], &byte, 1);
  errno = saved;
}

// Finds the program as execvp would; returns 0, or the errno that makes it unrunnable.
int resolve_program(const std::string& program) {
  auto runnable = [](const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return ENOENT;
    if (S_ISDIR(st.st_mode) || ::access(path.c_str(), X_OK) != 0) return EACCES;
    return 0;
  };
  if (program.find('/') != std::string::npos) return runnable(program);
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  int best = ENOENT;
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    int rc = runnable((dir.empty() ? "." : dir) + "/" + program);
    if (rc == 0) return 0;
    if (rc == EACCES) best = EACCES;
    start = end + 1;
  }
  return best;
}

const char* kRunHelp =
    "usage: greenai run [OPTIONS] [--] [CMD ARGS...]\n"
    "\n"
    "Runs CMD, tracks the energy and carbon of its whole process tree (every descendant, short-\n"
    "lived ones included), and prints a summary on stderr. Without CMD, runs a small built-in\n"
    "CPU-bound workload (`greenai workload`). SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and\n"
    "SIGUSR2 sent to greenai are forwarded to CMD.\n"
    "\n"
    "With --when-green --duration D [--window W], waits for the start within W (default 8h)\n"
    "whose D-long run has the least mean intensity in --intensity-series FILE (a forecast),\n"
    "then runs CMD, and reports the carbon that waiting avoided.\n"
    "\n"
    "Exit status: CMD's own; 128+N if CMD was killed by signal N; 2 for bad usage or input\n"
    "(nothing is started and nothing written); 126 if CMD cannot be executed, 127 if not found.\n"
    "\n";

// --when-green: the start within --window with the least mean intensity over --duration.
struct WhenGreen {
  carbon::IntensitySeries series;
  grid::Schedule schedule;
  double asked;  // when the run was asked for
};

double now_unix_s() {
  timespec t{};
  ::clock_gettime(CLOCK_REALTIME, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

WhenGreen plan_when_green(const ParsedArgs& args) {
  auto path = args.get("intensity-series");
  if (!path)
    throw UsageError(
        "--when-green needs --intensity-series FILE (a forecast of the grid's intensity)");
  auto duration = args.get("duration");
  if (!duration) throw UsageError("--when-green needs --duration, the job's expected length (3h)");
  grid::ScheduleRequest request;
  request.now = now_unix_s();
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

// Sleeps until the Unix time `t` (a signal's default action still ends the wait).
void wait_until(double t) {
  for (double left = t - now_unix_s(); left > 0; left = t - now_unix_s()) {
    timespec pause{static_cast<time_t>(left), static_cast<long>((left - std::floor(left)) * 1e9)};
    ::nanosleep(&pause, nullptr);
  }
}

}  // namespace

int run_command(int argc, char** argv) {
  auto specs = tracking_option_specs();
  for (auto spec : std::vector<OptionSpec>{
           {"help", false}, {"when-green", false}, {"window", true}, {"duration", true}})
    specs.push_back(spec);
  ParsedArgs args = ArgParser("run", specs).parse(argc, argv, 2, /*stop_at_positional=*/true);
  if (args.has("help")) {
    std::cout << kRunHelp << kTrackingHelp;
    return 0;
  }
  // Everything is validated before the command starts or a file is touched.
  track::TrackerOptions options = tracker_options(args);
  meter::SensorOptions sensors = sensor_options(args);
  std::optional<WhenGreen> green;
  if (args.has("when-green")) green = plan_when_green(args);
  std::vector<std::string> command = args.rest;
  if (command.empty()) command = {"/proc/self/exe", "workload", "--seconds", "2"};
  if (command[0] == "/proc/self/exe") {
    char self[4096];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) command[0].assign(self, static_cast<size_t>(n));
  }
  if (int rc = resolve_program(command[0]); rc != 0) {
    std::cerr << "greenai: cannot run '" << command[0]
              << "': " << (rc == ENOENT ? "command not found" : "permission denied") << "\n";
    return rc == ENOENT ? 127 : 126;
  }
  auto usage = std::make_unique<meter::DescendantsUsage>(::getpid());
  meter::DescendantsUsage* tree = usage.get();
  track::Tracker tracker(meter::open_sensors(sensors), std::move(usage), options);
  for (auto& sink : open_sinks(args)) tracker.add_sink(sink);
  // Orphaned grandchildren are re-parented to us, so their CPU time stays in the tree.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);

  if (::pipe2(g_wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    std::perror("greenai: pipe");
    return 1;
  }
  struct sigaction child_action {};
  child_action.sa_handler = on_child;
  child_action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  ::sigaction(SIGCHLD, &child_action, nullptr);
  struct sigaction forward_action {};
  forward_action.sa_sigaction = on_forwarded_signal;
  forward_action.sa_flags = SA_RESTART | SA_SIGINFO;
  for (int s : kForwardedSignals) ::sigaction(s, &forward_action, nullptr);

  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults, empty;
  sigemptyset(&defaults);
  sigemptyset(&empty);
  for (int s : kForwardedSignals) sigaddset(&defaults, s);
  sigaddset(&defaults, SIGCHLD);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setsigmask(&attributes, &empty);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> child_argv;
  for (std::string& a : command) child_argv.push_back(a.data());
  child_argv.push_back(nullptr);

  if (green) wait_until(green->schedule.runs[0].first);
  const double started = now_unix_s();
  tracker.start();
  pid_t child = 0;
  int spawn_rc =
      ::posix_spawnp(&child, command[0].c_str(), nullptr, &attributes, child_argv.data(), environ);
  posix_spawnattr_destroy(&attributes);
  if (spawn_rc != 0) {
    tracker.stop();
    std::cerr << "greenai: cannot run '" << command[0] << "': " << std::strerror(spawn_rc) << "\n";
    return spawn_rc == ENOENT ? 127 : 126;
  }
  g_child_pid = child;

  int exit_code = 0;
  bool child_done = false;
  while (!child_done) {
    for (;;) {
      int status = 0;
      struct rusage child_usage {};
      pid_t pid = ::wait4(-1, &status, WNOHANG, &child_usage);
      if (pid <= 0) break;
      tree->add_reaped(child_usage);
      if (pid == child) {
        child_done = true;
        exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
      }
    }
    if (child_done) break;
    pollfd wake{g_wake_pipe[0], POLLIN, 0};
    if (::poll(&wake, 1, -1) > 0) {
      char drain[64];
      while (::read(g_wake_pipe[0], drain, sizeof drain) > 0) {
      }
    }
  }
  g_child_pid = 0;
  track::Record total = tracker.stop();
  std::cerr << track::format_summary(tracker.info(), total, tracker.phases());
  if (green) {
    // What waiting saved: this run's energy at the intensity it met, against the same energy
    // over the same length of time from when it was asked for.
    const double ended = now_unix_s(), length = std::max(ended - started, 1e-3);
    const double met = green->series.average_over(started, ended);
    const double asked = green->series.average_over(green->asked, green->asked + length);
    const double kwh = total.tree.total_j() / carbon::kJoulesPerKwh;
    std::fprintf(stderr,
                 "  when green: ran at %.1f g/kWh against %.1f g/kWh had it started when asked: "
                 "%.3g kg CO2eq avoided (from the series)\n",
                 met, asked, carbon::emissions_kg(kwh, options.pue, asked - met));
  }
  return exit_code;
}

}  // namespace greenai::cli
