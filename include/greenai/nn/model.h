// Models as a list of layers that can be written down, rebuilt, pruned and exported.
//
// A ModelSpec is the architecture (layer kinds and sizes); Net builds a LibTorch module from it.
// Keeping the spec explicit is what lets structured pruning shrink layers and the quantizer and
// exporters walk the graph without guessing.
//
//   greenai::nn::Net net(greenai::nn::teacher_spec());
//   torch::Tensor logits = net->forward(images);   // [N, 10]
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "greenai/util/json.h"

namespace greenai::nn {

enum class LayerKind { kLinear, kConv2d, kReLU, kTanh, kDropout, kFlatten, kMaxPool2d };
const char* to_string(LayerKind kind);

struct LayerSpec {
  LayerKind kind;
  int64_t in = 0, out = 0;                      ///< Linear: features; Conv2d: channels.
  int64_t kernel = 0, stride = 1, padding = 0;  ///< Conv2d and MaxPool2d.
  double dropout = 0;                           ///< Dropout probability.
  bool operator==(const LayerSpec&) const = default;
};

struct ModelSpec {
  std::string arch;                             ///< "teacher", "student", "cnn", "mlp", ...
  std::vector<int64_t> input_shape{1, 28, 28};  ///< Per example (C, H, W) or (features).
  std::vector<LayerSpec> layers;
  bool operator==(const ModelSpec&) const = default;

  util::Json to_json() const;
  /// Throws greenai::Error when the JSON is not a valid spec or its layers do not chain.
  static ModelSpec from_json(const util::Json& json);
  /// Checks that each layer's input matches the previous output; throws greenai::Error.
  void validate() const;
  /// Weights + biases of Linear and Conv2d layers.
  int64_t parameter_count() const;
  /// Multiply-accumulates of one forward pass of one example.
  int64_t macs() const;
  /// "784-1200-1200-10" for MLPs, a layer list otherwise.
  std::string describe() const;
};

/// MLP 784-1200-1200-10, ReLU, dropout 0.5 on hidden layers (the mission's teacher).
ModelSpec teacher_spec();
/// MLP 784-H-10, ReLU (the mission's student uses H = 20).
ModelSpec student_spec(int64_t hidden = 20);
/// conv 3x3 1->16 (padding 1), ReLU, fully connected 12544->128, ReLU, 128->10.
ModelSpec cnn_spec();
/// An MLP with the given widths, input first; dropout after each hidden ReLU when > 0.
ModelSpec mlp_spec(const std::string& arch, const std::vector<int64_t>& widths, double dropout,
                   std::vector<int64_t> input_shape = {1, 28, 28});
/// Spec by name: "teacher", "student" (with `hidden`), "cnn". Throws greenai::Error otherwise.
ModelSpec spec_by_name(const std::string& name, int64_t hidden);

class NetImpl : public torch::nn::Module {
 public:
  explicit NetImpl(ModelSpec spec);
  torch::Tensor forward(torch::Tensor x);
  const ModelSpec& spec() const { return spec_; }
  /// The LibTorch module of layer `index` (same order as spec().layers).
  std::shared_ptr<torch::nn::Module> layer(size_t index) const { return layers_[index]; }
  /// The layers as LibTorch runs them (a handle: shares the modules).
  torch::nn::Sequential sequential() const { return sequential_; }

 private:
  ModelSpec spec_;
  torch::nn::Sequential sequential_;
  std::vector<std::shared_ptr<torch::nn::Module>> layers_;
};
TORCH_MODULE(Net);

/// Non-zero entries over all parameters.
int64_t count_nonzero(const Net& net);

}  // namespace greenai::nn
