#include "greenai/rl/agent.h"

#include <algorithm>
#include <cstdio>

#include "greenai/error.h"

namespace greenai::rl {

uint64_t episode_seed(uint64_t base, uint64_t index) {
  // splitmix64 (Steele, Lea and Flood, 2014) of the pair.
  uint64_t z = base * 0x9E3779B97F4A7C15ULL + index + 0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

EvalReport evaluate_policy(const Policy& policy, const CartPoleConfig& config, int episodes,
                           uint64_t seed) {
  if (episodes < 1) throw Error("cannot evaluate", "at least one episode is needed");
  CartPole env(config);
  EvalReport r;
  r.episodes = episodes;
  r.min_steps = config.max_steps;
  double work = 0;
  int64_t steps = 0, coasts = 0;
  for (int e = 0; e < episodes; ++e) {
    State s = env.reset(episode_seed(seed, static_cast<uint64_t>(e)));
    double ret = 0;
    for (;;) {
      const int action = policy.act(s);
      const StepResult step = env.step(action);
      ret += step.reward;
      work += step.work_j;
      coasts += action == CartPole::kCoast;
      s = step.state;
      if (step.terminated || step.truncated) {
        r.balanced_fraction += step.truncated;
        break;
      }
    }
    r.mean_return += ret;
    r.mean_steps += env.steps();
    r.min_steps = std::min(r.min_steps, env.steps());
    steps += env.steps();
  }
  r.mean_return /= episodes;
  r.mean_steps /= episodes;
  r.balanced_fraction /= episodes;
  r.work_per_episode_j = work / episodes;
  r.work_per_step_j = work / static_cast<double>(steps);
  r.coast_fraction = static_cast<double>(coasts) / static_cast<double>(steps);
  return r;
}

util::Json EvalReport::to_json() const {
  return util::Json::object()
      .set("episodes", episodes)
      .set("mean_return", mean_return)
      .set("mean_steps", mean_steps)
      .set("min_steps", min_steps)
      .set("balanced_fraction", balanced_fraction)
      .set("work_per_episode_j", work_per_episode_j)
      .set("work_per_step_j", work_per_step_j)
      .set("coast_fraction", coast_fraction)
      .set("solved", mean_return >= kSolvedReturn);
}

std::string EvalReport::to_text() const {
  const EvalReport& e = *this;
  char text[320];
  std::snprintf(text, sizeof text,
                "mean return %.1f over %d episodes (%s), %.1f steps balanced (min %d, %.0f %% to "
                "the limit), mechanical work %.3f J per episode, %.4f J per step, %.0f %% coasting",
                e.mean_return, e.episodes, e.mean_return >= kSolvedReturn ? "solved" : "not solved",
                e.mean_steps, e.min_steps, 100 * e.balanced_fraction, e.work_per_episode_j,
                e.work_per_step_j, 100 * e.coast_fraction);
  return text;
}

}  // namespace greenai::rl
