#include "greenai/rl/q_learning.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "greenai/error.h"
#include "greenai/util/json.h"

namespace greenai::rl {

size_t Discretiser::states() const {
  size_t n = 1;
  for (int b : bins) n *= static_cast<size_t>(b);
  return n;
}

size_t Discretiser::index(const State& s) const {
  size_t index = 0;
  for (size_t d = 0; d < 4; ++d) {
    const double unit = (std::clamp(s[d], -limits[d], limits[d]) + limits[d]) / (2 * limits[d]);
    const int bin = std::min(bins[d] - 1, static_cast<int>(unit * bins[d]));
    index = index * static_cast<size_t>(bins[d]) + static_cast<size_t>(bin);
  }
  return index;
}

QTable::QTable(Discretiser discretiser, int actions)
    : discretiser_(discretiser), actions_(static_cast<size_t>(actions)) {
  for (size_t d = 0; d < 4; ++d)
    if (discretiser.bins[d] < 1 || discretiser.bins[d] > 1000 || !(discretiser.limits[d] > 0) ||
        !std::isfinite(discretiser.limits[d]))
      throw Error("cannot make Q-table",
                  "every variable needs 1 to 1000 bins and a positive limit");
  if (actions < 2 || actions > 3) throw Error("cannot make Q-table", "CartPole has 2 or 3 actions");
  values_.assign(discretiser.states() * actions_, 0.0);
}

int QTable::act(const State& state) const {
  const size_t base = discretiser_.index(state) * actions_;
  return static_cast<int>(std::max_element(values_.begin() + static_cast<long>(base),
                                           values_.begin() + static_cast<long>(base + actions_)) -
                          (values_.begin() + static_cast<long>(base)));
}

util::Json QTable::to_json() const {
  util::Json bins = util::Json::array(), limits = util::Json::array(), q = util::Json::array();
  for (size_t d = 0; d < 4; ++d) {
    bins.push(discretiser_.bins[d]);
    limits.push(discretiser_.limits[d]);
  }
  for (double v : values_) q.push(v);
  return util::Json::object()
      .set("format", "greenai-q-table-1")
      .set("actions", static_cast<double>(actions_))
      .set("bins", bins)
      .set("limits", limits)
      .set("q", q);
}

QTable QTable::from_json(const util::Json& doc, const std::string& origin) {
  const std::string action = "cannot read Q-table (path=" + origin + ")";
  auto number = [&](const util::Json* j, const std::string& what) {
    if (!j || j->type() != util::Json::Type::kNumber || !std::isfinite(j->number()))
      throw Error(action, what + " is missing or not a number");
    return j->number();
  };
  const util::Json* format = doc.is_object() ? doc.find("format") : nullptr;
  if (!format || format->type() != util::Json::Type::kString ||
      format->string() != "greenai-q-table-1")
    throw Error(action, "not a greenai Q-table",
                "give a file written by greenai rl train --agent q");
  Discretiser d;
  const util::Json* bins = doc.find("bins");
  const util::Json* limits = doc.find("limits");
  if (!bins || !limits || !bins->is_array() || !limits->is_array() || bins->items().size() != 4 ||
      limits->items().size() != 4)
    throw Error(action, "bins and limits must list four numbers");
  for (size_t i = 0; i < 4; ++i) {
    const double b = number(&bins->items()[i], "bins[" + std::to_string(i) + "]");
    if (b != std::floor(b) || b < 1 || b > 1000)
      throw Error(action, "bins[" + std::to_string(i) + "] must be a whole number of 1 to 1000");
    d.bins[i] = static_cast<int>(b);
    d.limits[i] = number(&limits->items()[i], "limits[" + std::to_string(i) + "]");
  }
  const double actions = number(doc.find("actions"), "actions");
  if (actions != 2 && actions != 3) throw Error(action, "actions must be 2 or 3");
  QTable table(d, static_cast<int>(actions));
  const util::Json* q = doc.find("q");
  if (!q || !q->is_array() || q->items().size() != table.values_.size())
    throw Error(action, "q must hold " + std::to_string(table.values_.size()) +
                            " values (states x actions)");
  for (size_t i = 0; i < table.values_.size(); ++i)
    table.values_[i] = number(&q->items()[i], "q[" + std::to_string(i) + "]");
  return table;
}

QTable train_q_learning(const CartPoleConfig& config, const QLearningOptions& o,
                        TrainReport* report,
                        const std::function<void(const TrainPoint&)>& on_point) {
  if (o.episodes < 1 || !(o.alpha > 0 && o.alpha <= 1) || !(o.gamma >= 0 && o.gamma <= 1) ||
      o.validate_every < 1 || o.validate_episodes < 1 || !(o.epsilon_decay_fraction > 0))
    throw Error("cannot train Q-learning",
                "episodes and validation counts must be positive, alpha in (0, 1], gamma in "
                "[0, 1]");
  CartPole env(config);
  QTable q(o.discretiser, env.num_actions()), best = q;
  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> coin(0, 1);
  std::uniform_int_distribution<int> any_action(0, env.num_actions() - 1);
  TrainReport r;
  r.best_validation_return = -INFINITY;
  double returns = 0;
  int since = 0;
  const double decay_episodes = o.epsilon_decay_fraction * o.episodes;
  for (int e = 0; e < o.episodes; ++e) {
    const double epsilon = std::max(
        o.epsilon_end, o.epsilon_start - (o.epsilon_start - o.epsilon_end) * e / decay_episodes);
    State s = env.reset(episode_seed(o.seed, static_cast<uint64_t>(e)));
    size_t index = q.discretiser().index(s);
    double ret = 0;
    for (;;) {
      const int a = coin(rng) < epsilon ? any_action(rng) : q.act(s);
      const StepResult step = env.step(a);
      const size_t next = q.discretiser().index(step.state);
      double target = step.reward;
      if (!step.terminated) {
        double best_next = q.at(next, 0);
        for (int b = 1; b < q.actions(); ++b) best_next = std::max(best_next, q.at(next, b));
        target += o.gamma * best_next;
      }
      q.at(index, a) += o.alpha * (target - q.at(index, a));
      ret += step.reward;
      ++r.steps;
      s = step.state;
      index = next;
      if (step.terminated || step.truncated) break;
    }
    returns += ret;
    ++since;
    if ((e + 1) % o.validate_every == 0 || e + 1 == o.episodes) {
      const EvalReport v =
          evaluate_policy(q, config, o.validate_episodes, episode_seed(o.seed, 0x5eed));
      TrainPoint p{e + 1, returns / since, v.mean_return, v.mean_steps, v.work_per_step_j};
      r.curve.push_back(p);
      if (on_point) on_point(p);
      if (v.mean_return >= r.best_validation_return) {  // ties: the more trained table
        r.best_validation_return = v.mean_return;
        r.best_episode = e + 1;
        best = q;
      }
      returns = 0;
      since = 0;
    }
  }
  r.episodes = o.episodes;
  if (report) *report = r;
  return best;
}

util::Json QLearningOptions::to_json() const {
  util::Json bins = util::Json::array();
  for (int b : discretiser.bins) bins.push(b);
  return util::Json::object()
      .set("episodes", episodes)
      .set("alpha", alpha)
      .set("gamma", gamma)
      .set("bins", bins)
      .set("seed", static_cast<double>(seed));
}

}  // namespace greenai::rl
