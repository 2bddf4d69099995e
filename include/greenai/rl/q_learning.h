// Tabular Q-learning on a discretised CartPole state, epsilon-greedy with a linear decay.
//
// Each state variable is clipped to +-limit and cut into equal bins (one bin ignores the
// variable); Q(s, a) += alpha (r + gamma max_a' Q(s', a') - Q(s, a)), with no bootstrap from a
// terminal state (a truncated one still bootstraps: the time limit is not part of the task).
// Every `validate_every` episodes the greedy policy runs on validation episodes of their own
// seeds, and the table with the best validation return is the one returned.
//
//   QTable q = train_q_learning(CartPole::config_for("cartpole", 0), {.episodes = 20000});
//   int action = q.act(state);
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "greenai/rl/agent.h"
#include "greenai/rl/agent_file.h"
#include "greenai/util/json.h"

namespace greenai::rl {

struct Discretiser {
  std::array<int, 4> bins{3, 3, 8, 12};               ///< x, x_dot, theta, theta_dot
  std::array<double, 4> limits{2.4, 3.0, 0.21, 3.5};  ///< Clip to +-limit before binning.
  size_t states() const;
  size_t index(const State& s) const;
};

class QTable final : public Agent {
 public:
  QTable(Discretiser discretiser, int actions);
  int act(const State& state) const override;
  std::string kind() const override { return "q"; }
  /// Writes a JSON agent file (format "greenai-rl-agent-1").
  void save(const std::string& path, const AgentContext& context) const override;
  double& at(size_t state, int action) { return values_[state * actions_ + action]; }
  double at(size_t state, int action) const { return values_[state * actions_ + action]; }
  const Discretiser& discretiser() const { return discretiser_; }
  int actions() const override { return static_cast<int>(actions_); }
  const std::vector<double>& values() const { return values_; }
  /// A JSON object holding the discretiser and the table; from_json throws greenai::Error
  /// naming `origin` for anything malformed.
  util::Json to_json() const;
  static QTable from_json(const util::Json& doc, const std::string& origin);

 private:
  Discretiser discretiser_;
  size_t actions_;
  std::vector<double> values_;
};

struct QLearningOptions {
  Discretiser discretiser;
  int episodes = 20000;
  double alpha = 0.1;   ///< Learning rate.
  double gamma = 0.99;  ///< Discount.
  double epsilon_start = 1.0, epsilon_end = 0.01;
  double epsilon_decay_fraction = 0.5;  ///< Linear decay over this share of the episodes.
  int validate_every = 200;             ///< Episodes between validations.
  int validate_episodes = 20;
  uint64_t seed = 0;
  /// {"episodes", "alpha", "gamma", "bins", "seed"}
  util::Json to_json() const;
};

struct TrainPoint {
  int episode = 0;
  double mean_return = 0;  ///< Training episodes since the previous point (exploring).
  double validation_return = 0, validation_steps = 0, validation_work_per_step_j = 0;
};

struct TrainReport {
  int episodes = 0;
  int64_t steps = 0;  ///< Environment steps of training.
  int best_episode = 0;
  double best_validation_return = 0;
  std::vector<TrainPoint> curve;
};

/// Trains a table on the environment `config`. Throws greenai::Error for options out of range.
QTable train_q_learning(const CartPoleConfig& config, const QLearningOptions& options,
                        TrainReport* report = nullptr,
                        const std::function<void(const TrainPoint&)>& on_point = {});

}  // namespace greenai::rl
