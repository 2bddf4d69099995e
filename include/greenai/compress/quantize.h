// Export of trained models to the edge format: fp32 as trained, or int8 by static post-training
// quantization.
//
// int8 scheme (as TensorFlow Lite's): weights symmetric per output channel (zero point 0, codes
// in [-127, 127]); activations asymmetric per tensor, with a range that always contains 0 so
// that zero is exact; int32 bias with scale s_in x s_w; a fixed-point multiplier and shift per
// output channel to requantize. Linear+ReLU and Conv2d+ReLU are fused (the ReLU becomes the
// output clamp). Activation ranges come from running calibration examples through the model.
//
//   auto bytes = greenai::compress::quantize_to_edge(net, calibration_images, {.observer =
//   Observer::kMinMax}); greenai::edge::write_file("model.edge", bytes);
#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "greenai/compress/observer.h"
#include "greenai/nn/model.h"

namespace greenai::compress {

struct QuantizeOptions {
  Observer observer = Observer::kMinMax;
  /// Indices (in the model spec) of Linear/Conv2d layers to keep in fp32, with Dequantize and
  /// Quantize operators around them.
  std::vector<size_t> keep_fp32;
  /// Bits of the weight codes: 8 (codes in [-127, 127]) or 7 ([-63, 63], half the resolution).
  /// On AVX2 without VNNI the edge runtime multiplies 7-bit weights with one instruction fewer
  /// (docs/edge-runtime.md), as ONNX Runtime's reduce_range does for the same reason.
  int weight_bits = 8;
};

/// The real range an observer chooses for the values of `t`.
std::pair<float, float> observe_range(const torch::Tensor& t, Observer observer);

/// The model as an fp32 edge file (Dropout dropped, ReLU fused into the preceding layer).
/// Throws greenai::Error for a layer the edge runtime lacks.
std::vector<uint8_t> export_edge_fp32(const nn::Net& net);

/// The model as an int8 edge file, calibrated on `calibration` ([N, ...] inputs).
std::vector<uint8_t> quantize_to_edge(const nn::Net& net, const torch::Tensor& calibration,
                                      const QuantizeOptions& options = {});

/// Dynamic quantization, for when no calibration data is at hand: Linear layers get int8
/// per-channel weights and quantize their input per example at run time (edge kDynamicLinear);
/// other layers stay fp32.
std::vector<uint8_t> quantize_dynamic_to_edge(const nn::Net& net);

/// Accuracy on (images, labels) of the int8 model with each Linear/Conv2d layer alone kept in
/// fp32, run by the edge runtime; `layer` is the spec index, kNoLayer the all-int8 model (first).
inline constexpr size_t kNoLayer = static_cast<size_t>(-1);
struct LayerSensitivity {
  size_t layer;
  double accuracy;
};
std::vector<LayerSensitivity> layer_sensitivity(const nn::Net& net,
                                                const torch::Tensor& calibration,
                                                const torch::Tensor& images,
                                                const torch::Tensor& labels,
                                                const QuantizeOptions& options = {});

/// Which layer to keep in fp32 inside an int8 model (`quantize --keep-fp32 auto`): each
/// Linear/Conv2d tried alone in fp32 on held-out examples, the one that helps most kept if it
/// gains more than `min_gain` (a fraction: 0.001 is 0.1 points) over the all-int8 model.
struct Fp32LayerChoice {
  std::optional<size_t> layer;           ///< the spec index to keep, or none
  std::vector<LayerSensitivity> trials;  ///< the all-int8 model first, then each layer
};
Fp32LayerChoice choose_fp32_layer(const nn::Net& net, const torch::Tensor& calibration,
                                  const torch::Tensor& images, const torch::Tensor& labels,
                                  const QuantizeOptions& options = {}, double min_gain = 0.001);

}  // namespace greenai::compress
