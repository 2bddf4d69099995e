#include "greenai/rl/cartpole.h"

#include <cmath>
#include <random>

#include "greenai/error.h"

namespace greenai::rl {

CartPole::CartPole(CartPoleConfig config) : config_(config) {
  if (config.max_steps < 1)
    throw Error("cannot make cartpole (max_steps=" + std::to_string(config.max_steps) + ")",
                "the time limit must be at least one step");
  if (!(config.energy_penalty >= 0) || !std::isfinite(config.energy_penalty))
    throw Error("cannot make cartpole", "the energy penalty must be zero or positive");
}

CartPoleConfig CartPole::config_for(const std::string& name, double energy_penalty) {
  if (name != "cartpole" && name != "cartpole-energy")
    throw Error("cannot make environment (--env=" + name + ")", "unknown environment",
                "use cartpole or cartpole-energy");
  return {.coast_action = name == "cartpole-energy", .energy_penalty = energy_penalty};
}

State CartPole::reset(uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (double& v : state_) {
    // 53 random bits to [0, 1), then to (-0.05, 0.05): the same on every platform.
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    v = -kResetBound + 2 * kResetBound * u;
  }
  steps_ = 0;
  done_ = false;
  return state_;
}

State CartPole::dynamics(const State& s, double force) {
  // Barto, Sutton and Anderson (1983), as Gymnasium integrates them (explicit Euler).
  const double total_mass = kCartMass + kPoleMass, pole_mass_length = kPoleMass * kHalfLength;
  const auto [x, x_dot, theta, theta_dot] = s;
  const double cos_theta = std::cos(theta), sin_theta = std::sin(theta);
  const double temp = (force + pole_mass_length * theta_dot * theta_dot * sin_theta) / total_mass;
  const double theta_acc =
      (kGravity * sin_theta - cos_theta * temp) /
      (kHalfLength * (4.0 / 3.0 - kPoleMass * cos_theta * cos_theta / total_mass));
  const double x_acc = temp - pole_mass_length * theta_acc * cos_theta / total_mass;
  return {x + kTau * x_dot, x_dot + kTau * x_acc, theta + kTau * theta_dot,
          theta_dot + kTau * theta_acc};
}

StepResult CartPole::step(int action) {
  if (action < 0 || action >= num_actions())
    throw Error("cannot step cartpole (action=" + std::to_string(action) + ")",
                "the environment has " + std::to_string(num_actions()) + " actions");
  if (done_) throw Error("cannot step cartpole", "the episode has ended", "call reset() first");
  const double force = action == kPushRight ? kForce : action == kPushLeft ? -kForce : 0;
  StepResult r;
  r.work_j = std::abs(force * state_[1]) * kTau;
  state_ = dynamics(state_, force);
  ++steps_;
  r.state = state_;
  r.terminated = state_[0] < -kXLimit || state_[0] > kXLimit || state_[2] < -kThetaLimit ||
                 state_[2] > kThetaLimit;
  r.truncated = !r.terminated && steps_ >= config_.max_steps;
  r.reward = 1 - config_.energy_penalty * r.work_j;
  done_ = r.terminated || r.truncated;
  return r;
}

}  // namespace greenai::rl
