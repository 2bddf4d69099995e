// ONNX export: an edge file as an ONNX opset-13 graph; int8 operators in QDQ form with uint8
// activations (docs/edge-format.md).
#include <onnx/onnx_pb.h>

#include "greenai/edge/format.h"
#include "greenai/edge/greenai_edge.h"
#include "greenai/error.h"
#include "greenai/interop/onnx.h"
#include "greenai/version.h"

namespace greenai::interop {
namespace {

using edge::OpKind;
using edge::OpRecord;
using ::onnx::AttributeProto;
using ::onnx::GraphProto;
using ::onnx::ModelProto;
using ::onnx::NodeProto;
using ::onnx::TensorProto;

constexpr int kIrVersion = 7;  // the IR version of opset 13

class GraphWriter {
 public:
  explicit GraphWriter(GraphProto* g) : g_(g) {}

  std::string fresh(const std::string& stem) { return stem + "_" + std::to_string(next_++); }

  std::string initializer(const std::string& stem, int type, std::vector<int64_t> dims,
                          const void* data, size_t bytes) {
    TensorProto* t = g_->add_initializer();
    const std::string name = fresh(stem);
    t->set_name(name);
    t->set_data_type(type);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data(std::string(static_cast<const char*>(data), bytes));
    return name;
  }
  std::string scalar_f32(const std::string& stem, float v) {
    return initializer(stem, TensorProto::FLOAT, {}, &v, sizeof v);
  }
  std::string scalar_u8(const std::string& stem, uint8_t v) {
    return initializer(stem, TensorProto::UINT8, {}, &v, sizeof v);
  }

  NodeProto* node(const std::string& op, std::vector<std::string> inputs, std::string output) {
    NodeProto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(fresh(op));
    for (auto& in : inputs) n->add_input(in);
    n->add_output(output);
    return n;
  }
  static void attr(NodeProto* n, const std::string& name, int64_t v) {
    AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(AttributeProto::INT);
    a->set_i(v);
  }
  static void attr(NodeProto* n, const std::string& name, std::vector<int64_t> v) {
    AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }

 private:
  GraphProto* g_;
  int next_ = 0;
};

// Kernel, stride, padding (and for Conv dilation and groups) attributes, in full.
void window_attrs(NodeProto* n, const OpRecord& op, const edge::OpGraph& g, bool conv) {
  const bool full = op.flags & edge::kFlagWindow;
  const int64_t kh = op.kernel, kw = full ? g.kernel_w : op.kernel;
  const int64_t sh = op.stride, sw = full ? g.stride_w : op.stride;
  const int64_t pt = op.padding, pl = full ? g.pad_left : op.padding;
  const int64_t pb = full ? g.pad_bottom : op.padding, pr = full ? g.pad_right : op.padding;
  GraphWriter::attr(n, "kernel_shape", {kh, kw});
  GraphWriter::attr(n, "strides", {sh, sw});
  GraphWriter::attr(n, "pads", {pt, pl, pb, pr});
  if (!conv) return;
  GraphWriter::attr(n, "dilations",
                    {full ? int64_t{g.dilation_h} : 1, full ? int64_t{g.dilation_w} : 1});
  GraphWriter::attr(n, "group", g.groups > 1 ? int64_t{g.groups} : 1);
}

std::vector<int64_t> weight_dims(const OpRecord& op, const edge::OpGraph& g) {
  const bool conv = op.kind == OpKind::kConv2d || op.kind == OpKind::kQConv2d;
  const int64_t groups = g.groups > 1 ? g.groups : 1;
  const int64_t kw = op.flags & edge::kFlagWindow ? g.kernel_w : op.kernel;
  if (conv) return {op.out, op.in / groups, op.kernel, kw};
  return {op.out, op.in};
}

Error export_error(const std::string& problem, std::string hint = {}) {
  return Error("cannot export to ONNX", problem, std::move(hint));
}

// Writes the graph node by node: each edge value becomes an ONNX tensor, int8 ones as uint8
// codes (the edge zero point + 128) with their scale, which the operators reading them
// dequantize (DQ -> op -> Q, as ONNX Runtime fuses back into integer kernels).
class Exporter {
 public:
  // One edge value: its ONNX name, and for an int8 value its scale and uint8 zero point.
  struct Value {
    std::string name;
    bool int8 = false;
    float scale = 0;
    uint8_t zero_point = 0;
  };

  Exporter(const edge::FileView& view, GraphProto* g, std::vector<std::vector<int64_t>> shapes)
      : view_(view), w_(g), shapes_(std::move(shapes)) {
    values_.push_back({"input"});
  }

  // Appends operator i, writing value i + 1.
  void add(size_t i) {
    const OpRecord& op = view_.ops[i];
    const edge::OpGraph& g = view_.graphs[i];
    const std::string where = "op " + std::to_string(i);
    const Value& a = values_.at(g.input[0]);
    Value out;
    switch (op.kind) {
      case OpKind::kLinear:
      case OpKind::kConv2d:
        out.name = float_layer(op, g, a.name);
        break;
      case OpKind::kQLinear:
      case OpKind::kQConv2d:
        out = int8_layer(op, g, a, where);
        break;
      case OpKind::kReLU:
      case OpKind::kAvgPool2d:
      case OpKind::kClip:
      case OpKind::kSigmoid:
      case OpKind::kHardSigmoid:
      case OpKind::kHardSwish:
        out = unary(op, g, a);
        break;
      case OpKind::kMaxPool2d:  // on uint8 codes as they are, or floats
        out = a;
        out.name = w_.fresh("maxpool");
        window_attrs(w_.node("MaxPool", {a.name}, out.name), op, g, false);
        break;
      case OpKind::kFlatten:  // codes or floats: no arithmetic
        out = a;
        out.name = w_.fresh("flatten");
        GraphWriter::attr(w_.node("Flatten", {a.name}, out.name), "axis", 1);
        break;
      case OpKind::kReshape: {
        out = a;
        out.name = w_.fresh("reshape");
        std::vector<int64_t> target{-1};
        for (int64_t d : shapes_[i + 1]) target.push_back(d);
        w_.node("Reshape",
                {a.name,
                 w_.initializer("shape", TensorProto::INT64, {static_cast<int64_t>(target.size())},
                                target.data(), target.size() * 8)},
                out.name);
        break;
      }
      case OpKind::kSoftmax:
        out.name = w_.fresh("softmax");
        GraphWriter::attr(w_.node("Softmax", {a.name}, out.name), "axis", 1);
        break;
      case OpKind::kQuantize:
        out = {w_.fresh("q"), true, op.scale, static_cast<uint8_t>(op.output_zero_point + 128)};
        w_.node(
            "QuantizeLinear",
            {a.name, w_.scalar_f32("scale", out.scale), w_.scalar_u8("zero_point", out.zero_point)},
            out.name);
        break;
      case OpKind::kDequantize:
        out.name = real(a);
        break;
      case OpKind::kAdd:
      case OpKind::kMul:
      case OpKind::kConcat:
        out = binary(op, g, a);
        break;
      case OpKind::kDynamicLinear:
        throw export_error(where + ": dynamic quantization has no ONNX form here",
                           "export with --precision int8 (static) or fp32");
    }
    values_.push_back(out);
  }
  const Value& last() const { return values_.back(); }

 private:
  // The real values of `v`: itself, or DequantizeLinear of its codes.
  std::string real(const Value& v) {
    if (!v.int8) return v.name;
    const std::string y = w_.fresh("dq");
    w_.node("DequantizeLinear",
            {v.name, w_.scalar_f32("scale", v.scale), w_.scalar_u8("zero_point", v.zero_point)}, y);
    return y;
  }
  // Real values `x` as the codes of an int8 value of (scale, edge zero point).
  Value quantized(const std::string& x, float scale, int32_t zero_point) {
    Value v{w_.fresh("q"), true, scale, static_cast<uint8_t>(zero_point + 128)};
    w_.node("QuantizeLinear",
            {x, w_.scalar_f32("scale", scale), w_.scalar_u8("zero_point", v.zero_point)}, v.name);
    return v;
  }
  std::string add_relu(const std::string& x) {
    const std::string y = w_.fresh("relu");
    w_.node("Relu", {x}, y);
    return y;
  }

  // Linear (Gemm, transB) or Conv with fp32 weights [and bias] [-> Relu].
  std::string float_layer(const OpRecord& op, const edge::OpGraph& g, const std::string& x) {
    const bool conv = op.kind == OpKind::kConv2d;
    std::vector<std::string> inputs{
        x, w_.initializer("weight", TensorProto::FLOAT, weight_dims(op, g), view_.tensor(op.weight),
                          view_.count(op.weight) * 4)};
    if (op.bias != edge::kNoTensor)
      inputs.push_back(w_.initializer("bias", TensorProto::FLOAT, {op.out}, view_.tensor(op.bias),
                                      view_.count(op.bias) * 4));
    std::string y = w_.fresh(conv ? "conv" : "gemm");
    NodeProto* n = w_.node(conv ? "Conv" : "Gemm", inputs, y);
    if (conv)
      window_attrs(n, op, g, true);
    else
      GraphWriter::attr(n, "transB", 1);
    return op.flags & edge::kFlagFusedReLU ? add_relu(y) : y;
  }

  // QLinear/QConv2d as DQ(input) -> Gemm/Conv(DQ(int8 weights, per channel), DQ(int32 bias at
  // input scale x weight scale)) [-> Relu] -> Q(output scale).
  Value int8_layer(const OpRecord& op, const edge::OpGraph& g, const Value& a,
                   const std::string& where) {
    if (!(op.flags & edge::kFlagScales))
      throw export_error(where + ": the int8 operator does not record its real scales",
                         "quantize the checkpoint again with this version of greenai");
    const bool conv = op.kind == OpKind::kQConv2d;
    const auto* w_scale = static_cast<const float*>(view_.tensor(op.weight_scale));
    std::vector<float> bias_scale(op.out);
    for (uint32_t c = 0; c < op.out; ++c) bias_scale[c] = a.scale * w_scale[c];
    const std::vector<int8_t> w_zp(op.out, 0);
    const std::vector<int32_t> b_zp(op.out, 0);
    const std::string wq = w_.fresh("weight_dq"), bq = w_.fresh("bias_dq");
    NodeProto* wn = w_.node(
        "DequantizeLinear",
        {w_.initializer("weight_q", TensorProto::INT8, weight_dims(op, g), view_.tensor(op.weight),
                        view_.count(op.weight)),
         w_.initializer("weight_scale", TensorProto::FLOAT, {op.out}, w_scale, op.out * 4),
         w_.initializer("weight_zero_point", TensorProto::INT8, {op.out}, w_zp.data(), op.out)},
        wq);
    GraphWriter::attr(wn, "axis", 0);
    NodeProto* bn = w_.node(
        "DequantizeLinear",
        {w_.initializer("bias_q", TensorProto::INT32, {op.out}, view_.tensor(op.bias), op.out * 4),
         w_.initializer("bias_scale", TensorProto::FLOAT, {op.out}, bias_scale.data(), op.out * 4),
         w_.initializer("bias_zero_point", TensorProto::INT32, {op.out}, b_zp.data(), op.out * 4)},
        bq);
    GraphWriter::attr(bn, "axis", 0);
    const std::string x = real(a);
    std::string y = w_.fresh(conv ? "conv" : "gemm");
    NodeProto* n = w_.node(conv ? "Conv" : "Gemm", {x, wq, bq}, y);
    if (conv)
      window_attrs(n, op, g, true);
    else
      GraphWriter::attr(n, "transB", 1);
    if (op.flags & edge::kFlagFusedReLU) y = add_relu(y);
    return quantized(y, op.scale, op.output_zero_point);
  }

  // ReLU, AvgPool (the same scale in and out) and the activations (their own output scale): on
  // int8 values as DQ -> op -> Q.
  Value unary(const OpRecord& op, const edge::OpGraph& g, const Value& a) {
    const std::string x = real(a);
    std::string y = w_.fresh("act");
    switch (op.kind) {
      case OpKind::kReLU:
        w_.node("Relu", {x}, y);
        break;
      case OpKind::kAvgPool2d:
        window_attrs(w_.node("AveragePool", {x}, y), op, g, false);
        break;
      case OpKind::kClip:
        w_.node("Clip", {x, w_.scalar_f32("min", g.alpha), w_.scalar_f32("max", g.beta)}, y);
        break;
      case OpKind::kSigmoid:
        w_.node("Sigmoid", {x}, y);
        break;
      case OpKind::kHardSigmoid:
      case OpKind::kHardSwish: {  // HardSwish (opset 14) as x HardSigmoid(x, 1/6, 1/2)
        const bool swish = op.kind == OpKind::kHardSwish;
        const std::string h = swish ? w_.fresh("hardsigmoid") : y;
        NodeProto* n = w_.node("HardSigmoid", {x}, h);
        auto* alpha = n->add_attribute();
        alpha->set_name("alpha");
        alpha->set_type(AttributeProto::FLOAT);
        alpha->set_f(swish ? 1.0f / 6.0f : g.alpha);
        auto* beta = n->add_attribute();
        beta->set_name("beta");
        beta->set_type(AttributeProto::FLOAT);
        beta->set_f(swish ? 0.5f : g.beta);
        if (swish) w_.node("Mul", {x, h}, y);
        break;
      }
      default:
        break;
    }
    if (!a.int8) return {y};
    const bool same_scale = op.kind == OpKind::kReLU || op.kind == OpKind::kAvgPool2d;
    return same_scale ? quantized(y, a.scale, a.zero_point - 128)
                      : quantized(y, op.scale, op.output_zero_point);
  }

  // Add and Mul (b a value or a constant, broadcast as the edge format says) and Concat.
  Value binary(const OpRecord& op, const edge::OpGraph& g, const Value& a) {
    std::string b;
    if (g.input[1] != edge::kNoValue) {
      b = real(values_.at(g.input[1]));
    } else {  // the constant: as the ONNX broadcast of a per-channel, one or same-shape operand
      const uint32_t count = view_.count(op.weight);
      const std::vector<int64_t>& shape = shapes_[g.input[0]];
      std::vector<int64_t> dims;
      if (count == 1)
        dims = {};
      else if (shape.size() == 3 && count == shape[0] && count != shape[0] * shape[1] * shape[2])
        dims = {count, 1, 1};
      else
        dims = shape;
      if (a.int8) {
        b = w_.fresh("constant_dq");
        w_.node(
            "DequantizeLinear",
            {w_.initializer("constant_q", TensorProto::INT8, dims, view_.tensor(op.weight), count),
             w_.scalar_f32("scale", g.input_scale_b),
             w_.initializer("zero_point", TensorProto::INT8, {}, &g.input_zero_point_b, 1)},
            b);
      } else {
        b = w_.initializer("constant", TensorProto::FLOAT, dims, view_.tensor(op.weight),
                           count * 4);
      }
    }
    std::string y = w_.fresh(op.kind == OpKind::kAdd   ? "add"
                             : op.kind == OpKind::kMul ? "mul"
                                                       : "concat");
    NodeProto* n = w_.node(op.kind == OpKind::kAdd   ? "Add"
                           : op.kind == OpKind::kMul ? "Mul"
                                                     : "Concat",
                           {real(a), b}, y);
    if (op.kind == OpKind::kConcat) GraphWriter::attr(n, "axis", 1);
    if (op.flags & edge::kFlagFusedReLU) y = add_relu(y);
    if (!a.int8) return {y};
    return quantized(y, op.scale, op.output_zero_point);
  }

  const edge::FileView& view_;
  GraphWriter w_;
  std::vector<std::vector<int64_t>> shapes_;  // each value's per-example shape
  std::vector<Value> values_;
};

void value_info(::onnx::ValueInfoProto* v, const std::string& name,
                const std::vector<int64_t>& dims) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(TensorProto::FLOAT);
  auto* shape = tt->mutable_shape();
  shape->add_dim()->set_dim_param("batch");
  for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
}

// Every value's per-example shape, as the runtime's loader works them out.
std::vector<std::vector<int64_t>> value_shapes(const std::vector<uint8_t>& bytes) {
  edge::AlignedBytes aligned(bytes);
  greenai_edge_model* model = nullptr;
  char why[256] = "";
  if (greenai_edge_load_memory(aligned.data(), aligned.size(), 1, &model, why, sizeof why) !=
      GREENAI_EDGE_OK)
    throw export_error(std::string("not a valid edge file: ") + why);
  std::vector<std::vector<int64_t>> shapes;
  for (size_t v = 0; v < greenai_edge_value_count(model); ++v) {
    size_t dims[3];
    const size_t n = greenai_edge_value_shape(model, v, dims);
    shapes.emplace_back(dims, dims + n);
  }
  greenai_edge_free(model);
  return shapes;
}

}  // namespace

std::string edge_to_onnx(const std::vector<uint8_t>& edge_bytes) {
  edge::FileView view;
  if (std::string why = edge::view_file(edge_bytes, &view); !why.empty())
    throw export_error("not a valid edge file: " + why);
  ModelProto model;
  model.set_ir_version(kIrVersion);
  model.set_producer_name("greenai");
  model.set_producer_version(GREENAI_VERSION);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  GraphProto* g = model.mutable_graph();
  g->set_name("greenai_edge_model");
  std::vector<std::vector<int64_t>> shapes = value_shapes(edge_bytes);
  value_info(g->add_input(), "input", shapes.front());
  const std::vector<int64_t> out_dims = shapes.back();
  Exporter exporter(view, g, std::move(shapes));
  for (size_t i = 0; i < view.ops.size(); ++i) exporter.add(i);
  // The runtime's validation guarantees a float output, written by the last node; name it
  // "output".
  g->mutable_node(g->node_size() - 1)->set_output(0, "output");
  value_info(g->add_output(), "output", out_dims);
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw export_error("protobuf serialization failed");
  return bytes;
}

}  // namespace greenai::interop
