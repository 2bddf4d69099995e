#include "greenai/compress/observer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "greenai/error.h"

namespace greenai::compress {

Observer parse_observer(const std::string& name) {
  if (name == "minmax") return Observer::kMinMax;
  if (name == "percentile") return Observer::kPercentile;
  if (name == "histogram") return Observer::kHistogram;
  if (name == "entropy") return Observer::kEntropy;
  throw Error("cannot quantize (--observer=" + name + ")", "unknown observer",
              "use minmax, percentile, histogram or entropy");
}

const char* to_string(Observer observer) {
  switch (observer) {
    case Observer::kMinMax:
      return "minmax";
    case Observer::kPercentile:
      return "percentile";
    case Observer::kHistogram:
      return "histogram";
    case Observer::kEntropy:
      return "entropy";
  }
  return "?";
}

ActivationQuant choose_activation_quant(float lo, float hi) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  if (hi - lo < 1e-8f) hi = lo + 1e-8f;
  ActivationQuant q;
  q.scale = (hi - lo) / 255.0f;
  // lo maps to -128: zero_point = -128 - lo / scale, rounded; 0 is then exactly code zero_point.
  q.zero_point = static_cast<int32_t>(std::clamp(std::lround(-128.0 - lo / q.scale), -128L, 127L));
  return q;
}

void RangeObserver::observe_bounds(const float* values, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    const float v = values[i];
    if (std::isnan(v)) continue;
    if (!seen_) {
      lo_ = hi_ = v;
      seen_ = true;
    }
    lo_ = std::min(lo_, v);
    hi_ = std::max(hi_, v);
  }
}

void RangeObserver::observe_histogram(const float* values, size_t count) {
  if (!seen_) return;
  counts_.resize(kBins, 0.0);
  const bool magnitude = observer_ == Observer::kEntropy;
  const double lo = magnitude ? 0.0 : lo_;
  const double hi = magnitude ? std::max(std::fabs(lo_), std::fabs(hi_)) : hi_;
  if (!(hi > lo)) return;
  const double per_bin = kBins / (hi - lo);
  for (size_t i = 0; i < count; ++i) {
    if (std::isnan(values[i])) continue;
    const double v = magnitude ? std::fabs(values[i]) : values[i];
    const auto bin = static_cast<long>((v - lo) * per_bin);
    counts_[static_cast<size_t>(std::clamp(bin, 0L, long{kBins - 1}))] += 1;
  }
}

std::pair<float, float> RangeObserver::range() const {
  if (!seen_) return {0, 0};
  if (observer_ == Observer::kMinMax || counts_.empty() || !(hi_ > lo_)) return {lo_, hi_};
  switch (observer_) {
    case Observer::kPercentile:
      return percentile_range();
    case Observer::kHistogram:
      return histogram_range();
    case Observer::kEntropy:
      return entropy_range();
    case Observer::kMinMax:
      break;
  }
  return {lo_, hi_};
}

// The edges of the bins holding the 0.01th and 99.99th percentiles.
std::pair<float, float> RangeObserver::percentile_range() const {
  double total = 0;
  for (double c : counts_) total += c;
  const double width = (static_cast<double>(hi_) - lo_) / kBins;
  double below = 0;
  int first = 0, last = kBins - 1;
  for (int i = 0; i < kBins; ++i) {
    below += counts_[i];
    if (below >= 0.0001 * total) {
      first = i;
      break;
    }
  }
  double above = 0;
  for (int i = kBins - 1; i >= 0; --i) {
    above += counts_[i];
    if (above >= 0.0001 * total) {
      last = i;
      break;
    }
  }
  return {static_cast<float>(lo_ + first * width), static_cast<float>(lo_ + (last + 1) * width)};
}

// Every bin's values sit at its centre; a candidate range [a, b] quantizes those inside with the
// rounding noise delta^2 / 12 (delta = (b - a) / 255) and clips those outside at their distance
// squared. Candidates trim whole bins from either end; prefix sums make each candidate O(1); ends
// move in steps of 16 bins (about 8,000 candidates).
std::pair<float, float> RangeObserver::histogram_range() const {
  constexpr int kSteps = 128;
  const double lo = lo_, width = (static_cast<double>(hi_) - lo_) / kBins;
  std::vector<double> c0(kBins + 1, 0), c1(kBins + 1, 0), c2(kBins + 1, 0);  // n, n x, n x^2
  for (int i = 0; i < kBins; ++i) {
    const double x = lo + (i + 0.5) * width, n = counts_[i];
    c0[i + 1] = c0[i] + n;
    c1[i + 1] = c1[i] + n * x;
    c2[i + 1] = c2[i] + n * x * x;
  }
  auto clip_below = [&](int end, double a) { return c2[end] - 2 * a * c1[end] + a * a * c0[end]; };
  auto clip_above = [&](int begin, double b) {
    return (c2[kBins] - c2[begin]) - 2 * b * (c1[kBins] - c1[begin]) +
           b * b * (c0[kBins] - c0[begin]);
  };
  double best = std::numeric_limits<double>::infinity();
  std::pair<float, float> range{lo_, hi_};
  const int step = kBins / kSteps;
  for (int i = 0; i < kBins; i += step)
    for (int j = kBins; j > i; j -= step) {
      const double a = lo + i * width, b = lo + j * width;
      const double delta = (b - a) / 255.0;
      const double error =
          clip_below(i, a) + clip_above(j, b) + (c0[j] - c0[i]) * delta * delta / 12.0;
      if (error < best) {
        best = error;
        range = {static_cast<float>(a), static_cast<float>(b)};
      }
    }
  return range;
}

// The threshold T on |x| (a bin edge from 128 bins up) minimising KL(P || Q): P the histogram
// below T with the mass above T added to its last bin (what clipping does), Q the histogram below
// T alone merged into as many levels as the range gets codes (255 for values of one sign, 128 a
// side otherwise) and spread back evenly over the bins that were not empty (what rounding does).
// The range is [lo, hi] clipped to [-T, T].
std::pair<float, float> RangeObserver::entropy_range() const {
  const double top = std::max(std::fabs(lo_), std::fabs(hi_));
  const int levels = lo_ < 0 && hi_ > 0 ? 128 : 255;
  const double width = top / kBins;
  double best = std::numeric_limits<double>::infinity();
  int best_end = kBins;
  std::vector<double> p, q;
  for (int end = levels; end <= kBins; end += 16) {
    p.assign(counts_.begin(), counts_.begin() + end);
    for (int i = end; i < kBins; ++i) p[end - 1] += counts_[i];
    double p_total = 0;
    for (double v : p) p_total += v;
    if (p_total <= 0) continue;
    q.assign(static_cast<size_t>(end), 0.0);
    for (int level = 0; level < levels; ++level) {  // merge, then spread over non-empty bins
      const int begin_bin = level * end / levels, end_bin = (level + 1) * end / levels;
      double mass = 0;
      int nonzero = 0;
      for (int i = begin_bin; i < end_bin; ++i) {
        mass += counts_[i];
        nonzero += counts_[i] > 0;
      }
      for (int i = begin_bin; i < end_bin; ++i)
        if (counts_[i] > 0) q[i] = mass / nonzero;
    }
    double q_total = 0;
    for (double v : q) q_total += v;
    double divergence = 0;
    for (int i = 0; i < end; ++i) {
      if (p[i] <= 0) continue;
      const double pi = p[i] / p_total, qi = q[i] / q_total;
      divergence += qi > 0 ? pi * std::log(pi / qi) : 1e3;  // mass Q cannot hold
    }
    if (divergence < best) {
      best = divergence;
      best_end = end;
    }
  }
  const float threshold = static_cast<float>(best_end * width);
  return {std::max(lo_, -threshold), std::min(hi_, threshold)};
}

}  // namespace greenai::compress
