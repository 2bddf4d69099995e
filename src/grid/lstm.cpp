#include "greenai/grid/lstm.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "greenai/error.h"

namespace greenai::grid {
namespace {

constexpr double kSecondsPerDay = 86400;
constexpr double kTwoPi = 6.283185307179586;
// 1970-01-01 was a Thursday: +3 days puts Monday at phase 0.
constexpr double kEpochWeekdayFromMonday = 3;
// Validation loss must fall by this factor to count as better; stop after this many epochs
// without that.
constexpr double kImprovement = 0.999;
constexpr int kPatience = 15;

struct Net : torch::nn::Module {
  Net(int64_t inputs, const LstmOptions& o)
      : lstm(register_module(
            "lstm",
            torch::nn::LSTM(
                torch::nn::LSTMOptions(inputs, o.hidden).num_layers(o.layers).batch_first(true)))),
        head(register_module("head", torch::nn::Linear(o.hidden, o.horizon))) {}
  // x: [batch, window, features] -> [batch, horizon]
  torch::Tensor forward(const torch::Tensor& x) {
    auto out = std::get<0>(lstm->forward(x));
    return head->forward(out.select(1, out.size(1) - 1));
  }
  torch::nn::LSTM lstm;
  torch::nn::Linear head;
};

double mean_of(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}
double sd_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  const double sd = std::sqrt(s / static_cast<double>(v.size()));
  return sd > 0 ? sd : 1;  // a constant series: any scale will do
}

class Lstm final : public Forecaster, public ReportsFit {
 public:
  explicit Lstm(const LstmOptions& o) : o_(o) {
    if (o.layers < 1 || o.hidden < 1 || o.window < 1 || o.horizon < 1 || o.epochs < 1 ||
        o.batch_size < 1 || !(o.learning_rate > 0) || !(o.step_s > 0) ||
        !(o.validation_fraction >= 0 && o.validation_fraction < 1))
      throw Error("cannot make lstm",
                  "layers, hidden, window, horizon, epochs and batch size "
                  "must be positive");
    if (o.anchor_period != 0 && o.anchor_period < o.horizon)
      throw Error("cannot make lstm (anchor_period=" + std::to_string(o.anchor_period) + ")",
                  "the anchor season is shorter than the horizon (" + std::to_string(o.horizon) +
                      "): its values would not be known yet",
                  "anchor on a longer season or forecast fewer steps");
  }
  std::string name() const override { return "lstm"; }
  const LstmFitReport& fit_report() const override { return report_; }

  void fit(const std::vector<double>& train) override {
    const auto started = std::chrono::steady_clock::now();
    const size_t first = first_origin(), h = static_cast<size_t>(o_.horizon);
    if (train.size() < first + h + 2)
      throw Error("cannot fit lstm",
                  "the training part has " + std::to_string(train.size()) +
                      " values; one window needs " + std::to_string(first + h) +
                      " (window + anchor season + horizon)",
                  "give more history or a shorter window (--lstm-window)");
    mean_ = mean_of(train);
    sd_ = sd_of(train);
    if (o_.anchor_period > 0) {
      std::vector<double> changes;
      for (size_t i = static_cast<size_t>(o_.anchor_period); i < train.size(); ++i)
        changes.push_back(train[i] - train[i - static_cast<size_t>(o_.anchor_period)]);
      change_sd_ = sd_of(changes);
    }
    // Origins whose whole horizon lies in the training part; the latest ones validate, and
    // their targets start where the training windows' targets end.
    const size_t last = train.size() - h;  // inclusive
    const size_t count = last - first + 1;
    const size_t validation = static_cast<size_t>(o_.validation_fraction * double(count));
    const size_t split = last + 1 - validation;
    std::vector<size_t> fit_origins, validation_origins;
    for (size_t origin = first; origin + h <= split; ++origin) fit_origins.push_back(origin);
    for (size_t origin = split; origin <= last; ++origin) validation_origins.push_back(origin);
    if (fit_origins.empty())
      throw Error("cannot fit lstm", "no training window is left after validation",
                  "give more history");

    torch::manual_seed(o_.seed);
    net_ = std::make_shared<Net>(features(), o_);
    const torch::Tensor x = inputs(train, fit_origins), y = targets(train, fit_origins);
    torch::Tensor vx, vy;
    if (!validation_origins.empty()) {
      vx = inputs(train, validation_origins);
      vy = targets(train, validation_origins);
    }
    torch::optim::Adam optimizer(net_->parameters(), torch::optim::AdamOptions(o_.learning_rate));
    std::mt19937_64 shuffle(o_.seed);
    std::vector<int64_t> order(fit_origins.size());
    std::iota(order.begin(), order.end(), 0);
    double best = INFINITY;
    std::vector<torch::Tensor> best_state;
    report_ = {};
    report_.windows = static_cast<int64_t>(fit_origins.size());
    for (int epoch = 1; epoch <= o_.epochs; ++epoch) {
      const double lr =
          o_.learning_rate * 0.5 * (1 + std::cos(kTwoPi / 2 * (epoch - 1) / o_.epochs));
      for (auto& group : optimizer.param_groups())
        static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
      std::shuffle(order.begin(), order.end(), shuffle);
      net_->train();
      double train_loss = 0;
      for (size_t b = 0; b < order.size(); b += static_cast<size_t>(o_.batch_size)) {
        const size_t e = std::min(order.size(), b + static_cast<size_t>(o_.batch_size));
        const auto idx = torch::tensor(std::vector<int64_t>(order.begin() + static_cast<long>(b),
                                                            order.begin() + static_cast<long>(e)));
        optimizer.zero_grad();
        auto loss = torch::mse_loss(net_->forward(x.index_select(0, idx)), y.index_select(0, idx));
        loss.backward();
        optimizer.step();
        train_loss += loss.item<double>() * static_cast<double>(e - b);
      }
      train_loss /= static_cast<double>(order.size());
      double validation_loss = train_loss;  // no validation part: keep the last epoch
      if (vx.defined()) {
        torch::NoGradGuard no_grad;
        net_->eval();
        validation_loss = torch::mse_loss(net_->forward(vx), vy).item<double>();
      }
      report_.epochs_run = epoch;
      if (validation_loss < best * kImprovement || !vx.defined()) {
        best = validation_loss;
        report_.best_epoch = epoch;
        report_.train_loss = train_loss;
        report_.validation_loss = validation_loss;
        best_state.clear();
        for (const auto& p : net_->parameters()) best_state.push_back(p.detach().clone());
      } else if (epoch - report_.best_epoch >= kPatience) {
        break;
      }
    }
    torch::NoGradGuard no_grad;
    auto params = net_->parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best_state[i]);
    net_->eval();
    report_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }

  std::vector<std::vector<double>> forecast_from(const std::vector<double>& y,
                                                 const std::vector<size_t>& origins,
                                                 int horizon) const override {
    if (!net_) throw Error("cannot forecast with lstm", "the model has not been fitted");
    if (horizon > o_.horizon)
      throw Error("cannot forecast with lstm (horizon=" + std::to_string(horizon) + ")",
                  "the network was trained for " + std::to_string(o_.horizon) + " steps",
                  "train it with a longer horizon");
    for (size_t origin : origins)
      if (origin < first_origin() || origin > y.size())
        throw Error(
            "cannot forecast with lstm (origin=" + std::to_string(origin) + ")",
            "the origin needs " + std::to_string(first_origin()) + " steps of history before it");
    std::vector<std::vector<double>> out;
    if (origins.empty()) return out;
    torch::NoGradGuard no_grad;
    const torch::Tensor predicted =
        net_->forward(inputs(y, origins)).to(torch::kDouble).contiguous();
    const auto p = predicted.accessor<double, 2>();
    for (size_t k = 0; k < origins.size(); ++k) {
      std::vector<double> f(static_cast<size_t>(horizon));
      for (size_t j = 0; j < f.size(); ++j) {
        const size_t t = origins[k] + j;
        const double v = p[static_cast<int64_t>(k)][static_cast<int64_t>(j)];
        f[j] = o_.anchor_period > 0 ? y[t - static_cast<size_t>(o_.anchor_period)] + v * change_sd_
                                    : mean_ + v * sd_;
        f[j] = std::max(0.0, f[j]);  // demand and intensity are never negative
      }
      out.push_back(std::move(f));
    }
    return out;
  }

 private:
  size_t first_origin() const {
    return static_cast<size_t>(o_.window) + static_cast<size_t>(o_.anchor_period);
  }
  int64_t features() const { return o_.anchor_period > 0 ? 6 : 5; }

  // [origins, window, features]: value, change against the anchor season, time of day and day
  // of week (sine and cosine) of each input step.
  torch::Tensor inputs(const std::vector<double>& y, const std::vector<size_t>& origins) const {
    const int64_t n = static_cast<int64_t>(origins.size()), w = o_.window, f = features();
    std::vector<float> data(static_cast<size_t>(n * w * f));
    float* p = data.data();
    for (size_t origin : origins)
      for (size_t s = origin - static_cast<size_t>(w); s < origin; ++s) {
        *p++ = static_cast<float>((y[s] - mean_) / sd_);
        if (o_.anchor_period > 0)
          *p++ = static_cast<float>((y[s] - y[s - static_cast<size_t>(o_.anchor_period)]) /
                                    change_sd_);
        const double t = o_.start_unix_s + static_cast<double>(s) * o_.step_s;
        const double day = std::fmod(t, kSecondsPerDay) / kSecondsPerDay;
        const double week = std::fmod(t / kSecondsPerDay + kEpochWeekdayFromMonday, 7) / 7;
        *p++ = static_cast<float>(std::sin(kTwoPi * day));
        *p++ = static_cast<float>(std::cos(kTwoPi * day));
        *p++ = static_cast<float>(std::sin(kTwoPi * week));
        *p++ = static_cast<float>(std::cos(kTwoPi * week));
      }
    return torch::from_blob(data.data(), {n, w, f}, torch::kFloat).clone();
  }

  torch::Tensor targets(const std::vector<double>& y, const std::vector<size_t>& origins) const {
    const int64_t n = static_cast<int64_t>(origins.size()), h = o_.horizon;
    std::vector<float> data(static_cast<size_t>(n * h));
    float* p = data.data();
    for (size_t origin : origins)
      for (size_t t = origin; t < origin + static_cast<size_t>(h); ++t)
        *p++ = static_cast<float>(o_.anchor_period > 0
                                      ? (y[t] - y[t - static_cast<size_t>(o_.anchor_period)]) /
                                            change_sd_
                                      : (y[t] - mean_) / sd_);
    return torch::from_blob(data.data(), {n, h}, torch::kFloat).clone();
  }

  LstmOptions o_;
  double mean_ = 0, sd_ = 1, change_sd_ = 1;
  std::shared_ptr<Net> net_;
  LstmFitReport report_;
};

}  // namespace

std::unique_ptr<Forecaster> lstm_model(const LstmOptions& options) {
  return std::make_unique<Lstm>(options);
}

}  // namespace greenai::grid
