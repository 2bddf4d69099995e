#include "greenai/grid/forecast.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "greenai/util/csv.h"
#include "greenai/carbon/intensity.h"
#include "greenai/error.h"

namespace greenai::grid {
namespace {

Error series_error(const std::string& origin, size_t line, const std::string& problem,
                   std::string hint = {}) {
  return Error("cannot read series (path=" + origin + ")",
               "line " + std::to_string(line) + ": " + problem, std::move(hint));
}

class Naive final : public Forecaster {
 public:
  std::string name() const override { return "naive"; }
  void fit(const std::vector<double>&) override {}
  std::vector<std::vector<double>> forecast_from(const std::vector<double>& y,
                                                 const std::vector<size_t>& origins,
                                                 int horizon) const override {
    std::vector<std::vector<double>> out;
    for (size_t o : origins) out.emplace_back(static_cast<size_t>(horizon), y[o - 1]);
    return out;
  }
};

class SeasonalNaive final : public Forecaster {
 public:
  SeasonalNaive(int period, std::string name) : period_(period), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  void fit(const std::vector<double>& train) override {
    if (train.size() < static_cast<size_t>(period_))
      throw Error("cannot fit " + name_, "the training part is shorter than one season");
  }
  std::vector<std::vector<double>> forecast_from(const std::vector<double>& y,
                                                 const std::vector<size_t>& origins,
                                                 int horizon) const override {
    std::vector<std::vector<double>> out;
    for (size_t o : origins) {
      std::vector<double> f(static_cast<size_t>(horizon));
      for (int h = 0; h < horizon; ++h) {
        const size_t seasons = static_cast<size_t>(h / period_ + 1);  // the latest season seen
        f[static_cast<size_t>(h)] = y[o + static_cast<size_t>(h) - seasons * period_];
      }
      out.push_back(std::move(f));
    }
    return out;
  }

 private:
  int period_;
  std::string name_;
};

// Taylor (2003): y_t = l_{t-1} d_{t-m1} w_{t-m2} + e_t, with
//   l_t = a y_t / (d_{t-m1} w_{t-m2}) + (1 - a) l_{t-1}
//   d_t = g y_t / (l_t w_{t-m2}) + (1 - g) d_{t-m1}
//   w_t = o y_t / (l_t d_{t-m1}) + (1 - o) w_{t-m2}
// and the k-step forecast l_t d_{t-m1+k} w_{t-m2+k} + phi^k e_t (AR(1) adjustment). The level
// has no trend term (Taylor found none in half-hourly demand over weeks).
class HoltWinters final : public Forecaster {
 public:
  HoltWinters(int m1, int m2) : m1_(m1), m2_(m2) {}
  std::string name() const override { return "holt-winters"; }

  void fit(const std::vector<double>& train) override {
    if (train.size() < static_cast<size_t>(2 * m2_))
      throw Error(
          "cannot fit holt-winters",
          "the training part needs two long seasons (" + std::to_string(2 * m2_) + " values)",
          "give more history before the first forecast (a longer series, a shorter --test-size)");
    init_ = initial_state(train);
    // Least squares of one-step errors over the training part: a coarse grid, then a local
    // search in shrinking steps (the loss is smooth and the parameters bounded to [0, 1]).
    std::array<double, 4> best{0.1, 0.1, 0.1, 0.5};
    double best_sse = sse(train, best);
    for (double a : {0.01, 0.05, 0.2, 0.5})
      for (double g : {0.01, 0.1, 0.3})
        for (double o : {0.01, 0.1, 0.3})
          for (double phi : {0.0, 0.5, 0.9}) {
            const std::array<double, 4> p{a, g, o, phi};
            const double v = sse(train, p);
            if (v < best_sse) best_sse = v, best = p;
          }
    for (double step = 0.1; step > 1e-3; step /= 2) {
      bool improved = true;
      while (improved) {
        improved = false;
        for (size_t i = 0; i < best.size(); ++i)
          for (double sign : {-1.0, 1.0}) {
            std::array<double, 4> p = best;
            p[i] = std::clamp(p[i] + sign * step, 0.0, i == 3 ? 0.99 : 1.0);
            const double v = sse(train, p);
            if (v < best_sse) best_sse = v, best = p, improved = true;
          }
      }
    }
    params_ = best;
  }

  std::vector<std::vector<double>> forecast_from(const std::vector<double>& y,
                                                 const std::vector<size_t>& origins,
                                                 int horizon) const override {
    std::vector<std::vector<double>> out;
    run(y, params_, origins, horizon, &out);
    return out;
  }

  const std::array<double, 4>& params() const { return params_; }

 private:
  struct State {
    double level = 0;
    std::vector<double> d, w;  // the last m1 / m2 seasonal indices, ring buffers by t % m
  };

  // Level: the mean of the first long season; daily and weekly indices from the first two long
  // seasons (the daily profile averaged over all days, the weekly one as what remains).
  State initial_state(const std::vector<double>& y) const {
    State s;
    const size_t m1 = static_cast<size_t>(m1_), m2 = static_cast<size_t>(m2_);
    double mean = 0;
    for (size_t t = 0; t < 2 * m2; ++t) mean += y[t];
    mean /= static_cast<double>(2 * m2);
    s.level = mean;
    s.d.assign(m1, 0);
    for (size_t t = 0; t < 2 * m2; ++t) s.d[t % m1] += y[t] / mean;
    for (double& v : s.d) v /= static_cast<double>(2 * m2 / m1);
    s.w.assign(m2, 0);
    for (size_t t = 0; t < 2 * m2; ++t) s.w[t % m2] += y[t] / (mean * s.d[t % m1]) / 2;
    return s;
  }

  // Runs the filter over y from the start; collects forecasts at `origins` (if given) and
  // returns the sum of squared one-step errors.
  double run(const std::vector<double>& y, const std::array<double, 4>& p,
             const std::vector<size_t>& origins, int horizon,
             std::vector<std::vector<double>>* out) const {
    const auto [a, g, o, phi] = p;
    State s = init_;
    const size_t m1 = static_cast<size_t>(m1_), m2 = static_cast<size_t>(m2_);
    double error = 0, sse = 0;
    size_t next = 0;
    const size_t end = out ? (origins.empty() ? 0 : origins.back()) : y.size();
    for (size_t t = 0; t <= end && t <= y.size(); ++t) {
      while (out && next < origins.size() && origins[next] == t) {
        std::vector<double> f(static_cast<size_t>(horizon));
        double adjust = error;
        for (int k = 1; k <= horizon; ++k) {
          adjust *= phi;
          const size_t i = t + static_cast<size_t>(k) - 1;
          f[static_cast<size_t>(k - 1)] = s.level * s.d[i % m1] * s.w[i % m2] + adjust;
        }
        out->push_back(std::move(f));
        ++next;
      }
      if (t == y.size() || (out && t == end)) break;
      const double dt = s.d[t % m1], wt = s.w[t % m2];
      const double predicted = s.level * dt * wt + phi * error;
      error = y[t] - s.level * dt * wt;
      sse += (y[t] - predicted) * (y[t] - predicted);
      const double level = a * y[t] / (dt * wt) + (1 - a) * s.level;
      s.d[t % m1] = g * y[t] / (level * wt) + (1 - g) * dt;
      s.w[t % m2] = o * y[t] / (level * dt) + (1 - o) * wt;
      s.level = level;
    }
    return sse;
  }

  double sse(const std::vector<double>& y, const std::array<double, 4>& p) const {
    return run(y, p, {}, 0, nullptr);
  }

  int m1_, m2_;
  State init_;
  std::array<double, 4> params_{0.1, 0.1, 0.1, 0.5};
};

}  // namespace

Series parse_series(const std::string& text, const std::string& origin, const std::string& column,
                    int max_fill) {
  Series s;
  s.origin = origin;
  std::vector<std::string> fields;
  std::vector<size_t> lines;  // the line of each value (of the line after, for a filled gap)
  size_t value_column = 1;
  bool header = true;
  const auto fill_hint = [&] {
    return max_fill > 0 ? std::string("fill longer gaps before forecasting")
                        : std::string("--fill-gaps N interpolates up to N missing steps");
  };
  util::for_each_line(text, [&](size_t line, std::string_view raw) {
    if (raw.empty()) return;
    if (!util::split_csv_line(raw, fields))
      throw series_error(origin, line, "unterminated quote");
    if (header) {
      header = false;
      if (!column.empty()) {
        auto it = std::find(fields.begin(), fields.end(), column);
        if (it == fields.end())
          throw series_error(origin, line, "no column \"" + column + "\" in the header",
                             "name one of the header's columns with --column");
        value_column = static_cast<size_t>(it - fields.begin());
      }
      if (fields.size() < 2)
        throw series_error(origin, line, "the header needs a timestamp and a value column");
      return;
    }
    if (fields.size() <= value_column) throw series_error(origin, line, "missing value");
    auto t = carbon::parse_timestamp(fields[0]);
    if (!t) throw series_error(origin, line, "bad timestamp \"" + fields[0] + "\"");
    const std::string& v = fields[value_column];
    char* end = nullptr;
    double value = std::strtod(v.c_str(), &end);
    if (v.empty() && max_fill > 0) {
      value = std::nan("");  // filled below
    } else if (v.empty() || *end != '\0' || !std::isfinite(value)) {
      throw series_error(origin, line, v.empty() ? "missing value" : "not a number: \"" + v + "\"",
                         v.empty() ? fill_hint() : "");
    } else if (value < 0) {
      throw series_error(origin, line, "negative value " + v);
    }
    if (!s.times.empty()) {
      const double step = *t - s.times.back();
      if (step <= 0)
        throw series_error(origin, line,
                           step == 0 ? "duplicate timestamp" : "timestamp out of order");
      if (s.step_s == 0) s.step_s = step;
      const double missing = std::round(step / s.step_s) - 1;
      if (std::abs(step - (missing + 1) * s.step_s) > 1e-6 || missing > max_fill)
        throw series_error(
            origin, line,
            "gap: " + std::to_string(step) + " s after line " + std::to_string(lines.back()) +
                ", the series steps by " + std::to_string(s.step_s) + " s",
            std::abs(step - (missing + 1) * s.step_s) > 1e-6 ? "forecasting needs a regular series"
                                                             : fill_hint());
      for (int k = 1; k <= static_cast<int>(missing); ++k) {
        s.times.push_back(s.times.back() + s.step_s);
        s.values.push_back(std::nan(""));
        lines.push_back(line);
      }
    }
    s.times.push_back(*t);
    s.values.push_back(value);
    lines.push_back(line);
  });
  if (s.values.size() < 2)
    throw Error("cannot read series (path=" + origin + ")", "fewer than two values");
  // Linear interpolation across each run of missing values, which must be short and inside.
  for (size_t i = 0; i < s.values.size();) {
    if (!std::isnan(s.values[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.values.size() && std::isnan(s.values[j])) ++j;
    if (i == 0 || j == s.values.size())
      throw series_error(origin, lines[i], "missing value at the series' end",
                         "cut the series to start and end with a value");
    if (j - i > static_cast<size_t>(max_fill))
      throw series_error(origin, lines[i], std::to_string(j - i) + " missing values in a row",
                         fill_hint());
    const double a = s.values[i - 1], b = s.values[j];
    for (size_t k = i; k < j; ++k) {
      s.values[k] = a + (b - a) * static_cast<double>(k - i + 1) / static_cast<double>(j - i + 1);
      s.filled.push_back(k);
    }
    i = j;
  }
  return s;
}

Series load_series(const std::string& path, const std::string& column, int max_fill) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot read series (path=" + path + ")", "no such file or unreadable");
  std::ostringstream text;
  text << f.rdbuf();
  return parse_series(text.str(), path, column, max_fill);
}

std::unique_ptr<Forecaster> naive_model() { return std::make_unique<Naive>(); }
std::unique_ptr<Forecaster> seasonal_naive_model(int period, const std::string& name) {
  return std::make_unique<SeasonalNaive>(period, name);
}
std::unique_ptr<Forecaster> holt_winters_model(int m1, int m2) {
  return std::make_unique<HoltWinters>(m1, m2);
}

std::vector<std::unique_ptr<Forecaster>> baseline_models(int m1, int m2) {
  std::vector<std::unique_ptr<Forecaster>> models;
  models.push_back(naive_model());
  models.push_back(seasonal_naive_model(m1, "seasonal-naive-" + std::to_string(m1)));
  models.push_back(seasonal_naive_model(m2, "seasonal-naive-" + std::to_string(m2)));
  models.push_back(holt_winters_model(m1, m2));
  return models;
}

std::vector<std::vector<double>> rolling_forecasts(
    Forecaster& model, const std::vector<double>& y, const std::vector<size_t>& origins,
    int horizon, size_t refit_every,
    const std::function<void(size_t done, size_t total)>& on_progress) {
  std::vector<std::vector<double>> out;
  for (size_t k = 0; k < origins.size();) {
    const size_t fit_end = origins[k];
    model.fit(std::vector<double>(y.begin(), y.begin() + static_cast<long>(fit_end)));
    std::vector<size_t> block;
    for (; k < origins.size() && (refit_every == 0 || origins[k] < fit_end + refit_every); ++k)
      block.push_back(origins[k]);
    for (auto& row : model.forecast_from(y, block, horizon)) out.push_back(std::move(row));
    if (on_progress) on_progress(k, origins.size());
  }
  return out;
}

Evaluation evaluate(Forecaster& model, const std::vector<double>& y, size_t train_end, int horizon,
                    int stride) {
  if (horizon < 1 || stride < 1 || train_end < 1 ||
      train_end + static_cast<size_t>(horizon) > y.size())
    throw Error("cannot evaluate " + model.name(),
                "no room for one forecast after the training part",
                "shorten --test-size or --horizon");
  model.fit(std::vector<double>(y.begin(), y.begin() + static_cast<long>(train_end)));
  Evaluation e;
  e.model = model.name();
  for (size_t o = train_end; o + static_cast<size_t>(horizon) <= y.size();
       o += static_cast<size_t>(stride))
    e.origin_index.push_back(o);
  e.forecasts = model.forecast_from(y, e.origin_index, horizon);
  const size_t h = static_cast<size_t>(horizon);
  e.mape.assign(h, 0);
  e.mae.assign(h, 0);
  e.rmse.assign(h, 0);
  size_t zero_actuals = 0;
  for (size_t k = 0; k < e.origin_index.size(); ++k)
    for (size_t j = 0; j < h; ++j) {
      const double actual = y[e.origin_index[k] + j], err = e.forecasts[k][j] - actual;
      if (actual > 0)
        e.mape[j] += std::abs(err) / actual;
      else
        ++zero_actuals;
      e.mae[j] += std::abs(err);
      e.rmse[j] += err * err;
    }
  const double n = static_cast<double>(e.origin_index.size());
  for (size_t j = 0; j < h; ++j) {
    e.mape_all += e.mape[j];
    e.mae_all += e.mae[j];
    e.rmse_all += e.rmse[j];
    e.mape[j] = 100 * e.mape[j] / n;
    e.mae[j] /= n;
    e.rmse[j] = std::sqrt(e.rmse[j] / n);
  }
  const double total = n * static_cast<double>(h);
  e.mape_all = 100 * e.mape_all / (total - static_cast<double>(zero_actuals));
  e.mae_all /= total;
  e.rmse_all = std::sqrt(e.rmse_all / total);
  e.origins = e.origin_index.size();
  return e;
}

}  // namespace greenai::grid
