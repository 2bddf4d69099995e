// Deep Q-learning on LibTorch: a replay buffer, a target network, Double DQN targets, a Huber
// loss, epsilon-greedy with a linear decay; fp32 or bf16 autocast (the precision machinery of
// greenai::nn). The energy of training is the caller's to meter (greenai rl train meters the
// whole call with a Tracker).
//
// The network is the mission's policy shape: 4 inputs, hidden layers of 256 (two by default),
// one Q-value per action. Every `validate_every` steps the greedy policy runs on validation
// episodes of their own seeds; the weights with the best validation return are kept.
//
//   DqnOptions o{.steps = 80000, .precision = nn::Precision::kBf16};
//   DqnReport report;
//   auto agent = train_dqn(CartPole::config_for("cartpole", 0), o, &report);
//   agent->save("dqn.pt");
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "greenai/nn/precision.h"
#include "greenai/rl/agent.h"
#include "greenai/rl/q_learning.h"

namespace greenai::rl {

struct DqnOptions {
  std::vector<int64_t> hidden{256, 256};  ///< Hidden layer widths (ReLU).
  int64_t steps = 80000;                  ///< Environment steps of training.
  int64_t batch_size = 64;
  double learning_rate = 5e-4;  ///< Adam.
  double gamma = 0.99;
  int64_t buffer_size = 50000;
  int64_t learning_starts = 1000;      ///< Steps of pure exploration before the first update.
  int64_t target_update_every = 1000;  ///< Updates between copies to the target network.
  double epsilon_start = 1.0, epsilon_end = 0.05;
  double epsilon_decay_fraction = 0.2;  ///< Linear decay over this share of the steps.
  int64_t validate_every = 5000;
  int validate_episodes = 10;
  nn::Precision precision = nn::Precision::kFp32;
  uint64_t seed = 0;
  /// {"steps", "hidden", "batch_size", "learning_rate", "gamma", "target_update_every",
  /// "precision", "seed"}
  util::Json to_json() const;
};

struct DqnReport : TrainReport {
  double seconds = 0;
  int64_t updates = 0;
};

class DqnAgent final : public Agent {
 public:
  DqnAgent(int actions, std::vector<int64_t> hidden);
  int act(const State& state) const override;
  std::string kind() const override { return "dqn"; }
  /// Q-values for a batch of states [n, 4] -> [n, actions].
  torch::Tensor q_values(const torch::Tensor& states) const;
  torch::nn::Sequential& net() { return net_; }
  int actions() const override { return actions_; }
  const std::vector<int64_t>& hidden() const { return hidden_; }
  /// Writes the weights and, beside them, the context (a LibTorch archive).
  void save(const std::string& path, const AgentContext& context) const override;
  /// Throws greenai::Error naming the path for a missing or malformed file.
  static std::unique_ptr<DqnAgent> load(const std::string& path, std::string* context = nullptr);
  /// load() as a BinaryAgentLoader, for rl::load_agent.
  static std::unique_ptr<Agent> load_agent(const std::string& path, std::string* context);

 private:
  int actions_;
  std::vector<int64_t> hidden_;
  mutable torch::nn::Sequential net_;
};

/// Trains a DQN agent. Throws greenai::Error for options out of range or a precision that cannot
/// run here (fp16 on CPU).
std::unique_ptr<DqnAgent> train_dqn(const CartPoleConfig& config, const DqnOptions& options,
                                    DqnReport* report = nullptr,
                                    const std::function<void(const TrainPoint&)>& on_point = {});

}  // namespace greenai::rl
