// Agents trained and compared under the meter.
#include "greenai/rl/training_run.h"

#include <cstdio>

#include "greenai/error.h"
#include "greenai/track/measurements.h"
#include "greenai/util/text.h"

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

TrainingRun train_and_save(const AgentRequest& request, const std::string& env, double penalty,
                           int eval_episodes, const std::string& out, track::Tracker& tracker) {
  const CartPoleConfig config = CartPole::config_for(env, penalty);
  TrainingRun run{request, env, penalty, {}, {}, out, {}};
  tracker.start();
  tracker.begin_phase("train");
  run.trained = train_agent(request, config, tracker);
  tracker.begin_phase("evaluate");
  run.eval = evaluate_policy(*run.trained.policy, config, eval_episodes, kEvaluationSeed);
  tracker.end_phase();
  tracker.stop();
  run.provenance = track::Provenance::of(tracker.info());
  const TrainedAgent& t = run.trained;
  AgentContext context;
  context.env = env;
  context.energy_penalty = penalty;
  context.training = Json::object()
                         .set("env_steps", static_cast<double>(t.report.steps))
                         .set("seconds", t.seconds)
                         .set("energy", track::energy_to_json(t.energy, t.emissions_kg))
                         .set("energy_provenance", run.provenance.energy);
  t.policy->save(out, context);
  return run;
}

Json TrainingRun::to_json() const {
  return Json::object()
      .set("command", "rl train")
      .set("agent", request.agent)
      .set("env", env)
      .set("energy_penalty", penalty)
      .set("hyperparameters", trained.hyperparameters)
      .set("training", trained.training_json())
      .set("evaluation", eval.to_json())
      .set("provenance", provenance.to_json())
      .set("out", out);
}

std::string TrainingRun::to_text() const {
  std::string text;
  util::appendf(text, "%s on %s (penalty %g): ", request.agent.c_str(), env.c_str(), penalty);
  text += eval.to_text();
  util::appendf(text, "\ntraining: %lld steps in %.1f s, %s; wrote %s\n",
                static_cast<long long>(trained.report.steps), trained.seconds,
                track::energy_text(trained.energy, trained.emissions_kg, provenance.energy).c_str(),
                out.c_str());
  return text;
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

std::string SweepResult::to_text() const {
  std::string text = "penalty   return   steps  balanced   J/episode    J/step  coast   vs first\n";
  for (const auto& r : rows) {
    char line[200];
    std::snprintf(line, sizeof line, "%7g %8.1f %7.1f %8.0f%% %11.3f %9.4f %5.0f%% %9.1f%%\n",
                  r.penalty, r.eval.mean_return, r.eval.mean_steps, 100 * r.eval.balanced_fraction,
                  r.eval.work_per_episode_j, r.eval.work_per_step_j, 100 * r.eval.coast_fraction,
                  100 * work_saved_vs_first(r));
    text += line;
  }
  return text;
}

SweepResult sweep_penalties(const AgentRequest& request, const std::string& env,
                            const std::vector<double>& penalties, int eval_episodes,
                            track::Tracker& tracker) {
  SweepResult s{request.agent, env, {}};
  for (double penalty : penalties) {
    const CartPoleConfig config = CartPole::config_for(env, penalty);
    const TrainedAgent t = train_agent(request, config, tracker);
    s.rows.push_back(
        {penalty, evaluate_policy(*t.policy, config, eval_episodes, kEvaluationSeed), t.seconds});
  }
  return s;
}

AgentEvaluation evaluate_agent(const LoadedAgent& agent, int episodes, uint64_t seed,
                               track::Tracker& tracker) {
  AgentEvaluation a;
  a.kind = agent.agent->kind();
  a.training = agent.context.training;
  tracker.start();
  a.eval = evaluate_policy(*agent.agent, agent.config, episodes, seed);
  a.compute = tracker.stop();
  a.decisions = a.eval.mean_steps * a.eval.episodes;
  a.provenance = track::Provenance::of(tracker.info());
  return a;
}

Json AgentEvaluation::to_json() const {
  return Json::object()
      .set("command", "rl eval")
      .set("agent", kind)
      .set("evaluation", eval.to_json())
      .set("compute", Json::object()
                          .set("energy", track::energy_to_json(compute.tree, compute.emissions_kg))
                          .set("j_per_decision", compute.tree.total_j() / decisions)
                          .set("seconds", compute.duration_s))
      .set("training", training)
      .set("provenance", provenance.to_json());
}

std::string AgentEvaluation::to_text() const {
  std::string text = kind + ": " + eval.to_text();
  if (training.is_object() && training.find("energy") && training.find("seconds") &&
      training.find("energy_provenance"))
    util::appendf(text, "\ntraining (as recorded): %.1f s, %.4g J (%s)",
                  training.at("seconds").number(), training.at("energy").at("total_j").number(),
                  training.at("energy_provenance").string().c_str());
  util::appendf(text, "\ncompute: %.0f decisions in %.2f s, %s, %.3g J per decision\n", decisions,
                compute.duration_s,
                track::energy_text(compute.tree, compute.emissions_kg, provenance.energy).c_str(),
                compute.tree.total_j() / decisions);
  return text;
}

}  // namespace greenai::rl
