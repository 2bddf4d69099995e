#include "greenai/rl/dqn.h"

#include <chrono>
#include <random>

#include "greenai/error.h"
#include "greenai/rl/q_network.h"
#include "greenai/rl/replay_buffer.h"
#include "greenai/util/json.h"

namespace greenai::rl {
namespace {

torch::Tensor state_tensor(const State& s) {
  return torch::tensor({static_cast<float>(s[0]), static_cast<float>(s[1]),
                        static_cast<float>(s[2]), static_cast<float>(s[3])})
      .unsqueeze(0);
}

}  // namespace

DqnAgent::DqnAgent(int actions, std::vector<int64_t> hidden)
    : actions_(actions), hidden_(std::move(hidden)), net_(make_q_network(4, hidden_, actions)) {
  if (actions < 2 || actions > 3) throw Error("cannot make DQN", "CartPole has 2 or 3 actions");
  for (int64_t w : hidden_)
    if (w < 1 || w > 65536) throw Error("cannot make DQN", "hidden widths must be 1 to 65536");
}

torch::Tensor DqnAgent::q_values(const torch::Tensor& states) const {
  return net_->forward(states);
}

int DqnAgent::act(const State& state) const {
  torch::NoGradGuard no_grad;
  return static_cast<int>(net_->forward(state_tensor(state)).argmax(1).item<int64_t>());
}

void DqnAgent::save(const std::string& path, const AgentContext& agent_context) const {
  const std::string context = agent_context.to_json().dump();
  util::Json hidden = util::Json::array();
  for (int64_t w : hidden_) hidden.push(static_cast<double>(w));
  torch::serialize::OutputArchive archive;
  archive.write("meta", c10::IValue(util::Json::object()
                                        .set("format", "greenai-dqn-1")
                                        .set("actions", actions_)
                                        .set("hidden", hidden)
                                        .dump()));
  archive.write("context", c10::IValue(context));
  net_->save(archive);
  try {
    archive.save_to(path);
  } catch (const c10::Error&) {
    throw Error("cannot write DQN agent (path=" + path + ")", "write failed");
  }
}

std::unique_ptr<Agent> DqnAgent::load_agent(const std::string& path, std::string* context) {
  return load(path, context);
}

std::unique_ptr<DqnAgent> DqnAgent::load(const std::string& path, std::string* context) {
  const std::string action = "cannot read DQN agent (path=" + path + ")";
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error&) {
    throw Error(action, "not a LibTorch archive or unreadable",
                "give a file written by greenai rl train --agent dqn");
  }
  c10::IValue meta_value;
  if (!archive.try_read("meta", meta_value) || !meta_value.isString())
    throw Error(action, "no greenai metadata");
  util::Json meta;
  try {
    meta = util::Json::parse(meta_value.toStringRef());
  } catch (const Error& e) {
    throw Error(action, std::string("bad metadata: ") + e.what());
  }
  const util::Json* format = meta.find("format");
  const util::Json* actions = meta.find("actions");
  const util::Json* hidden = meta.find("hidden");
  if (!format || format->type() != util::Json::Type::kString ||
      format->string() != "greenai-dqn-1" || !actions ||
      actions->type() != util::Json::Type::kNumber || !hidden || !hidden->is_array())
    throw Error(action, "not a greenai DQN agent");
  std::vector<int64_t> widths;
  for (const auto& w : hidden->items()) {
    if (w.type() != util::Json::Type::kNumber) throw Error(action, "bad hidden widths");
    widths.push_back(static_cast<int64_t>(w.number()));
  }
  auto agent = std::make_unique<DqnAgent>(static_cast<int>(actions->number()), widths);
  try {
    agent->net_->load(archive);
  } catch (const c10::Error&) {
    throw Error(action, "the weights do not match the metadata");
  }
  agent->net_->eval();
  c10::IValue context_value;
  if (context)
    *context = archive.try_read("context", context_value) && context_value.isString()
                   ? context_value.toStringRef()
                   : "{}";
  return agent;
}

std::unique_ptr<DqnAgent> train_dqn(const CartPoleConfig& config, const DqnOptions& o,
                                    DqnReport* report,
                                    const std::function<void(const TrainPoint&)>& on_point) {
  if (o.steps < 1 || o.batch_size < 1 || o.buffer_size < o.batch_size ||
      o.learning_starts < o.batch_size || o.target_update_every < 1 || o.validate_every < 1 ||
      o.validate_episodes < 1 || !(o.learning_rate > 0) || !(o.gamma >= 0 && o.gamma <= 1))
    throw Error("cannot train DQN",
                "steps, batch, buffer (>= batch), learning starts (>= batch), target update and "
                "validation counts must be positive");
  nn::check_precision_supported(o.precision, torch::kCPU);
  const auto started = std::chrono::steady_clock::now();
  torch::manual_seed(o.seed);
  CartPole env(config);
  auto online = std::make_unique<DqnAgent>(env.num_actions(), o.hidden);
  DqnAgent target(env.num_actions(), o.hidden);
  const auto copy_weights = [](DqnAgent& to, DqnAgent& from) {
    copy_parameters(from.net(), to.net());
  };
  copy_weights(target, *online);
  std::vector<torch::Tensor> best_weights;
  torch::optim::Adam optimizer(online->net()->parameters(),
                               torch::optim::AdamOptions(o.learning_rate));
  ReplayBuffer buffer(o.buffer_size, 4);
  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> coin(0, 1);
  std::uniform_int_distribution<int> any_action(0, env.num_actions() - 1);
  DqnReport r;
  r.best_validation_return = -INFINITY;
  uint64_t episode = 0;
  State s = env.reset(episode_seed(o.seed, episode));
  double ret = 0, returns = 0;
  int finished = 0;
  for (int64_t t = 0; t < o.steps; ++t) {
    const double epsilon =
        std::max(o.epsilon_end, o.epsilon_start - (o.epsilon_start - o.epsilon_end) * double(t) /
                                                      (o.epsilon_decay_fraction * double(o.steps)));
    const int a = coin(rng) < epsilon ? any_action(rng) : online->act(s);
    const StepResult step = env.step(a);
    const std::array<float, 4> from{static_cast<float>(s[0]), static_cast<float>(s[1]),
                                    static_cast<float>(s[2]), static_cast<float>(s[3])};
    const std::array<float, 4> to{
        static_cast<float>(step.state[0]), static_cast<float>(step.state[1]),
        static_cast<float>(step.state[2]), static_cast<float>(step.state[3])};
    buffer.add(from.data(), a, step.reward, to.data(), step.terminated);
    ret += step.reward;
    s = step.state;
    if (step.terminated || step.truncated) {
      returns += ret;
      ++finished;
      ret = 0;
      s = env.reset(episode_seed(o.seed, ++episode));
    }
    if (t >= o.learning_starts) {
      auto [states, actions, rewards, next, terminal] = buffer.sample(o.batch_size, rng);
      torch::Tensor y;
      {
        // Double DQN: the online network picks the next action, the target network values it.
        torch::NoGradGuard no_grad;
        const auto next_action = online->q_values(next).argmax(1, true);
        const auto next_q = target.q_values(next).gather(1, next_action).squeeze(1);
        y = rewards + o.gamma * (1 - terminal) * next_q.to(torch::kFloat);
      }
      torch::Tensor loss;
      {
        nn::AutocastScope autocast(o.precision, torch::kCPU);
        const auto q = online->q_values(states).gather(1, actions.unsqueeze(1)).squeeze(1);
        loss = torch::smooth_l1_loss(q.to(torch::kFloat), y);
      }
      optimizer.zero_grad();
      loss.backward();
      torch::nn::utils::clip_grad_norm_(online->net()->parameters(), 10.0);
      optimizer.step();
      ++r.updates;
      if (r.updates % o.target_update_every == 0) copy_weights(target, *online);
    }
    ++r.steps;
    if ((t + 1) % o.validate_every == 0 || t + 1 == o.steps) {
      online->net()->eval();
      const EvalReport v =
          evaluate_policy(*online, config, o.validate_episodes, episode_seed(o.seed, 0x5eed));
      online->net()->train();
      TrainPoint p{static_cast<int>(episode), finished ? returns / finished : 0, v.mean_return,
                   v.mean_steps, v.work_per_step_j};
      r.curve.push_back(p);
      if (on_point) on_point(p);
      returns = 0;
      finished = 0;
      if (v.mean_return >= r.best_validation_return) {  // ties: the more trained network
        r.best_validation_return = v.mean_return;
        r.best_episode = static_cast<int>(episode);
        best_weights.clear();
        for (const auto& w : online->net()->parameters())
          best_weights.push_back(w.detach().clone());
      }
    }
  }
  {
    torch::NoGradGuard no_grad;
    auto params = online->net()->parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best_weights[i]);
  }
  online->net()->eval();
  r.episodes = static_cast<int>(episode);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (report) *report = r;
  return online;
}

util::Json DqnOptions::to_json() const {
  util::Json widths = util::Json::array();
  for (int64_t w : hidden) widths.push(static_cast<double>(w));
  return util::Json::object()
      .set("steps", static_cast<double>(steps))
      .set("hidden", widths)
      .set("batch_size", static_cast<double>(batch_size))
      .set("learning_rate", learning_rate)
      .set("gamma", gamma)
      .set("target_update_every", static_cast<double>(target_update_every))
      .set("precision", nn::to_string(precision))
      .set("seed", static_cast<double>(seed));
}

}  // namespace greenai::rl
