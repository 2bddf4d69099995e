// The just-in-time profiler's state machine (jit_profiler.h).
#include "greenai/tune/jit_profiler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "greenai/error.h"

namespace greenai::tune {

const char* to_string(JitProfiler::Phase phase) {
  switch (phase) {
    case JitProfiler::Phase::kWarmup:
      return "warmup";
    case JitProfiler::Phase::kProfiling:
      return "profiling";
    case JitProfiler::Phase::kHolding:
      break;
  }
  return "holding";
}

JitProfiler::JitProfiler(JitProfileOptions options) : options_(std::move(options)) {
  const JitProfileOptions& o = options_;
  if (o.values.empty()) throw Error("cannot profile", "no knob value to profile");
  if (o.warmup_steps < 0 || o.settle_steps < 0 || o.steps_per_value < 1)
    throw Error("cannot profile", "warm-up and settle steps must be >= 0, steps per value >= 1");
  if (o.warmup_steps + o.settle_steps == 0)
    throw Error("cannot profile",
                "the first window opens at a step's end: give a warm-up or "
                "settle step");
  if (!(o.eta >= 0 && o.eta <= 1)) throw Error("cannot profile", "eta must lie in [0, 1]");
  if (o.max_slowdown != 0 && !(o.max_slowdown >= 1))
    throw Error("cannot profile", "the maximum slowdown is a ratio of at least 1, such as 1.1");
  for (double v : o.values) profile_.push_back({v, 0, 0, 0});
  // With no warm-up the first window opens at the first step's end.
  if (o.warmup_steps == 0) phase_ = Phase::kProfiling;
}

JitProfiler JitProfiler::holding(double value) {
  JitProfiler p;
  p.options_.values = {value};
  p.phase_ = Phase::kHolding;
  p.chosen_ = value;
  return p;
}

double JitProfiler::initial_value() const { return chosen_ ? *chosen_ : options_.values[0]; }

std::optional<double> JitProfiler::on_step(double t_s, double energy_j) {
  ++steps_;
  if (phase_ == Phase::kHolding) return std::nullopt;
  if (phase_ == Phase::kWarmup) {
    if (steps_ < options_.warmup_steps) return std::nullopt;
    phase_ = Phase::kProfiling;  // the first value is set already: its settle steps start now
    index_ = 0;
    in_value_ = 0;
    window_t_ = t_s;
    window_e_ = energy_j;
    return std::nullopt;
  }
  ++profiling_steps_;
  ++in_value_;
  if (in_value_ == options_.settle_steps) {  // the window opens at the end of the settle steps
    window_t_ = t_s;
    window_e_ = energy_j;
  }
  if (in_value_ < options_.settle_steps + options_.steps_per_value) return std::nullopt;
  ValueProfile& p = profile_[index_];
  p.steps = options_.steps_per_value;
  p.seconds = t_s - window_t_;
  p.energy_j = energy_j - window_e_;
  in_value_ = 0;
  if (++index_ < profile_.size()) {
    if (options_.settle_steps == 0) {
      window_t_ = t_s;
      window_e_ = energy_j;
    }
    return profile_[index_].value;
  }
  choose();
  phase_ = Phase::kHolding;
  return *chosen_ != profile_.back().value ? chosen_ : std::nullopt;
}

double JitProfiler::cost_per_step(const ValueProfile& p) const {
  if (options_.max_slowdown > 0) return p.energy_per_step_j();
  return options_.eta * p.energy_per_step_j() +
         (1 - options_.eta) * max_power_w_ * p.time_per_step_s();
}

void JitProfiler::choose() {
  max_power_w_ = options_.max_power_w;
  if (max_power_w_ <= 0)
    for (const ValueProfile& p : profile_)
      max_power_w_ = std::max(max_power_w_, p.average_power_w());
  const double base_time = profile_[0].time_per_step_s();
  double best = std::numeric_limits<double>::infinity();
  chosen_ = profile_[0].value;  // the baseline always meets its own bound
  for (const ValueProfile& p : profile_) {
    if (options_.max_slowdown > 0 && p.time_per_step_s() > options_.max_slowdown * base_time)
      continue;
    const double c = cost_per_step(p);
    if (c < best) {
      best = c;
      chosen_ = p.value;
    }
  }
}

}  // namespace greenai::tune
