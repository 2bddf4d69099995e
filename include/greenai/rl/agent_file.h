// Agent files: what `greenai rl train` writes and `greenai rl eval` reads. An agent is a policy
// that can be saved with its context (the environment it was trained for, its energy penalty,
// and what training cost). A Q-table is a JSON document (format "greenai-rl-agent-1"); a DQN
// agent a LibTorch archive (rl/dqn.h), read through the loader the caller passes, so that this
// unit needs no LibTorch.
//
//   rl::LoadedAgent a = rl::load_agent("agent.rl", rl::DqnAgent::load_agent);
//   rl::EvalReport r = rl::evaluate_policy(*a.agent, a.config, 100, rl::kEvaluationSeed);
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "greenai/rl/agent.h"
#include "greenai/rl/cartpole.h"
#include "greenai/util/json.h"

namespace greenai::rl {

/// What an agent file records beside the policy.
struct AgentContext {
  std::string env = "cartpole";  ///< CartPole::config_for's name
  double energy_penalty = 0;     ///< the reward's L (per joule of mechanical work)
  util::Json training;           ///< what training cost, as recorded (null if not)
  util::Json to_json() const;
  /// Throws greenai::Error naming `path` when env or energy_penalty is missing or mistyped.
  static AgentContext from_json(const util::Json& json, const std::string& path);
};

/// A policy that can be written to an agent file.
class Agent : public Policy {
 public:
  virtual std::string kind() const = 0;  ///< "q" or "dqn"
  virtual int actions() const = 0;
  /// Throws greenai::Error naming the path when it cannot be written.
  virtual void save(const std::string& path, const AgentContext& context) const = 0;
};

struct LoadedAgent {
  std::unique_ptr<Agent> agent;
  AgentContext context;
  CartPoleConfig config;  ///< the environment of the context
};

/// Reads a binary (non-JSON) agent file; returns the agent and sets `context_json` to the
/// context text saved with it.
using BinaryAgentLoader =
    std::function<std::unique_ptr<Agent>(const std::string& path, std::string* context_json)>;

/// Reads an agent file. Throws greenai::Error naming the path when it is missing, not an agent
/// file, records no environment, or its actions do not match its environment; a binary file
/// with no `binary` loader is refused with a hint (DQN agents need greenai-torch).
LoadedAgent load_agent(const std::string& path, const BinaryAgentLoader& binary = nullptr);

}  // namespace greenai::rl
