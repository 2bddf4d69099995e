// Agents trained and compared under the meter.
#include "greenai/rl/training_run.h"

#include "greenai/error.h"
#include "greenai/track/measurements.h"

namespace greenai::rl {

using util::Json;

Json TrainedAgent::training_json() const {
  return Json::object()
      .set("episodes", report.episodes)
      .set("env_steps", static_cast<double>(report.steps))
      .set("best_episode", report.best_episode)
      .set("best_validation_return", report.best_validation_return)
      .set("seconds", seconds)
      .set("energy", track::energy_to_json(energy, emissions_kg));
}

TrainedAgent train_agent(const AgentRequest& request, const CartPoleConfig& config,
                         track::Tracker& tracker) {
  TrainedAgent t;
  tracker.step();  // from here
  if (request.agent == "q") {
    t.policy = std::make_unique<QTable>(train_q_learning(config, request.q, &t.report));
    t.hyperparameters = request.q.to_json();
  } else if (request.agent == "dqn") {
    DqnReport report;
    t.policy = train_dqn(config, request.dqn, &report);
    t.report = report;
    t.hyperparameters = request.dqn.to_json();
  } else {
    throw Error("cannot train agent (--agent=" + request.agent + ")", "unknown agent",
                "use q or dqn");
  }
  const track::StepEnergy spent = tracker.step();
  t.energy = spent.tree;
  t.emissions_kg = spent.emissions_kg;
  t.seconds = spent.duration_s;
  return t;
}

double SweepResult::work_saved_vs_first(const SweepRow& row) const {
  const double base = rows.empty() ? 0 : rows.front().eval.work_per_step_j;
  return base > 0 ? 1 - row.eval.work_per_step_j / base : 0;
}

Json SweepResult::to_json() const {
  Json list = Json::array();
  for (const auto& r : rows)
    list.push(Json::object()
                  .set("energy_penalty", r.penalty)
                  .set("evaluation", r.eval.to_json())
                  .set("work_saved_vs_first", work_saved_vs_first(r))
                  .set("training_seconds", r.training_seconds));
  return Json::object().set("agent", agent).set("env", env).set("sweep", list);
}

SweepResult sweep_penalties(const AgentRequest& request, const std::string& env,
                            const std::vector<double>& penalties, int eval_episodes,
                            track::Tracker& tracker) {
  SweepResult s{request.agent, env, {}};
  for (double penalty : penalties) {
    const CartPoleConfig config = CartPole::config_for(env, penalty);
    const TrainedAgent t = train_agent(request, config, tracker);
    s.rows.push_back({penalty,
                      evaluate_policy(*t.policy, config, eval_episodes, kEvaluationSeed),
                      t.seconds});
  }
  return s;
}

}  // namespace greenai::rl
