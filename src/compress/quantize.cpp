#include "greenai/compress/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "greenai/edge/format.h"
#include "greenai/edge/greenai_edge.h"
#include "greenai/error.h"

namespace greenai::compress {
namespace {

using edge::DType;
using edge::OpKind;
using edge::OpRecord;

// One operator of the exported graph and the model layers it covers.
struct Stage {
  nn::LayerKind kind;
  size_t layer;       // Index in the spec of the main layer.
  size_t last_layer;  // Index of the last layer folded in (the fused ReLU), for calibration.
  bool fused_relu = false;
};

std::vector<Stage> plan(const nn::ModelSpec& spec) {
  std::vector<Stage> stages;
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const nn::LayerSpec& l = spec.layers[i];
    switch (l.kind) {
      case nn::LayerKind::kDropout:
        break;  // Identity at inference.
      case nn::LayerKind::kTanh:
        throw Error("cannot export model (arch=" + spec.arch + ")",
                    "the edge runtime has no tanh operator");
      case nn::LayerKind::kLinear:
      case nn::LayerKind::kConv2d: {
        Stage s{l.kind, i, i};
        size_t next = i + 1;
        while (next < spec.layers.size() && spec.layers[next].kind == nn::LayerKind::kDropout)
          ++next;
        if (next < spec.layers.size() && spec.layers[next].kind == nn::LayerKind::kReLU) {
          s.fused_relu = true;
          s.last_layer = next;
          i = next;
        }
        stages.push_back(s);
        break;
      }
      default:
        stages.push_back({l.kind, i, i});
    }
  }
  return stages;
}

torch::Tensor parameter(const nn::Net& net, size_t layer, const char* name) {
  return net->layer(layer)->named_parameters(false)[name].detach().to(torch::kFloat32).contiguous();
}

// The fields every operator of a stage shares; its kind is the caller's.
OpRecord base_op(const Stage& s, const nn::LayerSpec& l) {
  OpRecord op = edge::op_record(OpKind::kLinear);
  op.flags = s.fused_relu ? edge::kFlagFusedReLU : 0;
  op.in = static_cast<uint32_t>(l.in);
  op.out = static_cast<uint32_t>(l.out);
  op.kernel = static_cast<uint32_t>(l.kernel);
  op.stride = static_cast<uint32_t>(l.stride);
  op.padding = static_cast<uint32_t>(l.padding);
  return op;
}

std::vector<uint32_t> input_shape(const nn::ModelSpec& spec) {
  std::vector<uint32_t> shape;
  for (int64_t d : spec.input_shape) shape.push_back(static_cast<uint32_t>(d));
  return shape;
}

}  // namespace

std::pair<float, float> observe_range(const torch::Tensor& t, Observer observer) {
  const torch::Tensor flat = t.flatten().to(torch::kFloat32).contiguous();
  const float* values = flat.data_ptr<float>();
  const auto count = static_cast<size_t>(flat.numel());
  RangeObserver o(observer);
  o.observe_bounds(values, count);
  if (o.needs_histogram()) o.observe_histogram(values, count);
  return o.range();
}

namespace {

// The fp32 operator of a stage, its tensors added to the builder.
OpRecord fp32_op(edge::FileBuilder& builder, const nn::Net& net, const Stage& s) {
  const nn::ModelSpec& spec = net->spec();
  OpRecord op = base_op(s, spec.layers[s.layer]);
  switch (s.kind) {
    case nn::LayerKind::kLinear:
    case nn::LayerKind::kConv2d: {
      op.kind = s.kind == nn::LayerKind::kLinear ? OpKind::kLinear : OpKind::kConv2d;
      torch::Tensor w = parameter(net, s.layer, "weight"), b = parameter(net, s.layer, "bias");
      op.weight = builder.add_tensor(DType::kF32, w.data_ptr<float>(), w.numel());
      op.bias = builder.add_tensor(DType::kF32, b.data_ptr<float>(), b.numel());
      break;
    }
    case nn::LayerKind::kReLU:
      op.kind = OpKind::kReLU;
      break;
    case nn::LayerKind::kFlatten:
      op.kind = OpKind::kFlatten;
      break;
    case nn::LayerKind::kMaxPool2d:
      op.kind = OpKind::kMaxPool2d;
      break;
    default:
      throw Error("cannot export model (arch=" + spec.arch + ")", "unsupported layer");
  }
  return op;
}

OpRecord convert_op(OpKind kind, const ActivationQuant& q) {
  return edge::conversion_record(kind, q.scale, q.zero_point);
}

// Symmetric per-output-channel codes of a weight tensor [out, ...] in [-limit, limit] (127 for 8
// bits, 63 for 7) and their scales.
std::pair<torch::Tensor, torch::Tensor> quantize_weights(const torch::Tensor& w, int bits = 8) {
  const double limit = (1 << (bits - 1)) - 1;
  torch::Tensor w2 = w.reshape({w.size(0), -1});
  torch::Tensor scale = (w2.abs().amax(1) / limit).clamp_min(1e-12);
  torch::Tensor codes =
      torch::round(w2 / scale.unsqueeze(1)).clamp(-limit, limit).to(torch::kInt8).contiguous();
  return {codes, scale.contiguous()};
}

}  // namespace

std::vector<uint8_t> export_edge_fp32(const nn::Net& net) {
  edge::FileBuilder builder(input_shape(net->spec()));
  for (const Stage& s : plan(net->spec())) builder.add_op(fp32_op(builder, net, s));
  return builder.finish();
}

std::vector<uint8_t> quantize_dynamic_to_edge(const nn::Net& net) {
  edge::FileBuilder builder(input_shape(net->spec()));
  for (const Stage& s : plan(net->spec())) {
    if (s.kind != nn::LayerKind::kLinear) {
      builder.add_op(fp32_op(builder, net, s));
      continue;
    }
    OpRecord op = base_op(s, net->spec().layers[s.layer]);
    op.kind = OpKind::kDynamicLinear;
    auto [codes, scale] = quantize_weights(parameter(net, s.layer, "weight"));
    torch::Tensor b = parameter(net, s.layer, "bias");
    op.weight = builder.add_tensor(DType::kI8, codes.data_ptr<int8_t>(), codes.numel());
    op.bias = builder.add_tensor(DType::kF32, b.data_ptr<float>(), b.numel());
    op.weight_scale = builder.add_tensor(DType::kF32, scale.data_ptr<float>(), scale.numel());
    builder.add_op(op);
  }
  return builder.finish();
}

std::vector<uint8_t> quantize_to_edge(const nn::Net& net, const torch::Tensor& calibration,
                                      const QuantizeOptions& options) {
  const nn::ModelSpec& spec = net->spec();
  const std::vector<Stage> stages = plan(spec);
  if (calibration.size(0) == 0)
    throw Error("cannot quantize", "no calibration examples", "pass --calibration N > 0");
  if (options.weight_bits != 8 && options.weight_bits != 7)
    throw Error("cannot quantize (--weight-bits=" + std::to_string(options.weight_bits) + ")",
                "weights are 8 or 7 bits", "use 8 (the default) or 7");

  // Calibrate: the activation after each stage (fused ReLU included), layer by layer.
  torch::NoGradGuard no_grad;
  nn::Net model = net;  // a handle on the same module, to switch it to inference mode
  model->eval();
  std::vector<std::pair<float, float>> ranges;  // [0] the input, then one per stage
  torch::Tensor x = calibration.to(torch::kFloat32);
  ranges.push_back(observe_range(x, options.observer));
  std::vector<torch::nn::AnyModule*> modules;
  torch::nn::Sequential sequential = model->sequential();
  for (auto& m : *sequential) modules.push_back(&m);
  size_t layer = 0;
  for (const Stage& s : stages) {
    for (; layer <= s.last_layer; ++layer) x = modules[layer]->forward(x);
    ranges.push_back(observe_range(x, options.observer));
  }

  for (size_t kept : options.keep_fp32) {
    const bool weighted =
        kept < spec.layers.size() && (spec.layers[kept].kind == nn::LayerKind::kLinear ||
                                      spec.layers[kept].kind == nn::LayerKind::kConv2d);
    if (!weighted)
      throw Error(
          "cannot quantize (--keep-fp32=" + std::to_string(kept) + ")",
          "not the index of a Linear or Conv2d layer",
          "the indices are positions in the \"layers\" list of the checkpoint's FILE.json spec");
  }
  auto keep = [&](const Stage& s) {
    return std::find(options.keep_fp32.begin(), options.keep_fp32.end(), s.layer) !=
           options.keep_fp32.end();
  };

  edge::FileBuilder builder(input_shape(spec));
  bool int8 = false;  // The type of the activation flowing between operators.
  ActivationQuant current;
  for (size_t i = 0; i < stages.size(); ++i) {
    const Stage& s = stages[i];
    const nn::LayerSpec& l = spec.layers[s.layer];
    const bool weighted = s.kind == nn::LayerKind::kLinear || s.kind == nn::LayerKind::kConv2d;
    if (keep(s) || (!int8 && !weighted)) {  // fp32 here; pooling and flattening need no quantizing
      if (int8) builder.add_op(convert_op(OpKind::kDequantize, current));
      int8 = false;
      builder.add_op(fp32_op(builder, net, s));
      continue;
    }
    if (!int8) {  // Entering int8: quantize with the range observed at this stage's input.
      current = choose_activation_quant(ranges[i].first, ranges[i].second);
      builder.add_op(convert_op(OpKind::kQuantize, current));
      int8 = true;
    }
    OpRecord op = base_op(s, l);
    if (weighted) {
      op.kind = s.kind == nn::LayerKind::kLinear ? OpKind::kQLinear : OpKind::kQConv2d;
      const ActivationQuant out =
          choose_activation_quant(ranges[i + 1].first, ranges[i + 1].second);
      torch::Tensor w = parameter(net, s.layer, "weight"), b = parameter(net, s.layer, "bias");
      const int64_t channels = w.size(0);
      // Symmetric per output channel: codes in [-127, 127] (or [-63, 63]), zero point 0.
      auto [w_codes, w_scale] = quantize_weights(w, options.weight_bits);
      // Bias codes at the accumulator's scale, input scale x weight scale.
      std::vector<int32_t> bias(channels);
      for (int64_t c = 0; c < channels; ++c) {
        const double s_acc = static_cast<double>(current.scale) * w_scale[c].item<double>();
        const double b_codes = std::round(b[c].item<double>() / s_acc);
        bias[c] = static_cast<int32_t>(std::clamp(b_codes, -2147483648.0, 2147483647.0));
      }
      const torch::Tensor w_scale_f32 = w_scale.to(torch::kFloat32).contiguous();
      builder.add_int8_weights(
          op, w_codes.data_ptr<int8_t>(), static_cast<size_t>(w_codes.numel()), bias,
          std::vector<float>(w_scale_f32.data_ptr<float>(),
                             w_scale_f32.data_ptr<float>() + w_scale_f32.numel()),
          current.scale, out.scale);
      op.input_zero_point = current.zero_point;
      op.output_zero_point = out.zero_point;
      current = out;
    } else if (s.kind == nn::LayerKind::kFlatten || s.kind == nn::LayerKind::kMaxPool2d) {
      op.kind = s.kind == nn::LayerKind::kFlatten ? OpKind::kFlatten
                                                  : OpKind::kMaxPool2d;  // int8 in, same scale
    } else if (s.kind == nn::LayerKind::kReLU) {
      op.kind = OpKind::kReLU;
      op.input_zero_point = current.zero_point;
    } else {
      throw Error("cannot quantize model (arch=" + spec.arch + ")", "unsupported layer");
    }
    builder.add_op(op);
  }
  if (int8) builder.add_op(convert_op(OpKind::kDequantize, current));
  return builder.finish();
}

namespace {

// Accuracy of an edge file's bytes on (images, labels), run by the edge runtime.
double edge_accuracy(const std::vector<uint8_t>& bytes, const torch::Tensor& images,
                     const torch::Tensor& labels) {
  constexpr int kBatch = 256;
  const edge::AlignedBytes aligned(bytes);
  greenai_edge_model* model = nullptr;
  char why[256] = "";
  if (greenai_edge_load_memory(aligned.data(), aligned.size(), kBatch, &model, why, sizeof why) !=
      GREENAI_EDGE_OK)
    throw Error("cannot evaluate quantized model", why);
  const int64_t n = images.size(0), in = static_cast<int64_t>(greenai_edge_input_size(model));
  const int64_t classes = static_cast<int64_t>(greenai_edge_output_size(model));
  torch::Tensor x = images.reshape({n, -1}).to(torch::kFloat32).contiguous();
  std::vector<float> logits(static_cast<size_t>(kBatch * classes));
  int64_t correct = 0;
  for (int64_t start = 0; start < n; start += kBatch) {
    const int count = static_cast<int>(std::min<int64_t>(kBatch, n - start));
    greenai_edge_infer(model, count, x.data_ptr<float>() + start * in,
                       static_cast<size_t>(count * in), logits.data(), logits.size());
    for (int k = 0; k < count; ++k) {
      const float* row = logits.data() + k * classes;
      correct += (std::max_element(row, row + classes) - row) == labels[start + k].item<int64_t>();
    }
  }
  greenai_edge_free(model);
  return n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
}

}  // namespace

std::vector<LayerSensitivity> layer_sensitivity(const nn::Net& net,
                                                const torch::Tensor& calibration,
                                                const torch::Tensor& images,
                                                const torch::Tensor& labels,
                                                const QuantizeOptions& options) {
  QuantizeOptions trial = options;
  trial.keep_fp32.clear();
  std::vector<LayerSensitivity> result{
      {kNoLayer, edge_accuracy(quantize_to_edge(net, calibration, trial), images, labels)}};
  for (const Stage& s : plan(net->spec())) {
    if (s.kind != nn::LayerKind::kLinear && s.kind != nn::LayerKind::kConv2d) continue;
    trial.keep_fp32 = {s.layer};
    result.push_back(
        {s.layer, edge_accuracy(quantize_to_edge(net, calibration, trial), images, labels)});
  }
  return result;
}

Fp32LayerChoice choose_fp32_layer(const nn::Net& net, const torch::Tensor& calibration,
                                  const torch::Tensor& images, const torch::Tensor& labels,
                                  const QuantizeOptions& options, double min_gain) {
  Fp32LayerChoice choice;
  choice.trials = layer_sensitivity(net, calibration, images, labels, options);
  const auto best = std::max_element(
      choice.trials.begin() + 1, choice.trials.end(),
      [](const LayerSensitivity& a, const LayerSensitivity& b) { return a.accuracy < b.accuracy; });
  if (best != choice.trials.end() && best->accuracy > choice.trials[0].accuracy + min_gain)
    choice.layer = best->layer;
  return choice;
}

}  // namespace greenai::compress
