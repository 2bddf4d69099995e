// Running a command with one knob profiled just in time (command_tuner.h).
#include "greenai/tune/command_tuner.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "greenai/error.h"
#include "greenai/track/process.h"
#include "greenai/util/file.h"
#include "greenai/util/text.h"

namespace greenai::tune {
namespace {

using util::Json;

// SIGINT and SIGTERM go to the command, as `greenai run` passes them on; knobs are put back once
// it has ended.
const std::vector<int> kForwardedSignals = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// FNV-1a, 64 bits: a stable key for a file name (not a security hash).
uint64_t fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::unique_ptr<Knob> make_knob(const CommandTuneRequest& r, KnobRestorer& restorer,
                                StepChannel& channel) {
  if (r.knob == "power-cap") return std::make_unique<PowerCapKnob>(r.powercap_root, restorer);
  if (r.knob == "cpu-freq") return std::make_unique<CpuFreqKnob>(r.cpu_root, restorer);
  if (r.knob == "threads") return std::make_unique<ThreadsKnob>(channel, r.logical_cpus);
  if (r.knob == "gpu-power-limit")
    return std::make_unique<GpuPowerLimitKnob>(r.nvml_library, restorer);
  throw Error("cannot tune (knob=" + r.knob + ")", "no such knob",
              "use power-cap, cpu-freq, gpu-power-limit or threads");
}

std::optional<double> read_cache(const std::string& path) {
  if (path.empty() || !std::filesystem::exists(path)) return std::nullopt;
  try {
    const Json j = Json::parse(util::read_file(path));
    if (const Json* v = j.find("chosen"); v && v->type() == Json::Type::kNumber) return v->number();
  } catch (const Error&) {
    // A damaged cache is profiled again (and rewritten), never trusted.
  }
  return std::nullopt;
}

}  // namespace

StepChannel::StepChannel() {
  int steps[2], advice[2];
  if (::pipe(steps) != 0) throw Error("cannot tune", std::string("pipe: ") + std::strerror(errno));
  if (::pipe(advice) != 0) {
    ::close(steps[0]);
    ::close(steps[1]);
    throw Error("cannot tune", std::string("pipe: ") + std::strerror(errno));
  }
  step_read_ = steps[0];
  step_write_ = steps[1];
  advice_read_ = advice[0];
  advice_write_ = advice[1];
  // Our ends stay here; the command's ends are inherited (no close-on-exec).
  ::fcntl(step_read_, F_SETFD, FD_CLOEXEC);
  ::fcntl(advice_write_, F_SETFD, FD_CLOEXEC);
  // Advice never blocks us: a command that does not read it cannot stall the tuner.
  ::fcntl(advice_write_, F_SETFL, ::fcntl(advice_write_, F_GETFL) | O_NONBLOCK);
}

StepChannel::~StepChannel() {
  for (int fd : {step_read_, step_write_, advice_read_, advice_write_})
    if (fd >= 0) ::close(fd);
}

std::string StepChannel::environment_value() const {
  return std::to_string(step_write_) + "," + std::to_string(advice_read_);
}

void StepChannel::close_command_ends() {
  for (int* fd : {&step_write_, &advice_read_})
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
}

int StepChannel::wait_steps(double timeout_s) {
  pollfd p{step_read_, POLLIN, 0};
  const int ready = ::poll(&p, 1, static_cast<int>(timeout_s * 1000));
  if (ready <= 0) return 0;
  char buffer[512];
  const ssize_t n = ::read(step_read_, buffer, sizeof buffer);
  if (n == 0) return -1;
  return n < 0 ? 0 : static_cast<int>(n);
}

void StepChannel::advise_threads(int threads) {
  // A full pipe (a command that never reads) drops the advice; the command keeps its threads. A
  // command that has already ended closed the other end: the write fails with EPIPE, and the
  // SIGPIPE it raises is blocked for this thread and taken back here, so it cannot kill us.
  sigset_t pipe_signal, before;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &before);
  const ssize_t n = ::write(advice_write_, &threads, sizeof threads);
  if (n < 0 && errno == EPIPE) {
    const timespec now{0, 0};
    sigtimedwait(&pipe_signal, nullptr, &now);
  }
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

ThreadsKnob::ThreadsKnob(StepChannel& channel, int logical_cpus)
    : channel_(channel), cpus_(std::max(1, logical_cpus)) {}

std::string ThreadsKnob::read() const {
  return current_ ? std::to_string(current_) + " threads" : "the command's own";
}

void ThreadsKnob::set(double threads) {
  if (!(threads >= 1 && threads <= 4096) || threads != std::floor(threads))
    throw Error("cannot set the thread count (threads=" + std::to_string(threads) + ")",
                "give a whole number from 1 to 4096");
  current_ = static_cast<int>(threads);
  channel_.advise_threads(current_);
}

std::vector<double> ThreadsKnob::profile_values() const {
  std::vector<double> values;
  for (int quarters = 4; quarters >= 1; --quarters) {
    const int t = std::max(1, cpus_ * quarters / 4);
    if (values.empty() || values.back() != t) values.push_back(t);
  }
  if (values.back() != 1) values.push_back(1);
  return values;
}

std::string cache_file(const CommandTuneRequest& request, const std::vector<double>& values) {
  if (request.cache_dir.empty()) return "";
  std::string key = request.knob + "\n" + request.cpu_identity + "\n";
  for (const std::string& a : request.argv) key += a + '\0';
  for (double v : values) key += std::to_string(v) + ",";
  char name[64];
  std::snprintf(name, sizeof name, "%s-%016llx.json", request.knob.c_str(),
                static_cast<unsigned long long>(fnv1a(key)));
  return (std::filesystem::path(request.cache_dir) / name).string();
}

CommandTuneResult tune_command(const CommandTuneRequest& request, track::Tracker& tracker,
                               meter::DescendantsUsage& tree) {
  if (request.argv.empty()) throw Error("cannot tune", "no command given");
  if (int rc = track::resolve_program(request.argv[0]); rc != 0)
    throw Error("cannot tune (command=" + request.argv[0] + ")",
                rc == ENOENT ? "command not found" : "permission denied");
  CommandTuneResult result;
  result.knob = request.knob;
  KnobRestorer restorer;  // before the Supervisor: its handlers pass signals on to the command
  StepChannel channel;
  std::unique_ptr<Knob> knob = make_knob(request, restorer, channel);
  JitProfileOptions options = request.profile;
  options.values = request.values.empty() ? knob->profile_values() : request.values;
  result.cache_file = cache_file(request, options.values);
  std::optional<JitProfiler> profiler;
  if (const auto cached = read_cache(result.cache_file)) {
    profiler.emplace(JitProfiler::holding(*cached));
    result.from_cache = true;
  } else {
    profiler.emplace(options);
  }
  knob->set(profiler->initial_value());  // refused here, before the command runs, if it must be

  // Steps are read on a thread while the command runs; each takes the meter's energy so far.
  std::mutex mutex;
  std::atomic<bool> done{false};
  double energy_j = 0, profiling_start_j = -1, profiling_end_j = -1;
  const auto on_steps = [&](int n) {
    std::lock_guard lock(mutex);
    for (int i = 0; i < n; ++i) {
      energy_j += tracker.step().tree.total_j();
      const JitProfiler::Phase before = profiler->phase();
      std::optional<double> next;
      try {
        next = profiler->on_step(now_s(), energy_j);
        if (next && result.knob_error.empty()) knob->set(*next);
      } catch (const Error& e) {
        result.knob_error = e.what();  // the command goes on at the last value that held
      }
      if (before != JitProfiler::Phase::kProfiling &&
          profiler->phase() == JitProfiler::Phase::kProfiling)
        profiling_start_j = energy_j;
      if (before == JitProfiler::Phase::kProfiling &&
          profiler->phase() == JitProfiler::Phase::kHolding)
        profiling_end_j = energy_j;
    }
  };
  const char* previous = std::getenv("GREENAI_TUNE_FD");
  const std::string saved = previous ? previous : "";
  ::setenv("GREENAI_TUNE_FD", channel.environment_value().c_str(), 1);
  track::Supervisor supervisor(tree, kForwardedSignals);
  const double started = now_s();
  tracker.start();
  // A profiler that starts in profiling (no warm-up) has its window open at the start.
  if (profiler->phase() == JitProfiler::Phase::kProfiling) profiling_start_j = 0;
  std::thread reader([&] {
    while (!done.load()) {
      const int n = channel.wait_steps(0.1);
      if (n < 0) break;  // every writer closed
      if (n > 0) on_steps(n);
    }
  });
  const auto finish = [&] {
    done.store(true);
    reader.join();
    if (previous)
      ::setenv("GREENAI_TUNE_FD", saved.c_str(), 1);
    else
      ::unsetenv("GREENAI_TUNE_FD");
  };
  try {
    result.exit_status = supervisor.run(request.argv);
  } catch (...) {
    finish();
    tracker.stop();
    throw;
  }
  channel.close_command_ends();
  // Steps still in the pipe are read before the total is taken.
  for (int n; (n = channel.wait_steps(0)) > 0;) on_steps(n);
  finish();
  const track::Record total = tracker.stop();
  result.restore_failures = restorer.restore_all();
  result.seconds = now_s() - started;
  result.energy_j = total.tree.total_j();
  result.steps = profiler->steps();
  result.profiling_steps = profiler->profiling_steps();
  result.chosen = profiler->chosen();
  if (!result.from_cache) result.profile = profiler->profile();
  if (profiling_start_j >= 0) {
    result.profiling_energy_j =
        (profiling_end_j >= 0 ? profiling_end_j : energy_j) - profiling_start_j;
    if (result.chosen)
      for (const ValueProfile& p : result.profile)
        if (p.value == *result.chosen)
          result.overhead_j =
              result.profiling_energy_j - result.profiling_steps * p.energy_per_step_j();
  }
  if (result.chosen && !result.from_cache && !result.cache_file.empty()) {
    std::filesystem::create_directories(std::filesystem::path(result.cache_file).parent_path());
    Json profile = Json::array();
    for (const ValueProfile& p : result.profile)
      profile.push(Json::object()
                       .set("value", p.value)
                       .set("steps", p.steps)
                       .set("seconds", p.seconds)
                       .set("energy_j", p.energy_j));
    util::write_file_atomic(result.cache_file, Json::object()
                                                       .set("knob", request.knob)
                                                       .set("chosen", *result.chosen)
                                                       .set("profile", profile)
                                                       .dump(2) +
                                                   "\n");
  }
  return result;
}

Json CommandTuneResult::to_json() const {
  Json rows = Json::array();
  for (const ValueProfile& p : profile)
    rows.push(Json::object()
                  .set("value", p.value)
                  .set("steps", p.steps)
                  .set("seconds_per_step", p.time_per_step_s())
                  .set("joules_per_step", p.energy_per_step_j())
                  .set("average_power_w", p.average_power_w()));
  return Json::object()
      .set("knob", knob)
      .set("exit_status", exit_status)
      .set("chosen", chosen ? Json(*chosen) : Json())
      .set("from_cache", from_cache)
      .set("cache_file", cache_file)
      .set("steps", steps)
      .set("profiling_steps", profiling_steps)
      .set("seconds", seconds)
      .set("energy_j", energy_j)
      .set("profiling_energy_j", profiling_energy_j)
      .set("overhead_j", overhead_j)
      .set("overhead_share", energy_j > 0 ? overhead_j / energy_j : 0.0)
      .set("knob_error", knob_error)
      .set("profile", rows);
}

std::string CommandTuneResult::to_text() const {
  std::string t;
  if (!profile.empty()) {
    util::appendf(t, "%-12s %8s %16s %14s %10s\n", knob.c_str(), "steps", "seconds per step",
                  "J per step", "power W");
    for (const ValueProfile& p : profile)
      util::appendf(t, "%-12g %8d %16.4g %14.4g %10.3g%s\n", p.value, p.steps, p.time_per_step_s(),
                    p.energy_per_step_j(), p.average_power_w(),
                    chosen && *chosen == p.value ? "  <- chosen" : "");
  }
  if (!chosen)
    util::appendf(t,
                  "%s: nothing chosen: the command ran %d steps, fewer than the profile needs "
                  "(greenai_step() once a step)\n",
                  knob.c_str(), steps);
  else if (from_cache)
    util::appendf(t, "%s: held at %g from the start (cached in %s)\n", knob.c_str(), *chosen,
                  cache_file.c_str());
  else
    util::appendf(t,
                  "%s: held at %g after %d profiling steps of %d; profiling cost %.4g J beyond "
                  "running those steps at %g, %.2f %% of the command's %.4g J\n",
                  knob.c_str(), *chosen, profiling_steps, steps, overhead_j, *chosen,
                  energy_j > 0 ? 100 * overhead_j / energy_j : 0.0, energy_j);
  if (!knob_error.empty()) t += "knob error mid-run: " + knob_error + "\n";
  for (const std::string& f : restore_failures) t += "could not put back " + f + "\n";
  return t;
}

}  // namespace greenai::tune
