// CartPole with the dynamics and constants of Gymnasium's CartPole-v1, and an energy variant.
//
// The classic task: push a cart left or right (10 N) to keep a pole upright. The state is cart
// position x (m), velocity (m/s), pole angle theta (rad, 0 upright) and angular velocity; Euler
// integration at tau = 0.02 s; an episode ends when |theta| > 12 degrees or |x| > 2.4 m
// (terminated) or after 500 steps (truncated); reward +1 for every step, the last included.
//
// The energy variant adds a third action, coast (no force), and reports the mechanical work of
// each push, |F x v| x tau joules (v the cart's velocity at the start of the step), so that
// Reward = 1 - energy_penalty x work teaches the agent to balance with less work.
//
//   CartPole env({.coast_action = true, .energy_penalty = 2.0});
//   State s = env.reset(7);                      // seeded: the same seed, the same episode
//   StepResult r = env.step(CartPole::kPushRight);
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace greenai::rl {

using State = std::array<double, 4>;  ///< x, x_dot, theta, theta_dot

struct CartPoleConfig {
  bool coast_action = false;  ///< The energy variant's third action.
  double energy_penalty = 0;  ///< Reward per step = 1 - energy_penalty x work (J).
  int max_steps = 500;        ///< CartPole-v1's time limit.
};

struct StepResult {
  State state;
  double reward = 0;
  bool terminated = false;  ///< The pole fell or the cart left the track.
  bool truncated = false;   ///< The time limit.
  double work_j = 0;        ///< Mechanical work of this step's push.
};

class CartPole {
 public:
  // Gymnasium CartPole-v1's constants (SI units).
  static constexpr double kGravity = 9.8;
  static constexpr double kCartMass = 1.0;
  static constexpr double kPoleMass = 0.1;
  static constexpr double kHalfLength = 0.5;
  static constexpr double kForce = 10.0;
  static constexpr double kTau = 0.02;
  static constexpr double kThetaLimit = 12 * 2 * 3.141592653589793 / 360;
  static constexpr double kXLimit = 2.4;
  static constexpr double kResetBound = 0.05;

  enum Action { kPushLeft = 0, kPushRight = 1, kCoast = 2 };

  explicit CartPole(CartPoleConfig config = {});
  /// "cartpole" (two actions) or "cartpole-energy" (three); throws greenai::Error otherwise.
  static CartPoleConfig config_for(const std::string& name, double energy_penalty);

  /// Starts an episode with each state variable uniform in (-0.05, 0.05), drawn from `seed`.
  State reset(uint64_t seed);
  /// Applies `action` for one step. Throws greenai::Error for an action out of range or a step
  /// after the episode ended.
  StepResult step(int action);

  int num_actions() const { return config_.coast_action ? 3 : 2; }
  const CartPoleConfig& config() const { return config_; }
  const State& state() const { return state_; }
  int steps() const { return steps_; }

  /// One Euler step of the dynamics under `force_n`, without bookkeeping (for tests and models).
  static State dynamics(const State& s, double force_n);

 private:
  CartPoleConfig config_;
  State state_{};
  int steps_ = 0;
  bool done_ = true;
};

}  // namespace greenai::rl
