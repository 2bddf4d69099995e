// ONNX export: an edge file as an ONNX opset-13 graph; int8 operators in QDQ form with uint8
// activations (docs/edge-format.md).
#include <onnx/onnx_pb.h>

#include "greenai/edge/format.h"
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

// Kernel, stride and padding attributes of Conv and the pools.
void window_attrs(NodeProto* n, const OpRecord& op, bool conv) {
  const int64_t k = op.kernel, s = op.stride, p = op.padding;
  GraphWriter::attr(n, "kernel_shape", {k, k});
  GraphWriter::attr(n, "strides", {s, s});
  GraphWriter::attr(n, "pads", {p, p, p, p});
  if (!conv) return;
  GraphWriter::attr(n, "dilations", {1, 1});
  GraphWriter::attr(n, "group", 1);
}

std::vector<int64_t> weight_dims(const OpRecord& op) {
  const bool conv = op.kind == OpKind::kConv2d || op.kind == OpKind::kQConv2d;
  if (conv) return {op.out, op.in, op.kernel, op.kernel};
  return {op.out, op.in};
}

Error export_error(const std::string& problem, std::string hint = {}) {
  return Error("cannot export to ONNX", problem, std::move(hint));
}

// Writes the graph node by node along the chain of an edge file's operators.
class Exporter {
 public:
  Exporter(const edge::FileView& view, GraphProto* g) : view_(view), w_(g) {}

  // Appends operator i; `current` moves to its output.
  void add(size_t i) {
    const OpRecord& op = view_.ops[i];
    const std::string where = "op " + std::to_string(i);
    switch (op.kind) {
      case OpKind::kLinear:
      case OpKind::kConv2d:
        current_ = float_layer(op);
        break;
      case OpKind::kQLinear:
      case OpKind::kQConv2d:
        current_ = int8_layer(op, where);
        break;
      case OpKind::kReLU:
      case OpKind::kAvgPool2d:
        current_ = elementwise(op);
        break;
      case OpKind::kMaxPool2d:
        current_ = simple("MaxPool", "maxpool");
        window_attrs(last_, op, false);
        break;
      case OpKind::kFlatten:
        current_ = simple("Flatten", "flatten");
        GraphWriter::attr(last_, "axis", 1);
        break;
      case OpKind::kSoftmax:
        current_ = simple("Softmax", "softmax");
        GraphWriter::attr(last_, "axis", 1);
        break;
      case OpKind::kQuantize:
        act_scale_ = op.scale;
        act_zp_ = static_cast<uint8_t>(op.output_zero_point + 128);
        current_ = quantize_to(current_, act_scale_, act_zp_);
        break;
      case OpKind::kDequantize:
        current_ = dequantize_current();
        act_scale_ = 0;
        break;
      case OpKind::kDynamicLinear:
        throw export_error(where + ": dynamic quantization has no ONNX form here",
                           "export with --precision int8 (static) or fp32");
      case OpKind::kAdd:
      case OpKind::kMul:
      case OpKind::kConcat:
      case OpKind::kClip:
      case OpKind::kSigmoid:
      case OpKind::kHardSigmoid:
      case OpKind::kHardSwish:
      case OpKind::kReshape:
        throw export_error(where + ": the exporter writes chains of the version 1 operators only",
                           "run the ONNX model you imported this one from");
    }
    const edge::OpGraph& graph = view_.graphs[i];
    if (graph.input[0] != i || graph.input[1] != edge::kNoValue || (op.flags & edge::kFlagWindow))
      throw export_error(where + ": the exporter writes chains of square windows only",
                         "run the ONNX model you imported this one from");
    if (op.kind == OpKind::kLinear || op.kind == OpKind::kQLinear) out_features_ = op.out;
  }
  int64_t out_features() const { return out_features_; }

 private:
  std::string simple(const char* type, const char* stem) {
    const std::string y = w_.fresh(stem);
    last_ = w_.node(type, {current_}, y);
    return y;
  }
  std::string add_relu(const std::string& x) {
    const std::string y = w_.fresh("relu");
    w_.node("Relu", {x}, y);
    return y;
  }
  // int8 -> real, for the operators ONNX runs on dequantized values.
  std::string dequantize_current() {
    const std::string y = w_.fresh("dq");
    w_.node("DequantizeLinear",
            {current_, w_.scalar_f32("scale", act_scale_), w_.scalar_u8("zero_point", act_zp_)}, y);
    return y;
  }
  std::string quantize_to(const std::string& x, float scale, uint8_t zp) {
    const std::string y = w_.fresh("q");
    w_.node("QuantizeLinear", {x, w_.scalar_f32("scale", scale), w_.scalar_u8("zero_point", zp)},
            y);
    return y;
  }

  // Linear (Gemm, transB) or Conv with fp32 weights [and bias] [-> Relu].
  std::string float_layer(const OpRecord& op) {
    const bool conv = op.kind == OpKind::kConv2d;
    std::vector<std::string> inputs{
        current_, w_.initializer("weight", TensorProto::FLOAT, weight_dims(op),
                                 view_.tensor(op.weight), view_.count(op.weight) * 4)};
    if (op.bias != edge::kNoTensor)
      inputs.push_back(w_.initializer("bias", TensorProto::FLOAT, {op.out}, view_.tensor(op.bias),
                                      view_.count(op.bias) * 4));
    std::string y = w_.fresh(conv ? "conv" : "gemm");
    NodeProto* n = w_.node(conv ? "Conv" : "Gemm", inputs, y);
    if (conv)
      window_attrs(n, op, true);
    else
      GraphWriter::attr(n, "transB", 1);
    return op.flags & edge::kFlagFusedReLU ? add_relu(y) : y;
  }

  // QLinear/QConv2d as DQ(input) -> Gemm/Conv(DQ(int8 weights, per channel), DQ(int32 bias at
  // input scale x weight scale)) [-> Relu] -> Q(output scale).
  std::string int8_layer(const OpRecord& op, const std::string& where) {
    if (!(op.flags & edge::kFlagScales))
      throw export_error(where + ": the int8 operator does not record its real scales",
                         "quantize the checkpoint again with this version of greenai");
    const bool conv = op.kind == OpKind::kQConv2d;
    const auto* w_scale = static_cast<const float*>(view_.tensor(op.weight_scale));
    std::vector<float> bias_scale(op.out);
    for (uint32_t c = 0; c < op.out; ++c) bias_scale[c] = act_scale_ * w_scale[c];
    const std::vector<int8_t> w_zp(op.out, 0);
    const std::vector<int32_t> b_zp(op.out, 0);
    const std::string wq = w_.fresh("weight_dq"), bq = w_.fresh("bias_dq");
    NodeProto* wn = w_.node(
        "DequantizeLinear",
        {w_.initializer("weight_q", TensorProto::INT8, weight_dims(op), view_.tensor(op.weight),
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
    const std::string x = dequantize_current();
    std::string y = w_.fresh(conv ? "conv" : "gemm");
    NodeProto* n = w_.node(conv ? "Conv" : "Gemm", {x, wq, bq}, y);
    if (conv)
      window_attrs(n, op, true);
    else
      GraphWriter::attr(n, "transB", 1);
    if (op.flags & edge::kFlagFusedReLU) y = add_relu(y);
    act_scale_ = op.scale;
    act_zp_ = static_cast<uint8_t>(op.output_zero_point + 128);
    return quantize_to(y, act_scale_, act_zp_);
  }

  // ReLU and AvgPool: on int8 values (between Quantize and Dequantize, when act_scale_ is set)
  // as DQ -> op -> Q at the same scale.
  std::string elementwise(const OpRecord& op) {
    const bool int8 = act_scale_ > 0;
    const std::string x = int8 ? dequantize_current() : current_;
    std::string y = w_.fresh(op.kind == OpKind::kReLU ? "relu" : "avgpool");
    NodeProto* n = w_.node(op.kind == OpKind::kReLU ? "Relu" : "AveragePool", {x}, y);
    if (op.kind == OpKind::kAvgPool2d) window_attrs(n, op, false);
    return int8 ? quantize_to(y, act_scale_, act_zp_) : y;
  }

  const edge::FileView& view_;
  GraphWriter w_;
  std::string current_ = "input";
  NodeProto* last_ = nullptr;
  // The real scale and ONNX (uint8) zero point of the int8 activation flowing, when it is int8.
  float act_scale_ = 0;
  uint8_t act_zp_ = 0;
  int64_t out_features_ = 0;
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
  std::vector<int64_t> in_dims;
  for (uint32_t d : view.header.input_shape)
    if (d) in_dims.push_back(d);
  value_info(g->add_input(), "input", in_dims);
  Exporter exporter(view, g);
  for (size_t i = 0; i < view.ops.size(); ++i) exporter.add(i);
  // The runtime's validation guarantees a float output; name it "output".
  g->mutable_node(g->node_size() - 1)->set_output(0, "output");
  value_info(g->add_output(), "output", {exporter.out_features()});
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw export_error("protobuf serialization failed");
  return bytes;
}

}  // namespace greenai::interop
