// `greenai rl`: energy-aware reinforcement learning on CartPole (rl module): train a tabular
// Q-learning or DQN agent, evaluate it, and sweep the energy penalty for the trade-off curve.

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <set>

#include "cli/commands.h"
#include "cli/help.h"
#include "cli/torch_common.h"
#include "cli/tracking_flags.h"
#include "greenai/error.h"
#include "greenai/report/report.h"
#include "greenai/rl/training_run.h"
#include "greenai/util/file.h"
#include "greenai/util/json.h"

namespace greenai::cli {
namespace {

using util::Json;

std::vector<OptionSpec> rl_specs() {
  std::vector<OptionSpec> specs{{"agent", true},     {"env", true},   {"energy-penalty", true},
                                {"episodes", true},  {"steps", true}, {"precision", true},
                                {"bins", true},      {"out", true},   {"eval-episodes", true},
                                {"penalties", true}, {"svg", true},   {"threads", true},
                                {"seed", true},      {"json", false}, {"help", false}};
  for (auto s : tracking_option_specs(/*json_is_log=*/false)) specs.push_back(s);
  return specs;
}

// The agent and its options from the flags; one given to the other agent is refused rather
// than ignored.
rl::AgentRequest agent_request(const ParsedArgs& args) {
  rl::AgentRequest r;
  r.agent = args.get("agent").value_or("");
  if (r.agent != "q" && r.agent != "dqn") throw UsageError("--agent takes q or dqn");
  for (const auto& [flag, owner] : std::vector<std::pair<std::string, std::string>>{
           {"episodes", "q"}, {"bins", "q"}, {"steps", "dqn"}, {"precision", "dqn"}})
    if (args.has(flag) && r.agent != owner)
      throw UsageError("--" + flag + " is for --agent " + owner +
                       (owner == "q" ? "; DQN trains for --steps environment steps"
                                     : "; Q-learning trains for --episodes episodes"));
  const uint64_t seed = static_cast<uint64_t>(integer(args, "seed", 0, 0));
  r.q.episodes = static_cast<int>(integer(args, "episodes", r.q.episodes, 1));
  r.q.seed = seed;
  if (auto bins = args.get("bins")) {
    const char* usage =
        "--bins takes four whole counts: x, x_dot, theta, theta_dot, such as 3,3,8,12";
    const auto b = number_list(*bins, usage, 1, 1e6, /*whole=*/true);
    if (b.size() != 4) throw UsageError(usage);
    for (size_t i = 0; i < 4; ++i) r.q.discretiser.bins[i] = static_cast<int>(b[i]);
  }
  r.dqn.steps = integer(args, "steps", r.dqn.steps, 1);
  r.dqn.precision = nn::parse_precision(args.get("precision").value_or("fp32"));
  r.dqn.seed = seed;
  return r;
}

int rl_train(const ParsedArgs& args) {
  const rl::AgentRequest request = agent_request(args);
  auto tracker = tracker_for_this_process(args);
  const rl::TrainingRun run = rl::train_and_save(
      request, args.get("env").value_or("cartpole"), args.number("energy-penalty", 0),
      static_cast<int>(integer(args, "eval-episodes", 100, 1)),
      args.get("out").value_or("agent.rl"), *tracker);
  return print_result(args, run.to_json(), run.to_text());
}

int rl_eval(const ParsedArgs& args) {
  if (args.positionals.size() != 2) throw UsageError("expected: greenai rl eval FILE");
  const rl::LoadedAgent l = rl::load_agent(args.positionals[1], rl::DqnAgent::load_agent);
  const int episodes = static_cast<int>(integer(args, "episodes", 100, 1));
  const uint64_t seed =
      static_cast<uint64_t>(integer(args, "seed", static_cast<int64_t>(rl::kEvaluationSeed), 0));
  auto tracker = tracker_for_this_process(args);
  const rl::AgentEvaluation e = rl::evaluate_agent(l, episodes, seed, *tracker);
  return print_result(args, e.to_json(), e.to_text());
}

int rl_sweep(const ParsedArgs& args) {
  const auto penalties =
      number_list(args.get("penalties").value_or("0,1,2,5,10"),
                  "--penalties takes non-negative numbers separated by commas, such as 0,1,2,5", 0,
                  std::numeric_limits<double>::max());
  const int eval_episodes = static_cast<int>(integer(args, "eval-episodes", 100, 1));
  const rl::AgentRequest request = agent_request(args);
  auto tracker = tracker_for_this_process(args);
  tracker->start();
  const rl::SweepResult sweep = rl::sweep_penalties(
      request, args.get("env").value_or("cartpole-energy"), penalties, eval_episodes, *tracker);
  tracker->stop();
  if (auto svg = args.get("svg")) {
    std::vector<report::Point> points;
    for (const auto& r : sweep.rows) {
      char label[32];
      std::snprintf(label, sizeof label, "L=%g", r.penalty);
      points.push_back({label, std::max(r.eval.work_per_step_j, 1e-6),
                        r.eval.mean_steps / rl::CartPoleConfig{}.max_steps, false});
    }
    util::write_file_atomic(
        *svg, report::standalone_svg(report::pareto_svg(points, "mechanical work per step (J, log)",
                                                        "steps balanced (share of 500)")));
  }
  Json result = sweep.to_json();
  result.set("command", "rl sweep").set("provenance", provenance_json(*tracker));
  return print_result(args, result, sweep.to_text());
}

}  // namespace

int rl_command(int argc, char** argv) {
  ParsedArgs args = ArgParser("rl", rl_specs()).parse(argc, argv, 2);
  if (args.has("help") || args.positionals.empty()) {
    print_help({"rl", "tracking"});
    return args.has("help") ? 0 : 2;
  }
  configure_threads(args);
  const std::string sub = args.positionals[0];
  // Flags of one subcommand given to another are refused rather than ignored.
  const std::map<std::string, std::set<std::string>> own{
      {"train",
       {"agent", "env", "energy-penalty", "episodes", "steps", "precision", "bins", "out",
        "eval-episodes"}},
      {"eval", {"episodes"}},
      {"sweep",
       {"agent", "env", "penalties", "episodes", "steps", "precision", "bins", "eval-episodes",
        "svg"}}};
  if (auto it = own.find(sub); it != own.end()) {
    std::set<std::string> shared{"threads", "seed", "json", "help"};
    for (const auto& spec : tracking_option_specs(false)) shared.insert(spec.name);
    std::vector<std::string> given = args.flags;
    for (const auto& [name, value] : args.values) given.push_back(name);
    for (const auto& name : given)
      if (!it->second.count(name) && !shared.count(name))
        throw UsageError("--" + name + " is not an option of rl " + sub);
  }
  if (sub == "train") return rl_train(args);
  if (sub == "eval") return rl_eval(args);
  if (sub == "sweep") return rl_sweep(args);
  throw UsageError("expected rl train, rl eval or rl sweep");
}

}  // namespace greenai::cli
