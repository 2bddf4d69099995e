// Observers: the real range [lo, hi] an int8 activation is quantized over, chosen from the
// values seen on calibration data, and the scale and zero point of that range. No LibTorch: the
// graph quantizer (graph_quantize.h) and the checkpoint quantizer (quantize.h) share them.
//
//   compress::RangeObserver o(compress::Observer::kEntropy);
//   for (batch : calibration) o.observe_bounds(values, n);      // pass 1
//   if (o.needs_histogram())
//     for (batch : calibration) o.observe_histogram(values, n);  // pass 2, same values
//   compress::ActivationQuant q = compress::choose_activation_quant(o.range());
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace greenai::compress {

enum class Observer {
  kMinMax,      ///< The smallest and largest value seen.
  kPercentile,  ///< The 0.01th and 99.99th percentiles: ignores rare outliers.
  kHistogram,   ///< The range that minimises the expected squared quantization error of a
                ///< 2048-bin histogram: rounding noise inside, clipping error outside.
  kEntropy,     ///< The clipping threshold whose quantized histogram loses the least information
                ///< (Kullback-Leibler divergence, as TensorRT's calibrator).
};
/// "minmax", "percentile", "histogram" or "entropy"; throws greenai::Error naming the choices.
Observer parse_observer(const std::string& name);
const char* to_string(Observer observer);

/// Scale and zero point of an int8 activation tensor.
struct ActivationQuant {
  float scale = 1;
  int32_t zero_point = 0;
};
/// Asymmetric int8 parameters for the real range [lo, hi], widened to contain 0.
ActivationQuant choose_activation_quant(float lo, float hi);
inline ActivationQuant choose_activation_quant(std::pair<float, float> range) {
  return choose_activation_quant(range.first, range.second);
}

/// Accumulates the values of one tensor over calibration batches (in two passes when the observer
/// needs a histogram) and chooses its range.
class RangeObserver {
 public:
  static constexpr int kBins = 2048;
  explicit RangeObserver(Observer observer) : observer_(observer) {}
  /// Pass 1: the smallest and largest values (NaNs are ignored).
  void observe_bounds(const float* values, size_t count);
  bool needs_histogram() const { return observer_ != Observer::kMinMax; }
  /// Pass 2, over the same values: a histogram over the bounds of pass 1 (entropy: of |x|).
  void observe_histogram(const float* values, size_t count);
  /// The range chosen; (0, 0) when nothing was observed.
  std::pair<float, float> range() const;

 private:
  std::pair<float, float> percentile_range() const;
  std::pair<float, float> histogram_range() const;
  std::pair<float, float> entropy_range() const;
  Observer observer_;
  float lo_ = 0, hi_ = 0;
  bool seen_ = false;
  std::vector<double> counts_;
};

}  // namespace greenai::compress
