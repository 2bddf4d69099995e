#include "greenai/compress/graph_quantize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "greenai/edge/format.h"
#include "greenai/edge/greenai_edge.h"
#include "greenai/error.h"

namespace greenai::compress {
namespace {

using edge::DType;
using edge::FileView;
using edge::kNoTensor;
using edge::kNoValue;
using edge::OpGraph;
using edge::OpKind;
using edge::OpRecord;

constexpr uint32_t kNone = 0xFFFFFFFFu;
// The most a calibration batch may take of the arena: every value is kept at once.
constexpr size_t kCalibrationArenaBytes = size_t{512} << 20;

Error quantize_error(const std::string& problem, std::string hint = {}) {
  return Error("cannot quantize the graph", problem, std::move(hint));
}

FileView view_of(const std::vector<uint8_t>& bytes) {
  FileView view;
  if (std::string why = edge::view_file(bytes, &view); !why.empty())
    throw quantize_error("not a valid edge file: " + why);
  return view;
}

// A model loaded for running batches of examples.
class Runner {
 public:
  Runner(const std::vector<uint8_t>& bytes, int max_batch, bool keep_values)
      : aligned_(bytes), max_batch_(max_batch) {
    char why[256] = "";
    const greenai_edge_status status =
        keep_values ? greenai_edge_load_memory_keeping_values(aligned_.data(), aligned_.size(),
                                                              max_batch, &model_, why, sizeof why)
                    : greenai_edge_load_memory(aligned_.data(), aligned_.size(), max_batch, &model_,
                                               why, sizeof why);
    if (status != GREENAI_EDGE_OK)
      throw quantize_error(std::string("the model does not load: ") + why);
    in_ = greenai_edge_input_size(model_);
    out_ = greenai_edge_output_size(model_);
    output_.resize(out_ * static_cast<size_t>(max_batch));
  }
  ~Runner() { greenai_edge_free(model_); }
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  size_t in() const { return in_; }
  size_t out() const { return out_; }
  int max_batch() const { return max_batch_; }
  greenai_edge_model* model() const { return model_; }
  const std::vector<float>& output() const { return output_; }
  // Runs `batch` examples starting at `x`; the outputs are in output().
  void run(const float* x, int batch) {
    if (greenai_edge_infer(model_, batch, x, in_ * static_cast<size_t>(batch), output_.data(),
                           output_.size()) != GREENAI_EDGE_OK)
      throw quantize_error(std::string("inference failed: ") + greenai_edge_last_error(model_));
  }

 private:
  edge::AlignedBytes aligned_;
  int max_batch_;
  greenai_edge_model* model_ = nullptr;
  size_t in_ = 0, out_ = 0;
  std::vector<float> output_;
};

// Every output of a model on `examples` inputs.
std::vector<float> outputs_of(const std::vector<uint8_t>& bytes, const float* inputs,
                              size_t examples) {
  Runner r(bytes, 16, false);
  std::vector<float> all(examples * r.out());
  for (size_t at = 0; at < examples; at += 16) {
    const int batch = static_cast<int>(std::min<size_t>(16, examples - at));
    r.run(inputs + at * r.in(), batch);
    std::copy_n(r.output().begin(), static_cast<size_t>(batch) * r.out(),
                all.begin() + at * r.out());
  }
  return all;
}

const char* kind_name(OpKind kind) {
  switch (kind) {
    case OpKind::kLinear:
      return "Linear";
    case OpKind::kConv2d:
      return "Conv2d";
    case OpKind::kReLU:
      return "ReLU";
    case OpKind::kMaxPool2d:
      return "MaxPool2d";
    case OpKind::kAvgPool2d:
      return "AvgPool2d";
    case OpKind::kFlatten:
      return "Flatten";
    case OpKind::kSoftmax:
      return "Softmax";
    case OpKind::kQuantize:
      return "Quantize";
    case OpKind::kDequantize:
      return "Dequantize";
    case OpKind::kQLinear:
      return "QLinear";
    case OpKind::kQConv2d:
      return "QConv2d";
    case OpKind::kDynamicLinear:
      return "DynamicLinear";
    case OpKind::kAdd:
      return "Add";
    case OpKind::kMul:
      return "Mul";
    case OpKind::kConcat:
      return "Concat";
    case OpKind::kClip:
      return "Clip";
    case OpKind::kSigmoid:
      return "Sigmoid";
    case OpKind::kHardSigmoid:
      return "HardSigmoid";
    case OpKind::kHardSwish:
      return "HardSwish";
    case OpKind::kReshape:
      return "Reshape";
  }
  return "?";
}

// Writes the int8 graph operator by operator: each value of the fp32 graph gets an fp32 and an
// int8 version as its readers need them (Quantize and Dequantize made on demand, once).
class GraphWriter {
 public:
  GraphWriter(const FileView& view, const GraphCalibration& calibration,
              const GraphQuantizeOptions& options)
      : view_(view),
        options_(options),
        builder_(input_shape(view)),
        fp_(view.ops.size() + 1, kNone),
        q_(view.ops.size() + 1, kNone),
        quant_(view.ops.size() + 1) {
    for (size_t v = 0; v < quant_.size(); ++v)
      quant_[v] = choose_activation_quant(calibration.ranges[v]);
    fp_[0] = 0;
  }

  QuantizedGraph run() {
    const size_t count = view_.ops.size();
    std::vector<uint32_t> readers(count + 1, 0);
    for (const OpGraph& g : view_.graphs)
      for (uint32_t v : g.input)
        if (v != kNoValue) ++readers[v];
    for (uint32_t k = 0; k < count; ++k) {
      if (q_[k + 1] != kNone) {  // fused into the convolution before it (fused_activation)
        ++result_.int8_operators;
        continue;
      }
      if (kept(k) || !int8_form(view_.ops[k].kind)) {
        result_.kept_fp32.push_back(k);
        float_op(k);
      } else {
        int8_op(k, readers);
        ++result_.int8_operators;
      }
    }
    fp32_value(static_cast<uint32_t>(count));  // the model ends in float32
    result_.bytes = builder_.finish();
    return std::move(result_);
  }

 private:
  static std::vector<uint32_t> input_shape(const FileView& view) {
    std::vector<uint32_t> shape;
    for (uint32_t d : view.header.input_shape)
      if (d) shape.push_back(d);
    return shape;
  }

  bool kept(uint32_t k) const {
    return std::find(options_.keep_fp32.begin(), options_.keep_fp32.end(), k) !=
           options_.keep_fp32.end();
  }

  // The ReLU or Clip(0, hi) that is the one reader of int8 Conv/Linear k's output, when the
  // convolution can take it in its output clamp: requantized straight to the activation's scale
  // and clamped to [its zero point, 127], exactly what the activation would make of it, provided
  // code 127 is at most hi (the activation's calibrated range lies within [0, hi], so it is).
  // One rounding instead of two, and no pass over the values. Returns the activation's index, or
  // kNone.
  uint32_t fused_activation(uint32_t k, const std::vector<uint32_t>& readers) const {
    const uint32_t out = k + 1;
    if (readers[out] != 1 || out >= view_.ops.size()) return kNone;
    uint32_t j = out;
    while (j < view_.ops.size() && view_.graphs[j].input[0] != out &&
           view_.graphs[j].input[1] != out)
      ++j;
    if (j == view_.ops.size() || view_.graphs[j].input[0] != out || kept(j)) return kNone;
    const OpRecord& act = view_.ops[j];
    const ActivationQuant& q = quant_[j + 1];
    if (act.kind == OpKind::kReLU) return j;
    if (act.kind != OpKind::kClip || view_.graphs[j].alpha != 0.0f) return kNone;
    const double top = double{q.scale} * (127 - q.zero_point);
    return top <= double{view_.graphs[j].beta} * (1 + 1e-6) ? j : kNone;
  }

  static bool int8_form(OpKind kind) {
    switch (kind) {
      case OpKind::kLinear:
      case OpKind::kConv2d:
      case OpKind::kReLU:
      case OpKind::kMaxPool2d:
      case OpKind::kAvgPool2d:
      case OpKind::kFlatten:
      case OpKind::kReshape:
      case OpKind::kAdd:
      case OpKind::kMul:
      case OpKind::kConcat:
      case OpKind::kClip:
      case OpKind::kSigmoid:
      case OpKind::kHardSigmoid:
      case OpKind::kHardSwish:
        return true;
      default:
        return false;
    }
  }

  static OpGraph reads(uint32_t a, uint32_t b = kNoValue) {
    OpGraph g{};
    g.input[0] = a;
    g.input[1] = b;
    return g;
  }

  uint32_t fp32_value(uint32_t v) {
    if (fp_[v] != kNone) return fp_[v];
    ++result_.converters;
    return fp_[v] = builder_.add_op(
               edge::conversion_record(OpKind::kDequantize, quant_[v].scale, quant_[v].zero_point),
               reads(q_[v]));
  }
  uint32_t int8_value(uint32_t v) {
    if (q_[v] != kNone) return q_[v];
    ++result_.converters;
    const uint32_t from = fp32_value(v);
    return q_[v] = builder_.add_op(
               edge::conversion_record(OpKind::kQuantize, quant_[v].scale, quant_[v].zero_point),
               reads(from));
  }

  uint32_t copy_tensor(uint32_t index) {
    if (index == kNoTensor) return kNoTensor;
    return builder_.add_tensor(view_.tensors[index].dtype, view_.tensor(index), view_.count(index));
  }
  const float* floats(uint32_t index) const {
    return static_cast<const float*>(view_.tensor(index));
  }

  // The operator as it is, in fp32, on the fp32 versions of its inputs.
  void float_op(uint32_t k) {
    OpRecord op = view_.ops[k];
    OpGraph g = view_.graphs[k];
    for (uint32_t& in : g.input)
      if (in != kNoValue) in = fp32_value(in);
    op.weight = copy_tensor(op.weight);
    op.bias = copy_tensor(op.bias);
    op.weight_scale = copy_tensor(op.weight_scale);
    fp_[k + 1] = builder_.add_op(op, g);
  }

  void int8_op(uint32_t k, const std::vector<uint32_t>& readers) {
    const OpRecord& source = view_.ops[k];
    OpGraph g = view_.graphs[k];
    uint32_t out = k + 1;
    const uint32_t a = g.input[0], b = g.input[1];
    OpRecord op = source;
    g.input[0] = int8_value(a);
    if (b != kNoValue) g.input[1] = int8_value(b);
    switch (source.kind) {
      case OpKind::kLinear:
      case OpKind::kConv2d:
        if (const uint32_t j = fused_activation(k, readers); j != kNone) {
          out = j + 1;  // the activation's value, written by the convolution
          op.flags |= edge::kFlagFusedReLU;
        }
        weighted(op, a, out);
        break;
      case OpKind::kReLU:
      case OpKind::kMaxPool2d:
      case OpKind::kAvgPool2d:
      case OpKind::kFlatten:
      case OpKind::kReshape:
        // The same scale and zero point out as in.
        quant_[out] = quant_[a];
        op.input_zero_point = quant_[a].zero_point;
        op.weight = copy_tensor(op.weight);  // Reshape's shape
        break;
      case OpKind::kAdd:
      case OpKind::kMul:
      case OpKind::kConcat:
        g.input_scale_b = b != kNoValue ? quant_[b].scale : 0;
        g.input_zero_point_b = b != kNoValue ? quant_[b].zero_point : 0;
        if (b == kNoValue) constant_operand(op, g);
        [[fallthrough]];
      case OpKind::kClip:
      case OpKind::kSigmoid:
      case OpKind::kHardSigmoid:
      case OpKind::kHardSwish:
        g.input_scale = quant_[a].scale;
        op.input_zero_point = quant_[a].zero_point;
        op.scale = quant_[out].scale;
        op.output_zero_point = quant_[out].zero_point;
        break;
      default:
        break;
    }
    q_[out] = builder_.add_op(op, g);
  }

  // Linear / Conv2d -> QLinear / QConv2d: symmetric per-channel weight codes, int32 bias codes.
  void weighted(OpRecord& op, uint32_t a, uint32_t out) {
    const bool conv = op.kind == OpKind::kConv2d;
    const float* w = floats(op.weight);
    const size_t count = view_.count(op.weight), channels = op.out, per = count / channels;
    const float* bias = op.bias == kNoTensor ? nullptr : floats(op.bias);
    const float s_in = quant_[a].scale, s_out = quant_[out].scale;
    const int qmax = options_.weight_bits == 7 ? 63 : 127;
    std::vector<float> scale(channels);
    std::vector<int8_t> codes(count);
    std::vector<int32_t> bias_codes(channels, 0);
    for (size_t c = 0; c < channels; ++c) {
      float largest = 0;
      for (size_t i = 0; i < per; ++i) largest = std::max(largest, std::fabs(w[c * per + i]));
      // A channel of zeros (or so small that its requantization would underflow) keeps codes of
      // 0 at a scale the runtime's multiplier holds.
      const float floor_scale = s_out / s_in * 1e-9f;
      scale[c] = std::max(largest / static_cast<float>(qmax), floor_scale);
      for (size_t i = 0; i < per; ++i)
        codes[c * per + i] = static_cast<int8_t>(
            std::clamp(std::lround(w[c * per + i] / scale[c]), -long{qmax}, long{qmax}));
      if (bias) {
        const double b = std::round(static_cast<double>(bias[c]) / (double{s_in} * scale[c]));
        bias_codes[c] = static_cast<int32_t>(std::clamp(b, -2147483647.0, 2147483647.0));
      }
    }
    op.kind = conv ? OpKind::kQConv2d : OpKind::kQLinear;
    op.weight = op.bias = op.weight_scale = kNoTensor;
    // Float requantization, as ONNX's QLinearConv defines it and ONNX Runtime computes it.
    builder_.add_int8_weights(op, codes.data(), codes.size(), bias_codes, scale, s_in, s_out, true);
    op.input_zero_point = quant_[a].zero_point;
    op.output_zero_point = quant_[out].zero_point;
  }

  // Add / Mul by a constant: the constant's own int8 codes over its range.
  void constant_operand(OpRecord& op, OpGraph& g) {
    const float* c = floats(op.weight);
    const size_t n = view_.count(op.weight);
    float lo = 0, hi = 0;
    for (size_t i = 0; i < n; ++i) {
      lo = std::min(lo, c[i]);
      hi = std::max(hi, c[i]);
    }
    const ActivationQuant q = choose_activation_quant(lo, hi);
    std::vector<int8_t> codes(n);
    for (size_t i = 0; i < n; ++i)
      codes[i] =
          static_cast<int8_t>(std::clamp(std::lround(c[i] / q.scale) + q.zero_point, -128L, 127L));
    op.weight = builder_.add_tensor(DType::kI8, codes.data(), n);
    g.input_scale_b = q.scale;
    g.input_zero_point_b = q.zero_point;
  }

  const FileView& view_;
  const GraphQuantizeOptions& options_;
  edge::FileBuilder builder_;
  std::vector<uint32_t> fp_, q_;  // each fp32-graph value's fp32 and int8 versions
  std::vector<ActivationQuant> quant_;
  QuantizedGraph result_;
};

}  // namespace

GraphCalibration calibrate_graph(const std::vector<uint8_t>& fp32, const float* inputs,
                                 size_t examples, const GraphQuantizeOptions& options) {
  const FileView view = view_of(fp32);
  if (view.header.flags & 1)
    throw quantize_error("the model already holds int8 operators",
                         "quantize the fp32 model (the ONNX file, or an fp32 edge file)");
  if (examples == 0) throw quantize_error("no calibration examples");
  // Every value is kept at once: a batch as large as the arena allows.
  int batch = std::max(1, options.batch);
  {
    Runner probe(fp32, 1, true);
    const size_t per_example = std::max<size_t>(1, greenai_edge_arena_bytes(probe.model()));
    batch = static_cast<int>(std::clamp<size_t>(kCalibrationArenaBytes / per_example, 1, batch));
  }
  Runner r(fp32, batch, true);
  const size_t values = view.ops.size() + 1;
  std::vector<RangeObserver> observers(values, RangeObserver(options.observer));
  auto pass = [&](bool histogram) {
    for (size_t at = 0; at < examples; at += static_cast<size_t>(batch)) {
      const int n = static_cast<int>(std::min<size_t>(static_cast<size_t>(batch), examples - at));
      const float* x = inputs + at * r.in();
      r.run(x, n);
      for (size_t v = 0; v < values; ++v) {
        size_t per = 0;
        int is_int8 = 0;
        const void* data = greenai_edge_value(r.model(), v, &per, &is_int8);
        const float* f = static_cast<const float*>(data);
        if (v == 0 || (!data && v + 1 < values)) {  // the input (or a reshape of it)
          f = x;
          per = r.in();
        } else if (v + 1 == values) {
          f = r.output().data();
          per = r.out();
        }
        const size_t count = per * static_cast<size_t>(n);
        if (histogram)
          observers[v].observe_histogram(f, count);
        else
          observers[v].observe_bounds(f, count);
      }
    }
  };
  pass(false);
  if (observers[0].needs_histogram()) pass(true);
  GraphCalibration c;
  c.observer = options.observer;
  c.examples = examples;
  for (const RangeObserver& o : observers) c.ranges.push_back(o.range());
  return c;
}

QuantizedGraph quantize_graph(const std::vector<uint8_t>& fp32, const GraphCalibration& calibration,
                              const GraphQuantizeOptions& options) {
  const FileView view = view_of(fp32);
  if (calibration.ranges.size() != view.ops.size() + 1)
    throw quantize_error("the calibration is of another graph");
  if (options.weight_bits != 7 && options.weight_bits != 8)
    throw quantize_error("weight bits must be 7 or 8");
  for (uint32_t k : options.keep_fp32)
    if (k >= view.ops.size())
      throw quantize_error(
          "--keep-fp32 names operator " + std::to_string(k) + " of " +
              std::to_string(view.ops.size()),
          "name operators of the fp32 graph, 0 to " + std::to_string(view.ops.size() - 1));
  QuantizedGraph q = GraphWriter(view, calibration, options).run();
  FileView check;  // what was written must load
  if (std::string why = edge::view_file(q.bytes, &check); !why.empty())
    throw quantize_error("the int8 graph does not load: " + why);
  return q;
}

std::vector<uint32_t> weighted_operators(const std::vector<uint8_t>& fp32) {
  const FileView view = view_of(fp32);
  std::vector<uint32_t> ops;
  for (uint32_t k = 0; k < view.ops.size(); ++k)
    if (view.ops[k].kind == OpKind::kLinear || view.ops[k].kind == OpKind::kConv2d)
      ops.push_back(k);
  return ops;
}

std::string describe_operator(const std::vector<uint8_t>& fp32, uint32_t k) {
  const FileView view = view_of(fp32);
  if (k >= view.ops.size()) return "op " + std::to_string(k);
  const OpRecord& op = view.ops[k];
  std::string text = "op " + std::to_string(k) + " (" + kind_name(op.kind);
  if (op.kind == OpKind::kLinear || op.kind == OpKind::kConv2d)
    text += " " + std::to_string(op.in) + "->" + std::to_string(op.out);
  if (op.kind == OpKind::kConv2d) {
    const uint32_t kw = op.flags & edge::kFlagWindow ? view.graphs[k].kernel_w : op.kernel;
    text += ", " + std::to_string(op.kernel) + "x" + std::to_string(kw);
    if (op.stride != 1) text += ", stride " + std::to_string(op.stride);
    if (view.graphs[k].groups > 1)
      text += view.graphs[k].groups == op.in
                  ? ", depthwise"
                  : ", " + std::to_string(view.graphs[k].groups) + " groups";
  }
  return text + ")";
}

Agreement compare_graphs(const std::vector<uint8_t>& fp32, const std::vector<uint8_t>& quantized,
                         const float* inputs, size_t examples) {
  const std::vector<float> a = outputs_of(fp32, inputs, examples);
  const std::vector<float> b = outputs_of(quantized, inputs, examples);
  if (a.size() != b.size() || examples == 0)
    throw quantize_error("the graphs' outputs differ in size");
  const size_t per = a.size() / examples;
  Agreement g;
  double squared = 0, differences = 0;
  size_t same = 0;
  for (size_t n = 0; n < examples; ++n) {
    const float* x = a.data() + n * per;
    const float* y = b.data() + n * per;
    same += std::max_element(x, x + per) - x == std::max_element(y, y + per) - y;
    for (size_t i = 0; i < per; ++i) {
      squared += double{x[i]} * x[i];
      differences += (double{x[i]} - y[i]) * (double{x[i]} - y[i]);
    }
  }
  g.top1 = static_cast<double>(same) / static_cast<double>(examples);
  g.relative_error = squared > 0 ? differences / squared : differences;
  return g;
}

FallbackChoice choose_fp32_fallback(const std::vector<uint8_t>& fp32,
                                    const GraphCalibration& calibration, const float* inputs,
                                    size_t examples, const GraphQuantizeOptions& options,
                                    double min_gain, size_t max_kept) {
  GraphQuantizeOptions trial = options;
  auto measure = [&](const std::vector<uint32_t>& keep) {
    trial.keep_fp32 = keep;
    return compare_graphs(fp32, quantize_graph(fp32, calibration, trial).bytes, inputs, examples);
  };
  FallbackChoice choice;
  choice.all_int8 = measure(options.keep_fp32);
  for (uint32_t k : weighted_operators(fp32)) {
    std::vector<uint32_t> keep = options.keep_fp32;
    keep.push_back(k);
    choice.trials.push_back({k, measure(keep)});
  }
  std::vector<FallbackTrial> ranked = choice.trials;
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const FallbackTrial& x, const FallbackTrial& y) {
                     return x.agreement.top1 != y.agreement.top1
                                ? x.agreement.top1 > y.agreement.top1
                                : x.agreement.relative_error < y.agreement.relative_error;
                   });
  choice.chosen = choice.all_int8;
  std::vector<uint32_t> keep = options.keep_fp32;
  for (const FallbackTrial& t : ranked) {
    if (choice.kept.size() >= max_kept || t.agreement.top1 < choice.chosen.top1 + min_gain) break;
    keep.push_back(t.op);
    const Agreement with = measure(keep);
    if (with.top1 < choice.chosen.top1 + min_gain) {
      keep.pop_back();
      break;
    }
    choice.kept.push_back(t.op);
    choice.chosen = with;
  }
  return choice;
}

}  // namespace greenai::compress
