// The site's RL agents: Double DQN with shared weights, trained inside the simulator (rl.h).
#include "greenai/site/rl.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>
#include <random>

#include "greenai/error.h"
#include "greenai/rl/q_network.h"
#include "greenai/rl/replay_buffer.h"

namespace greenai::site {
namespace {

constexpr const char* kFormat = "greenai-site-rl-1";

torch::nn::Sequential make_net(const std::vector<int64_t>& hidden, int64_t actions) {
  return rl::make_q_network(kRlObservations, hidden, actions);
}

// The observations of every building at the start of hour state.t: [buildings, kRlObservations].
torch::Tensor observations(const SiteState& state, const ObservationScales& scales) {
  const size_t n = state.batteries.size();
  torch::Tensor obs = torch::empty({static_cast<int64_t>(n), kRlObservations});
  float* p = obs.data_ptr<float>();
  for (size_t i = 0; i < n; ++i)
    rl_observation(state, i, scales, std::span<float>(p + i * kRlObservations, kRlObservations));
  return obs;
}

// Each building's hourly means without a battery: what the reward's terms are measured in.
struct RewardScales {
  std::vector<double> cost, emissions, ramping;
};

RewardScales reward_scales(const SiteData& data) {
  const SiteRun base = baseline(data);
  RewardScales s;
  const double hours = static_cast<double>(std::max<size_t>(1, data.hours()));
  for (const auto& net : base.net_kwh) {
    double cost = 0, emissions = 0, ramping = 0;
    for (size_t t = 0; t < net.size(); ++t) {
      cost += std::max(net[t], 0.0) * data.price_per_kwh[t];
      emissions += std::max(net[t], 0.0) * data.carbon_kg_per_kwh[t];
      if (t > 0) ramping += std::abs(net[t] - net[t - 1]);
    }
    // A building that never imports still gets finite rewards.
    s.cost.push_back(std::max(cost / hours, 1e-9));
    s.emissions.push_back(std::max(emissions / hours, 1e-9));
    s.ramping.push_back(std::max(ramping / hours, 1e-9));
  }
  return s;
}

// Acts epsilon-greedily and learns from each hour it sees: the controller simulate() runs while
// training.
class Learner : public Controller {
 public:
  Learner(const SiteData& data, const RlOptions& o, const ObservationScales& scales,
          torch::nn::Sequential net)
      : o_(o),
        scales_(scales),
        rewards_(reward_scales(data)),
        net_(std::move(net)),
        target_(make_net(o.hidden, static_cast<int64_t>(rl_action_levels().size()))),
        optimizer_(net_->parameters(), torch::optim::AdamOptions(o.learning_rate)),
        buffer_(o.buffer_size, kRlObservations),
        rng_(o.seed ^ 0x5851f42d4c957f2dULL),
        decay_hours_(o.epsilon_decay_fraction * o.episodes * static_cast<double>(data.hours())) {
    rl::copy_parameters(net_, target_);
  }
  std::string name() const override { return "rl (learning)"; }
  void begin_episode() { has_previous_ = false; }
  int64_t updates() const { return updates_; }
  double epsilon() const {
    if (decay_hours_ <= 0) return o_.epsilon_end;
    const double f = std::min(1.0, static_cast<double>(hours_seen_) / decay_hours_);
    return o_.epsilon_start + f * (o_.epsilon_end - o_.epsilon_start);
  }

  void act(const SiteState& state, std::span<double> actions) override {
    const size_t n = actions.size();
    const torch::Tensor obs = observations(state, scales_);
    const float* now = obs.data_ptr<float>();
    if (has_previous_) {
      const float* before = previous_obs_.data_ptr<float>();
      const size_t t = state.t - 1;  // the hour that just ended
      for (size_t i = 0; i < n; ++i) {
        const double net = state.last_net_kwh[i], imported = std::max(net, 0.0);
        const double ramp = t > 0 ? std::abs(net - previous_net_[i]) : 0.0;
        const double reward =
            -(imported * state.data->price_per_kwh[t] / rewards_.cost[i] / 3 +
              imported * state.data->carbon_kg_per_kwh[t] / rewards_.emissions[i] / 3 +
              ramp / rewards_.ramping[i] / 6);
        buffer_.add(before + i * kRlObservations, previous_action_[i], reward,
                    now + i * kRlObservations, /*terminal=*/false);
        previous_net_[i] = net;
      }
      learn();
    } else {
      previous_net_.assign(n, 0.0);
    }
    const auto& levels = rl_action_levels();
    torch::Tensor greedy;
    {
      torch::NoGradGuard no_grad;
      greedy = net_->forward(obs).argmax(1).contiguous();
    }
    const double eps = epsilon();
    std::uniform_real_distribution<double> coin(0, 1);
    std::uniform_int_distribution<int64_t> any(0, static_cast<int64_t>(levels.size()) - 1);
    previous_action_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const int64_t a =
          coin(rng_) < eps ? any(rng_) : greedy.data_ptr<int64_t>()[static_cast<int64_t>(i)];
      previous_action_[i] = a;
      actions[i] = levels[static_cast<size_t>(a)];
    }
    previous_obs_ = obs;
    has_previous_ = true;
    ++hours_seen_;
  }

 private:
  void learn() {
    if (buffer_.size() < std::max(o_.learning_starts, o_.batch_size)) return;
    auto [s, a, r, next, terminal] = buffer_.sample(o_.batch_size, rng_);
    torch::Tensor y;
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor next_action = net_->forward(next).argmax(1, /*keepdim=*/true);
      y = r + o_.gamma * target_->forward(next).gather(1, next_action).squeeze(1);
    }
    const torch::Tensor q = net_->forward(s).gather(1, a.unsqueeze(1)).squeeze(1);
    const torch::Tensor loss = torch::smooth_l1_loss(q, y);
    optimizer_.zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(net_->parameters(), 10.0);
    optimizer_.step();
    if (++updates_ % o_.target_update_every == 0) rl::copy_parameters(net_, target_);
  }

  RlOptions o_;
  ObservationScales scales_;
  RewardScales rewards_;
  torch::nn::Sequential net_, target_;
  torch::optim::Adam optimizer_;
  rl::ReplayBuffer buffer_;
  std::mt19937_64 rng_;
  double decay_hours_;
  int64_t hours_seen_ = 0, updates_ = 0;
  bool has_previous_ = false;
  torch::Tensor previous_obs_;
  std::vector<int64_t> previous_action_;
  std::vector<double> previous_net_;
};

util::Json widths_json(const std::vector<int64_t>& hidden) {
  util::Json list = util::Json::array();
  for (int64_t w : hidden) list.push(static_cast<double>(w));
  return list;
}

void check(const RlOptions& o) {
  const auto bad = [](const std::string& what) {
    throw Error("cannot train the site's RL agent", what);
  };
  if (o.episodes < 1 || o.episodes > 10000) bad("episodes must be 1 to 10000");
  if (o.hidden.empty()) bad("give at least one hidden layer");
  for (int64_t w : o.hidden)
    if (w < 1 || w > 65536) bad("hidden widths must be 1 to 65536");
  if (o.batch_size < 1 || o.buffer_size < o.batch_size)
    bad("batch size must be at least 1 and at most the buffer size");
  if (!(o.learning_rate > 0) || !(o.gamma >= 0 && o.gamma < 1))
    bad("learning rate must be > 0 and gamma in [0, 1)");
  if (o.target_update_every < 1) bad("target_update_every must be at least 1");
  if (!(o.epsilon_end >= 0 && o.epsilon_start <= 1 && o.epsilon_end <= o.epsilon_start))
    bad("epsilon must fall from epsilon_start to epsilon_end within [0, 1]");
}

}  // namespace

void rl_observation(const SiteState& state, size_t i, const ObservationScales& scales,
                    std::span<float> out) {
  const SiteData& d = *state.data;
  const BuildingData& b = d.buildings[i];
  const size_t t = state.t, last = d.hours() - 1;
  const double capacity = std::max(b.battery.capacity_kwh, 1e-9);
  const double hour = 2 * std::numbers::pi * b.hour[t] / 24;
  const double month = 2 * std::numbers::pi * b.month[t] / 12;
  size_t k = 0;
  const auto put = [&](double v) { out[k++] = static_cast<float>(v); };
  put(std::sin(hour));
  put(std::cos(hour));
  put(std::sin(month));
  put(std::cos(month));
  put(b.day_type[t] >= 6 ? 1.0 : 0.0);  // Saturday, Sunday, holiday
  // Weather (zeros where the folder has no weather.csv): temperature, humidity, diffuse and
  // direct irradiance now, then each one's three predictions.
  static constexpr double kWeatherScale[4] = {40.0, 100.0, 1000.0, 1000.0};
  for (size_t w = 0; w < 16; ++w)
    put(d.weather.empty() ? 0.0 : d.weather[t][w] / kWeatherScale[w < 4 ? w : (w - 4) / 3]);
  put(d.carbon_kg_per_kwh[t] / scales.carbon_kg_per_kwh);
  put(b.load_kwh[t] / capacity);
  put(b.solar_kwh(t) / capacity);
  put(state.batteries[i]->soc_fraction());
  put(state.last_net_kwh.empty() ? 0.0 : state.last_net_kwh[i] / capacity);
  put(d.price_per_kwh[t] / scales.price_per_kwh);
  for (size_t p = 0; p < 3; ++p) {
    // pricing.csv's predictions (6, 12, 24 h on), or the tariff itself then.
    const size_t ahead[3] = {6, 12, 24};
    put((d.price_predicted.empty() ? d.price_per_kwh[std::min(t + ahead[p], last)]
                                   : d.price_predicted[t][p]) /
        scales.price_per_kwh);
  }
}

const std::vector<double>& rl_action_levels() {
  static const std::vector<double> levels{-0.8, -0.5, -0.3, -0.15, -0.05, 0,
                                          0.05, 0.15, 0.3,  0.5,   0.8};
  return levels;
}

util::Json RlOptions::to_json() const {
  return util::Json::object()
      .set("episodes", episodes)
      .set("hidden", widths_json(hidden))
      .set("batch_size", static_cast<double>(batch_size))
      .set("learning_rate", learning_rate)
      .set("gamma", gamma)
      .set("buffer_size", static_cast<double>(buffer_size))
      .set("learning_starts", static_cast<double>(learning_starts))
      .set("target_update_every", static_cast<double>(target_update_every))
      .set("epsilon_start", epsilon_start)
      .set("epsilon_end", epsilon_end)
      .set("epsilon_decay_fraction", epsilon_decay_fraction)
      .set("seed", static_cast<double>(seed));
}

util::Json RlTrainReport::to_json() const {
  util::Json list = util::Json::array();
  for (const RlEpisode& e : episodes)
    list.push(util::Json::object()
                  .set("episode", e.episode)
                  .set("epsilon", e.epsilon)
                  .set("score", e.score)
                  .set("seconds", e.seconds));
  return util::Json::object()
      .set("episodes", list)
      .set("best_episode", best_episode)
      .set("updates", static_cast<double>(updates))
      .set("seconds", seconds);
}

struct RlController::Impl {
  std::vector<int64_t> hidden;
  ObservationScales scales;
  torch::nn::Sequential net;
  util::Json training = util::Json::object();
};

RlController::RlController(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RlController::~RlController() = default;

const util::Json& RlController::training() const { return impl_->training; }
void RlController::set_training(util::Json training) { impl_->training = std::move(training); }

void RlController::act(const SiteState& state, std::span<double> actions) {
  torch::NoGradGuard no_grad;
  const torch::Tensor best = impl_->net->forward(observations(state, impl_->scales)).argmax(1);
  const auto& levels = rl_action_levels();
  for (size_t i = 0; i < actions.size(); ++i)
    actions[i] = levels[static_cast<size_t>(best[static_cast<int64_t>(i)].item<int64_t>())];
}

void RlController::save(const std::string& path) const {
  util::Json levels = util::Json::array();
  for (double l : rl_action_levels()) levels.push(l);
  torch::serialize::OutputArchive archive;
  archive.write("meta", c10::IValue(util::Json::object()
                                        .set("format", kFormat)
                                        .set("observations", kRlObservations)
                                        .set("levels", levels)
                                        .set("hidden", widths_json(impl_->hidden))
                                        .set("price_scale", impl_->scales.price_per_kwh)
                                        .set("carbon_scale", impl_->scales.carbon_kg_per_kwh)
                                        .set("training", impl_->training)
                                        .dump()));
  impl_->net->save(archive);
  try {
    archive.save_to(path);
  } catch (const c10::Error&) {
    throw Error("cannot write the site's RL agent (path=" + path + ")", "write failed",
                "check the folder exists and is writable");
  }
}

std::unique_ptr<RlController> RlController::load(const std::string& path) {
  const std::string action = "cannot read the site's RL agent (path=" + path + ")";
  const std::string fix = "give a file written by greenai site train --controller rl";
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error&) {
    throw Error(action, "missing, unreadable or not a LibTorch archive", fix);
  }
  c10::IValue meta_value;
  if (!archive.try_read("meta", meta_value) || !meta_value.isString())
    throw Error(action, "no greenai metadata", fix);
  util::Json meta;
  try {
    meta = util::Json::parse(meta_value.toStringRef());
  } catch (const Error& e) {
    throw Error(action, std::string("bad metadata: ") + e.what(), fix);
  }
  const auto number = [&](const char* key) {
    const util::Json* v = meta.find(key);
    if (!v || v->type() != util::Json::Type::kNumber)
      throw Error(action, std::string("no number '") + key + "' in its metadata", fix);
    return v->number();
  };
  const util::Json* format = meta.find("format");
  if (!format || format->type() != util::Json::Type::kString || format->string() != kFormat)
    throw Error(action, "not a greenai site agent", fix);
  const util::Json* levels = meta.find("levels");
  if (number("observations") != kRlObservations || !levels || !levels->is_array() ||
      levels->items().size() != rl_action_levels().size())
    throw Error(action, "written for other observations or actions than this greenai's",
                "train it again with this version: greenai site train --controller rl");
  auto impl = std::make_unique<Impl>();
  const util::Json* hidden = meta.find("hidden");
  if (!hidden || !hidden->is_array()) throw Error(action, "no hidden widths", fix);
  for (const auto& w : hidden->items()) {
    if (w.type() != util::Json::Type::kNumber || w.number() < 1 || w.number() > 65536)
      throw Error(action, "bad hidden widths", fix);
    impl->hidden.push_back(static_cast<int64_t>(w.number()));
  }
  impl->scales = {number("price_scale"), number("carbon_scale")};
  if (!(impl->scales.price_per_kwh > 0) || !(impl->scales.carbon_kg_per_kwh > 0))
    throw Error(action, "observation scales must be > 0", fix);
  if (const util::Json* t = meta.find("training")) impl->training = *t;
  impl->net = make_net(impl->hidden, static_cast<int64_t>(rl_action_levels().size()));
  try {
    impl->net->load(archive);
  } catch (const c10::Error&) {
    throw Error(action, "its weights do not match its metadata", fix);
  }
  impl->net->eval();
  return std::unique_ptr<RlController>(new RlController(std::move(impl)));
}

std::unique_ptr<RlController> train_rl(const SiteData& data, const RlOptions& options,
                                       RlTrainReport* report,
                                       const std::function<void(const RlEpisode&)>& on_episode) {
  check(options);
  if (data.buildings.empty() || data.hours() < 2)
    throw Error("cannot train the site's RL agent", "the site has no buildings or under 2 hours");
  const auto started = std::chrono::steady_clock::now();
  torch::manual_seed(options.seed);
  ObservationScales scales;
  scales.price_per_kwh =
      std::max(1e-9, *std::max_element(data.price_per_kwh.begin(), data.price_per_kwh.end()));
  scales.carbon_kg_per_kwh = std::max(
      1e-9, *std::max_element(data.carbon_kg_per_kwh.begin(), data.carbon_kg_per_kwh.end()));
  const auto levels = static_cast<int64_t>(rl_action_levels().size());
  torch::nn::Sequential net = make_net(options.hidden, levels);
  Learner learner(data, options, scales, net);

  auto impl = std::make_unique<RlController::Impl>();
  impl->hidden = options.hidden;
  impl->scales = scales;
  impl->net = make_net(options.hidden, levels);
  std::unique_ptr<RlController> greedy(new RlController(std::move(impl)));
  torch::nn::Sequential best = make_net(options.hidden, levels);

  RlTrainReport r;
  const SiteRun base = baseline(data);
  double best_score = INFINITY;
  for (int e = 1; e <= options.episodes; ++e) {
    const auto episode_started = std::chrono::steady_clock::now();
    learner.begin_episode();
    simulate(data, learner);
    rl::copy_parameters(net, greedy->impl_->net);
    const double score = site::score(data, simulate(data, *greedy), base).district.score();
    if (score < best_score) {
      best_score = score;
      r.best_episode = e;
      rl::copy_parameters(net, best);
    }
    RlEpisode episode{
        e, learner.epsilon(), score,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - episode_started).count()};
    r.episodes.push_back(episode);
    if (on_episode) on_episode(episode);
  }
  rl::copy_parameters(best, greedy->impl_->net);
  r.updates = learner.updates();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (report) *report = r;
  return greedy;
}

util::Json RlTraining::to_json(const RlOptions& options, const std::string& data,
                               const std::string& battery) const {
  return util::Json::object()
      .set("data", data)
      .set("battery", battery)
      .set("options", options.to_json())
      .set("report", report.to_json())
      .set("seconds", seconds)
      .set("energy", track::energy_to_json(energy, emissions_kg))
      .set("provenance", provenance.to_json());
}

RlTraining train_rl_tracked(const SiteData& data, const RlOptions& options, track::Tracker& tracker,
                            const std::function<void(const RlEpisode&)>& on_episode) {
  RlTraining t;
  tracker.step();  // from here
  t.controller = train_rl(data, options, &t.report, on_episode);
  const track::StepEnergy spent = tracker.step();
  t.energy = spent.tree;
  t.emissions_kg = spent.emissions_kg;
  t.seconds = spent.duration_s;
  t.provenance = track::Provenance::of(tracker.info());
  t.controller->set_training(
      t.to_json(options, data.source,
                data.buildings.empty() ? "" : to_string(data.buildings[0].battery.accounting)));
  return t;
}

}  // namespace greenai::site
