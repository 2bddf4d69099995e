// `greenai tune --knob K -- CMD`: runs a command with the meter around it, profiles one knob just
// in time over the command's first steps (jit_profiler.h), holds the best value for the rest, and
// puts the knob back at the end (on error and on SIGINT/SIGTERM too). The command reports its
// steps with greenai_step() (greenai.h), which GreenAI's own trainer calls; the choice is kept in
// a cache keyed by the command, the knob and the CPU, and the next run holds it from the start.
//
//   tune::CommandTuneRequest req{.argv = {"python3", "train.py"}, .knob = "threads"};
//   tune::CommandTuneResult r = tune::tune_command(req, *tracker, *tree);
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "greenai/meter/system.h"
#include "greenai/track/tracker.h"
#include "greenai/tune/jit_profiler.h"
#include "greenai/tune/knobs.h"
#include "greenai/util/json.h"

namespace greenai::tune {

/// The pipes between a tuning greenai and the command it runs. The command finds them in
/// GREENAI_TUNE_FD ("STEP,ADVICE": it writes a byte per step to STEP and reads the thread count
/// asked of it, a native int, from ADVICE).
class StepChannel {
 public:
  /// Throws greenai::Error when the pipes cannot be made.
  StepChannel();
  ~StepChannel();
  StepChannel(const StepChannel&) = delete;
  StepChannel& operator=(const StepChannel&) = delete;
  /// The value of GREENAI_TUNE_FD for the command.
  std::string environment_value() const;
  /// Closes the command's ends here (once it has ended), so that the steps left in the pipe are
  /// read to EOF.
  void close_command_ends();
  /// Waits up to `timeout_s` for steps; returns how many arrived, 0 on timeout, -1 once every
  /// writer has closed.
  int wait_steps(double timeout_s);
  /// Asks the command to run with `threads` threads from its next step.
  void advise_threads(int threads);

 private:
  int step_read_ = -1, step_write_ = -1, advice_read_ = -1, advice_write_ = -1;
};

/// LibTorch's (or any runtime's) thread count of the command, through greenai_step()'s answer.
class ThreadsKnob : public Knob {
 public:
  ThreadsKnob(StepChannel& channel, int logical_cpus);
  std::string name() const override { return "threads"; }
  std::string read() const override;
  void set(double threads) override;
  /// The logical CPUs, then 3/4, 1/2, 1/4 ... of them, down to 1.
  std::vector<double> profile_values() const;

 private:
  StepChannel& channel_;
  int cpus_;
  int current_ = 0;
};

struct CommandTuneRequest {
  std::vector<std::string> argv;  ///< the command
  std::string knob;               ///< "power-cap", "cpu-freq", "gpu-power-limit" or "threads"
  /// The values to profile, baseline first; empty: the knob's own (power-cap: the current cap
  /// down to half in 10 % steps; cpu-freq: the maximum down to half in 10 % steps, within the
  /// CPU's range; gpu-power-limit: the maximum down to the minimum in 25 W steps; threads:
  /// ThreadsKnob::profile_values).
  std::vector<double> values;
  JitProfileOptions profile;  ///< its values are filled from the above
  std::string cache_dir;      ///< where choices are kept; empty: no cache
  std::string powercap_root = "/sys/class/powercap";
  std::string cpu_root = "/sys/devices/system/cpu";
  std::string nvml_library = "libnvidia-ml.so.1";  ///< gpu-power-limit: NVML, as the meter loads it
  std::string cpu_identity;  ///< the CPU's model and features, part of the cache key
  int logical_cpus = 1;
};

struct CommandTuneResult {
  std::string knob;
  int exit_status = 0;
  std::vector<ValueProfile> profile;
  std::optional<double> chosen;
  bool from_cache = false;
  std::string cache_file;  ///< where the choice was read or written ("" without a cache)
  int steps = 0, profiling_steps = 0;
  double seconds = 0, energy_j = 0;  ///< the whole command, as the meter saw it
  double profiling_energy_j = 0;     ///< energy of the settle steps and windows
  /// What profiling cost beyond running those steps at the chosen value: profiling energy -
  /// profiling steps x the chosen value's energy per step (0 when nothing was profiled).
  double overhead_j = 0;
  std::vector<std::string> restore_failures;  ///< knob files that could not be put back
  std::string knob_error;                     ///< a setting that failed mid-run, or ""
  util::Json to_json() const;
  std::string to_text() const;
};

/// Runs the command as above. Throws greenai::Error before starting it when the knob cannot be
/// used here (with the fix) or the command cannot be started.
CommandTuneResult tune_command(const CommandTuneRequest& request, track::Tracker& tracker,
                               meter::DescendantsUsage& tree);

/// The cache file of a command, knob and CPU under `cache_dir`.
std::string cache_file(const CommandTuneRequest& request, const std::vector<double>& values);

}  // namespace greenai::tune
