// Training and comparing agents as `greenai rl` does: one agent trained with its energy metered,
// evaluated greedily on episodes of seeds it never saw, and the sweep over energy penalties that
// draws the trade-off between balancing the pole and the mechanical work spent on it.
//
//   rl::AgentRequest request{.agent = "q"};
//   auto tracker = track::Tracker::for_this_process();
//   tracker->start();
//   rl::SweepResult s = rl::sweep_penalties(request, "cartpole-energy", {0, 1, 5}, 100, *tracker);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "greenai/rl/agent.h"
#include "greenai/rl/agent_file.h"
#include "greenai/rl/cartpole.h"
#include "greenai/rl/dqn.h"
#include "greenai/rl/q_learning.h"
#include "greenai/track/measurements.h"
#include "greenai/track/tracker.h"
#include "greenai/util/json.h"

namespace greenai::rl {

/// Which agent to train and with what: the options of the one not chosen are ignored.
struct AgentRequest {
  std::string agent;  ///< "q" (tabular Q-learning) or "dqn"
  QLearningOptions q;
  DqnOptions dqn;
};

/// A trained agent and what its training cost.
struct TrainedAgent {
  std::unique_ptr<Agent> policy;
  TrainReport report;
  double seconds = 0;
  track::Energy energy;  ///< the whole training, validation episodes included
  double emissions_kg = 0;
  util::Json hyperparameters;  ///< the chosen agent's options
  /// {"episodes", "env_steps", "best_episode", "best_validation_return", "seconds", "energy"}
  util::Json training_json() const;
};

/// Trains one agent; its energy is the span of `tracker` (started) from the call to the return.
/// Throws greenai::Error for an agent other than q or dqn.
TrainedAgent train_agent(const AgentRequest& request, const CartPoleConfig& config,
                         track::Tracker& tracker);

/// `greenai rl train`: an agent trained, evaluated and written.
struct TrainingRun {
  AgentRequest request;
  std::string env;
  double penalty = 0;
  TrainedAgent trained;
  EvalReport eval;  ///< greedy, on episodes of kEvaluationSeed
  std::string out;  ///< the agent file written
  track::Provenance provenance;
  /// {"command", "agent", "env", "energy_penalty", "hyperparameters", "training",
  /// "evaluation", "provenance", "out"}
  util::Json to_json() const;
  /// The evaluation, then the training's steps, time and energy, and the file.
  std::string to_text() const;
};

/// Trains on `env` at `penalty` (phase "train" of `tracker`, started and stopped here),
/// evaluates on `eval_episodes` episodes (phase "evaluate") and saves the agent to `out` with
/// its training's record.
TrainingRun train_and_save(const AgentRequest& request, const std::string& env, double penalty,
                           int eval_episodes, const std::string& out, track::Tracker& tracker);

struct SweepRow {
  double penalty = 0;
  EvalReport eval;  ///< on the task itself (steps balanced, work), whatever the reward
  double training_seconds = 0;
};

struct SweepResult {
  std::string agent, env;
  std::vector<SweepRow> rows;  ///< in the order of the penalties given
  /// 1 - work per step / the first row's (0 where the first did no work).
  double work_saved_vs_first(const SweepRow& row) const;
  /// {"agent", "env", "sweep": [{"energy_penalty", "evaluation", "work_saved_vs_first",
  /// "training_seconds"}]}
  util::Json to_json() const;
  /// A table: per penalty, return, steps balanced, work per episode and step, coasting, saving.
  std::string to_text() const;
};

/// Trains one agent per penalty on `env` (CartPole::config_for's name) and evaluates each on
/// `eval_episodes` episodes of kEvaluationSeed.
SweepResult sweep_penalties(const AgentRequest& request, const std::string& env,
                            const std::vector<double>& penalties, int eval_episodes,
                            track::Tracker& tracker);

/// A saved agent evaluated as `greenai rl eval` does, with the compute energy per decision.
struct AgentEvaluation {
  std::string kind;  ///< "q" or "dqn"
  EvalReport eval;
  track::Record compute;  ///< the evaluation's span of the tracker
  double decisions = 0;   ///< steps taken over all episodes
  util::Json training;    ///< the file's record of its training (AgentContext::training)
  track::Provenance provenance;
  /// {"command", "agent", "evaluation", "compute": {"energy", "j_per_decision", "seconds"},
  /// "training", "provenance"}
  util::Json to_json() const;
  /// The evaluation, the training as recorded, and the compute: decisions, time, energy.
  std::string to_text() const;
};

/// Runs `episodes` greedy episodes from `seed` under `tracker` (started and stopped here).
AgentEvaluation evaluate_agent(const LoadedAgent& agent, int episodes, uint64_t seed,
                               track::Tracker& tracker);

}  // namespace greenai::rl
