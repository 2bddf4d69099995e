// What every CartPole agent is (a policy: a state in, an action out) and how agents are judged:
// greedy episodes from fixed seeds, with steps balanced, return and mechanical work.
//
//   EvalReport r = evaluate_policy(agent, env_config, 100, kEvaluationSeed);
//   r.mean_return;   // >= 475: CartPole-v1 solved
#pragma once

#include <cstdint>
#include <functional>

#include "greenai/rl/cartpole.h"
#include "greenai/util/json.h"

namespace greenai::rl {

/// Seeds of the final evaluation, apart from those of training and validation.
constexpr uint64_t kEvaluationSeed = 1'000'000;
/// The return over 100 episodes at which CartPole-v1 counts as solved.
constexpr double kSolvedReturn = 475;

class Policy {
 public:
  virtual ~Policy() = default;
  /// The greedy action in `state`.
  virtual int act(const State& state) const = 0;
};

/// A seed for episode `index` of a run seeded `base` (splitmix64: neighbouring runs and
/// episodes get unrelated starts).
uint64_t episode_seed(uint64_t base, uint64_t index);

struct EvalReport {
  int episodes = 0;
  double mean_return = 0;  ///< Reward summed over an episode, penalty included.
  double mean_steps = 0;   ///< Steps balanced.
  int min_steps = 0;
  double balanced_fraction = 0;   ///< Episodes that reached the time limit.
  double work_per_episode_j = 0;  ///< Mechanical work, mean over episodes.
  double work_per_step_j = 0;     ///< Total work over total steps.
  double coast_fraction = 0;      ///< Share of steps without a push.
  /// Every field, and "solved" (mean_return >= kSolvedReturn).
  util::Json to_json() const;
  /// "mean return 500.0 over 100 episodes (solved), ... J per step, 12 % coasting"
  std::string to_text() const;
};

/// Runs `episodes` greedy episodes of `policy` from seeds episode_seed(seed, i).
EvalReport evaluate_policy(const Policy& policy, const CartPoleConfig& config, int episodes,
                           uint64_t seed);

}  // namespace greenai::rl
