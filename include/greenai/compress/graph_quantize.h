// Static int8 quantization of an fp32 edge graph, such as an imported ONNX model: every value's
// range observed on calibration inputs run through the edge runtime, weights per output channel
// (symmetric), activations per tensor (asymmetric int8, uint8's range), biases int32; the layers
// asked for, or those whose quantization hurts most (choose_fp32_fallback), left in fp32 between
// Dequantize and Quantize. No LibTorch.
//
//   std::vector<uint8_t> fp32 = interop::onnx_to_edge(onnx_bytes);
//   compress::GraphCalibration cal = compress::calibrate_graph(fp32, x.data(), n, {});
//   compress::QuantizedGraph q = compress::quantize_graph(fp32, cal, {});
//   edge::write_file("model.int8.edge", q.bytes);
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "greenai/compress/observer.h"

namespace greenai::compress {

struct GraphQuantizeOptions {
  Observer observer = Observer::kMinMax;
  /// Operators (indices in the fp32 graph) kept in fp32.
  std::vector<uint32_t> keep_fp32;
  /// 8 (codes in [-127, 127]) or 7 ([-63, 63]; faster on AVX2 without VNNI, docs/edge-runtime.md).
  int weight_bits = 8;
  /// Calibration examples run per call.
  int batch = 16;
};

/// The real range of every value of an fp32 graph (0 the input, k + 1 operator k's output) on
/// the calibration inputs, as the observer chose it.
struct GraphCalibration {
  Observer observer = Observer::kMinMax;
  size_t examples = 0;
  std::vector<std::pair<float, float>> ranges;
};

/// Runs `examples` inputs (one after another, the model's input size each) through the fp32 graph
/// and observes every value (two passes for the observers that need a histogram). Throws
/// greenai::Error when the file does not load, holds int8 operators, or there are no examples.
GraphCalibration calibrate_graph(const std::vector<uint8_t>& fp32, const float* inputs,
                                 size_t examples, const GraphQuantizeOptions& options);

struct QuantizedGraph {
  std::vector<uint8_t> bytes;       ///< the int8 edge file
  std::vector<uint32_t> kept_fp32;  ///< fp32-graph operators left in fp32
  size_t int8_operators = 0;        ///< of the fp32 graph's operators, those now int8
  size_t converters = 0;            ///< Quantize and Dequantize operators added
};

/// The int8 graph. Operators with no int8 form (Softmax, DynamicLinear) stay in fp32 too.
QuantizedGraph quantize_graph(const std::vector<uint8_t>& fp32, const GraphCalibration& calibration,
                              const GraphQuantizeOptions& options);

/// The operators of the fp32 graph with weights (Linear, Conv2d): what keep_fp32 may name.
std::vector<uint32_t> weighted_operators(const std::vector<uint8_t>& fp32);
/// "op 3 (Conv2d 16->32, 3x3, stride 2)": how reports name an operator of the fp32 graph.
std::string describe_operator(const std::vector<uint8_t>& fp32, uint32_t op);

/// How closely a quantized graph follows the fp32 one on the same inputs.
struct Agreement {
  double top1 = 0;            ///< share of examples whose largest output is the same
  double relative_error = 0;  ///< sum of squared differences / sum of squared fp32 outputs
};
Agreement compare_graphs(const std::vector<uint8_t>& fp32, const std::vector<uint8_t>& quantized,
                         const float* inputs, size_t examples);

/// The automatic fp32 fallback: each weighted operator alone kept in fp32, measured on the
/// calibration inputs against the fp32 graph; then, best first, operators kept while each adds at
/// least `min_gain` top-1 agreement (at most `max_kept`).
struct FallbackTrial {
  uint32_t op = 0;
  Agreement agreement;
};
struct FallbackChoice {
  Agreement all_int8;                 ///< with nothing kept
  std::vector<FallbackTrial> trials;  ///< one per weighted operator
  std::vector<uint32_t> kept;         ///< the choice
  Agreement chosen;                   ///< with the choice kept
};
FallbackChoice choose_fp32_fallback(const std::vector<uint8_t>& fp32,
                                    const GraphCalibration& calibration, const float* inputs,
                                    size_t examples, const GraphQuantizeOptions& options,
                                    double min_gain = 0.001, size_t max_kept = 3);

}  // namespace greenai::compress
