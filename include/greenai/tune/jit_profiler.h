// Just-in-time profiling of one knob during the first steps of a job, as Zeus profiles GPU power
// limits in the first epoch: a warm-up at the first value, then a window of steps at each value
// (a settle step after each change not counted), then the value of least cost is held for the
// rest of the job. Pure state machine: the caller reports each step's end (time and the job's
// cumulative energy) and sets the knob to what it returns.
//
//   tune::JitProfiler p({.values = {2, 1}});          // e.g. threads: 2, then 1
//   knob.set(p.initial_value());
//   for each step: if (auto v = p.on_step(t_s, energy_j)) knob.set(*v);
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "greenai/util/json.h"

namespace greenai::tune {

struct JitProfileOptions {
  /// The knob's values to profile, in order; the first is the baseline (the maximum power limit,
  /// all threads) that warm-up runs at and that --max-slowdown is measured against.
  std::vector<double> values;
  int warmup_steps = 10;     ///< steps at the first value before any window (caches, allocator)
  int settle_steps = 1;      ///< steps after each change that are not counted
  int steps_per_value = 20;  ///< steps counted per value
  /// Zeus's cost per step, eta x energy + (1 - eta) x max_power_w x time, is minimised unless
  /// max_slowdown > 0: then the least energy per step among values whose time per step is at
  /// most max_slowdown x the first value's.
  double eta = 0.5;
  double max_slowdown = 0;
  double max_power_w = 0;  ///< the cost's power; 0: the highest average power profiled
};

/// One value's window.
struct ValueProfile {
  double value = 0;
  int steps = 0;
  double seconds = 0, energy_j = 0;
  double time_per_step_s() const { return steps ? seconds / steps : 0; }
  double energy_per_step_j() const { return steps ? energy_j / steps : 0; }
  double average_power_w() const { return seconds > 0 ? energy_j / seconds : 0; }
};

class JitProfiler {
 public:
  enum class Phase { kWarmup, kProfiling, kHolding };
  /// Throws greenai::Error when there is no value or a count or bound is out of range.
  explicit JitProfiler(JitProfileOptions options);
  /// A profiler that profiles nothing and holds `value` (a cached profile's choice).
  static JitProfiler holding(double value);

  /// The value to set before the first step.
  double initial_value() const;
  /// A step ended at `t_s` (any monotonic clock, seconds) with the job's energy so far
  /// `energy_j`. Returns the value to set now when it changes.
  std::optional<double> on_step(double t_s, double energy_j);

  Phase phase() const { return phase_; }
  int steps() const { return steps_; }
  /// Steps run outside warm-up and holding: the settle steps and the windows.
  int profiling_steps() const { return profiling_steps_; }
  const std::vector<ValueProfile>& profile() const { return profile_; }
  /// The value held once profiling ended (or from the start, for holding()).
  std::optional<double> chosen() const { return chosen_; }
  /// The cost the choice minimised, per step, for `p` (the bound's rule gives energy per step).
  double cost_per_step(const ValueProfile& p) const;
  const JitProfileOptions& options() const { return options_; }

 private:
  JitProfiler() = default;
  void choose();
  JitProfileOptions options_;
  Phase phase_ = Phase::kWarmup;
  int steps_ = 0, profiling_steps_ = 0;
  size_t index_ = 0;                    // the value being profiled
  int in_value_ = 0;                    // steps since that value was set
  double window_t_ = 0, window_e_ = 0;  // where its window began
  std::vector<ValueProfile> profile_;
  std::optional<double> chosen_;
  double max_power_w_ = 0;
};

/// "warmup", "profiling" or "holding".
const char* to_string(JitProfiler::Phase phase);

}  // namespace greenai::tune
