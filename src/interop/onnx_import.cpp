// ONNX import: the fp32 and QDQ int8 chains greenai exports, read back into an edge file
// (docs/edge-format.md). The graph must be one chain from its input to its output.
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <map>

#include "greenai/edge/format.h"
#include "greenai/error.h"
#include "greenai/interop/onnx.h"
#include "interop/onnx_attributes.h"
#include "interop/onnx_graph_import.h"

namespace greenai::interop {
namespace {

using edge::DType;
using edge::OpKind;
using edge::OpRecord;
using ::onnx::AttributeProto;
using ::onnx::GraphProto;
using ::onnx::ModelProto;
using ::onnx::NodeProto;
using ::onnx::TensorProto;

Error import_error(const std::string& problem) {
  return Error("cannot import ONNX model", problem,
               "greenai imports the fp32 and QDQ int8 graphs it exports (docs/edge-format.md)");
}

class GraphReader {
 public:
  explicit GraphReader(const GraphProto& g) {
    for (const TensorProto& t : g.initializer()) init_[t.name()] = &t;
  }

  const TensorProto* initializer(const std::string& name) const {
    auto it = init_.find(name);
    return it == init_.end() ? nullptr : it->second;
  }

  // A tensor's elements as bytes, from raw_data or the typed fields.
  template <typename T>
  std::vector<T> values(const std::string& name, int type, const std::string& what) const {
    const TensorProto* t = initializer(name);
    if (!t) throw import_error(what + " '" + name + "' is not an initializer");
    if (t->data_type() != type) throw import_error(what + " '" + name + "' has the wrong type");
    int64_t count = 1;
    for (int64_t d : t->dims()) {
      if (d < 0 || d > (1 << 28)) throw import_error(what + " '" + name + "' has a bad shape");
      count *= d;
      if (count > (1 << 28)) throw import_error(what + " '" + name + "' is too large");
    }
    std::vector<T> out(static_cast<size_t>(count));
    if (t->has_raw_data()) {
      if (t->raw_data().size() != out.size() * sizeof(T))
        throw import_error(what + " '" + name + "': raw data size does not match its shape");
      if (!out.empty()) std::memcpy(out.data(), t->raw_data().data(), t->raw_data().size());
      return out;
    }
    auto take = [&](const auto& field) {
      if (static_cast<size_t>(field.size()) != out.size())
        throw import_error(what + " '" + name + "': element count does not match its shape");
      for (size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<T>(field.Get(static_cast<int>(i)));
    };
    if (type == TensorProto::FLOAT)
      take(t->float_data());
    else
      take(t->int32_data());  // int8, uint8 and int32 are stored as int32_data
    return out;
  }

  float scalar_f32(const std::string& name, const std::string& what) const {
    auto v = values<float>(name, TensorProto::FLOAT, what);
    if (v.size() != 1 || !(v[0] > 0) || !std::isfinite(v[0]))
      throw import_error(what + " '" + name + "' must be one positive scale");
    return v[0];
  }
  // An activation zero point, uint8 or int8, as the edge (int8) zero point.
  int32_t activation_zero_point(const NodeProto& n) const {
    if (n.input_size() < 3) return -128;  // default uint8 zero point 0
    const TensorProto* t = initializer(n.input(2));
    if (!t) throw import_error(n.name() + ": zero point is not an initializer");
    if (t->data_type() == TensorProto::UINT8)
      return values<uint8_t>(n.input(2), TensorProto::UINT8, "zero point").at(0) - 128;
    if (t->data_type() == TensorProto::INT8)
      return values<int8_t>(n.input(2), TensorProto::INT8, "zero point").at(0);
    throw import_error(n.name() + ": zero point must be uint8 or int8");
  }

 private:
  std::map<std::string, const TensorProto*> init_;
};

// Square kernel, equal strides and symmetric equal padding, as the edge format holds them.
void read_window(const NodeProto& n, OpRecord* op, bool need_kernel_from_weight,
                 int64_t weight_kernel) {
  auto k = ints_attr(n, "kernel_shape");
  auto s = ints_attr(n, "strides");
  auto p = ints_attr(n, "pads");
  if (k.empty() && need_kernel_from_weight) k = {weight_kernel, weight_kernel};
  if (s.empty()) s = {1, 1};
  if (p.empty()) p = {0, 0, 0, 0};
  if (k.size() != 2 || k[0] != k[1] || s.size() != 2 || s[0] != s[1] || p.size() != 4 ||
      p[0] != p[1] || p[0] != p[2] || p[0] != p[3])
    throw import_error(n.name() + ": only square kernels, equal strides and equal pads map");
  for (const auto& d : ints_attr(n, "dilations"))
    if (d != 1) throw import_error(n.name() + ": dilations other than 1 do not map");
  if (int_attr(n, "group", 1) != 1) throw import_error(n.name() + ": grouped convolution");
  if (k[0] <= 0 || k[0] > 64 || s[0] <= 0 || s[0] > 64 || p[0] < 0 || p[0] >= k[0])
    throw import_error(n.name() + ": kernel, stride or padding out of range");
  op->kernel = static_cast<uint32_t>(k[0]);
  op->stride = static_cast<uint32_t>(s[0]);
  op->padding = static_cast<uint32_t>(p[0]);
}

// The graph input's shape after the batch: (N) or (C, H, W).
std::vector<uint32_t> input_shape(const GraphProto& g, const GraphReader& r, std::string* name) {
  const ::onnx::ValueInfoProto* input = nullptr;
  for (const auto& v : g.input())
    if (!r.initializer(v.name())) {  // the one input that is not an initializer
      if (input) throw import_error("more than one graph input");
      input = &v;
    }
  if (!input) throw import_error("no graph input");
  std::vector<uint32_t> shape;
  const auto& dims = input->type().tensor_type().shape().dim();
  for (int d = 1; d < dims.size(); ++d) {
    if (!dims[d].has_dim_value() || dims[d].dim_value() <= 0 || dims[d].dim_value() > (1 << 20))
      throw import_error("the input's dimensions after the batch must be fixed and positive");
    shape.push_back(static_cast<uint32_t>(dims[d].dim_value()));
  }
  if (shape.size() != 1 && shape.size() != 3)
    throw import_error("the input must be [batch, N] or [batch, C, H, W]");
  *name = input->name();
  return shape;
}

// Walks the chain of nodes from the input, turning each pattern into an edge operator.
class Importer {
 public:
  Importer(const GraphProto& g, const GraphReader& r, edge::FileBuilder& b, std::string input)
      : r_(r), b_(b), current_(std::move(input)) {
    // Every node writes a value; QuantizeLinear and DequantizeLinear read a value and a scale.
    for (const NodeProto& n : g.node()) {
      const bool qdq = n.op_type() == "QuantizeLinear" || n.op_type() == "DequantizeLinear";
      if (n.output_size() < 1 || n.input_size() < (qdq ? 2 : 1))
        throw import_error("node '" + n.name() + "' (" + n.op_type() +
                           ") lacks an input or an output");
    }
    // Weight and bias constants: DequantizeLinear nodes whose data is an initializer.
    for (const NodeProto& n : g.node())
      if (n.op_type() == "DequantizeLinear" && n.input_size() >= 2 && r.initializer(n.input(0)))
        constant_dq_[n.output(0)] = &n;
    for (const NodeProto& n : g.node())
      if (!(n.op_type() == "DequantizeLinear" && constant_dq_.count(n.output(0))))
        nodes_.push_back(&n);
  }

  // Imports every node; returns the name of the chain's last value.
  std::string run() {
    while (i_ < nodes_.size()) {
      const NodeProto& n = *nodes_[i_];
      if (!consumes(n, current_))
        throw import_error("node '" + n.name() + "' (" + n.op_type() +
                           ") does not continue the chain from the input");
      const std::string& type = n.op_type();
      if (type == "QuantizeLinear" && !int8_)
        quantize(n);
      else if (type == "DequantizeLinear" && int8_)
        from_int8(n);
      else if ((type == "Gemm" || type == "Conv") && !int8_)
        float_layer(n);
      else
        plain(n);
    }
    return current_;
  }

 private:
  const NodeProto* peek(size_t k, const char* type) const {
    if (i_ + k >= nodes_.size() || nodes_[i_ + k]->op_type() != type) return nullptr;
    return nodes_[i_ + k];
  }
  static bool consumes(const NodeProto& n, const std::string& value) {
    return n.input_size() >= 1 && n.input(0) == value && n.output_size() >= 1;
  }
  void emit(const OpRecord& op, const std::string& output, size_t nodes) {
    b_.add_op(op);
    current_ = output;
    i_ += nodes;
  }

  void quantize(const NodeProto& n) {
    OpRecord op = edge::op_record(OpKind::kQuantize);
    scale_ = r_.scalar_f32(n.input(1), "scale");
    zero_point_ = r_.activation_zero_point(n);
    op.scale = scale_;
    op.output_zero_point = zero_point_;
    int8_ = true;
    emit(op, n.output(0), 1);
  }

  // At a DequantizeLinear of the int8 activation: an int8 layer, an int8 ReLU/AvgPool, or the
  // end of the int8 part.
  void from_int8(const NodeProto& n) {
    const NodeProto* main = nodes_.size() > i_ + 1 ? nodes_[i_ + 1] : nullptr;
    const bool weighted = main && (main->op_type() == "Gemm" || main->op_type() == "Conv") &&
                          main->input_size() >= 2 && constant_dq_.count(main->input(1));
    if (weighted && consumes(*main, n.output(0))) return int8_layer(*main);
    // DQ -> Relu / AveragePool -> Q at the same scale: the int8 operator.
    const NodeProto* inner = main && consumes(*main, n.output(0)) &&
                                     (main->op_type() == "Relu" || main->op_type() == "AveragePool")
                                 ? main
                                 : nullptr;
    const NodeProto* q = inner ? peek(2, "QuantizeLinear") : nullptr;
    if (inner && q && consumes(*q, inner->output(0)) &&
        r_.scalar_f32(q->input(1), "scale") == scale_ &&
        r_.activation_zero_point(*q) == zero_point_) {
      OpRecord op =
          edge::op_record(inner->op_type() == "Relu" ? OpKind::kReLU : OpKind::kAvgPool2d);
      if (op.kind == OpKind::kAvgPool2d)
        read_window(*inner, &op, false, 0);
      else
        op.input_zero_point = zero_point_;
      return emit(op, q->output(0), 3);
    }
    OpRecord op = edge::op_record(OpKind::kDequantize);
    op.scale = r_.scalar_f32(n.input(1), "scale");
    op.input_zero_point = r_.activation_zero_point(n);
    if (op.scale != scale_ || op.input_zero_point != zero_point_)
      throw import_error("node '" + n.name() + "': scale or zero point differs from its input's");
    int8_ = false;
    emit(op, n.output(0), 1);
  }

  // DQ -> Gemm/Conv(DQ weights, DQ bias) [-> Relu] -> Q: one QLinear / QConv2d.
  void int8_layer(const NodeProto& main) {
    const bool conv = main.op_type() == "Conv";
    const std::string node = "node '" + main.name() + "'";
    size_t k = 2;
    const NodeProto* relu = peek(k, "Relu");
    if (relu) ++k;
    const NodeProto* q = peek(k, "QuantizeLinear");
    if (!q)
      throw import_error(node + ": an int8 " + main.op_type() + " must end in QuantizeLinear");
    const NodeProto& wdq = *constant_dq_.at(main.input(1));
    const TensorProto* wt = r_.initializer(wdq.input(0));
    if (wt->data_type() != TensorProto::INT8 || (conv ? 4 : 2) != wt->dims_size())
      throw import_error(node + ": weights must be int8 [out, in" +
                         std::string(conv ? ", k, k]" : "]"));
    if (!conv && int_attr(main, "transB", 0) != 1)
      throw import_error(node + ": Gemm must have transB=1");
    std::vector<int8_t> codes = r_.values<int8_t>(wdq.input(0), TensorProto::INT8, "weight");
    std::vector<float> w_scale = r_.values<float>(wdq.input(1), TensorProto::FLOAT, "scale");
    const int64_t out = wt->dims(0), in = wt->dims(1);
    if (static_cast<int64_t>(w_scale.size()) != out)
      throw import_error(node + ": weights must be per output channel");
    if (wdq.input_size() >= 3)
      for (int8_t z : r_.values<int8_t>(wdq.input(2), TensorProto::INT8, "weight zero point"))
        if (z != 0) throw import_error(node + ": weights must be symmetric");
    std::vector<int32_t> bias(static_cast<size_t>(out), 0);
    if (main.input_size() >= 3) {
      auto it = constant_dq_.find(main.input(2));
      if (it == constant_dq_.end()) throw import_error(node + ": the bias must be int32 codes");
      bias = r_.values<int32_t>(it->second->input(0), TensorProto::INT32, "bias");
      if (static_cast<int64_t>(bias.size()) != out) throw import_error(node + ": bias size");
    }
    const float out_scale = r_.scalar_f32(q->input(1), "scale");
    const int32_t out_zp = r_.activation_zero_point(*q);
    OpRecord op = edge::op_record(conv ? OpKind::kQConv2d : OpKind::kQLinear);
    op.in = static_cast<uint32_t>(in);
    op.out = static_cast<uint32_t>(out);
    if (conv) {
      if (wt->dims(2) != wt->dims(3)) throw import_error(node + ": only square kernels map");
      read_window(main, &op, true, wt->dims(2));
    }
    for (float w_s : w_scale)
      if (!(w_s > 0) || !std::isfinite(w_s))
        throw import_error(node + ": weight scales must be positive");
    b_.add_int8_weights(op, codes.data(), codes.size(), bias, w_scale, scale_, out_scale);
    if (relu) op.flags |= edge::kFlagFusedReLU;
    op.input_zero_point = zero_point_;
    op.output_zero_point = out_zp;
    scale_ = out_scale;
    zero_point_ = out_zp;
    emit(op, q->output(0), k + 1);
  }

  // Gemm (transB) or Conv with fp32 initializer weights [and bias] [-> Relu].
  void float_layer(const NodeProto& n) {
    const bool conv = n.op_type() == "Conv";
    if (n.input_size() < 2) throw import_error("node '" + n.name() + "': no weights");
    const TensorProto* wt = r_.initializer(n.input(1));
    if (!wt || wt->dims_size() != (conv ? 4 : 2))
      throw import_error("node '" + n.name() + "': the weights must be an initializer");
    if (!conv && (int_attr(n, "transB", 0) != 1 || int_attr(n, "transA", 0) != 0))
      throw import_error("node '" + n.name() + "': Gemm must have transB=1");
    std::vector<float> weights = r_.values<float>(n.input(1), TensorProto::FLOAT, "weight");
    OpRecord op = edge::op_record(conv ? OpKind::kConv2d : OpKind::kLinear);
    op.out = static_cast<uint32_t>(wt->dims(0));
    op.in = static_cast<uint32_t>(wt->dims(1));
    if (conv) read_window(n, &op, true, wt->dims(2));
    op.weight = b_.add_tensor(DType::kF32, weights.data(), weights.size());
    if (n.input_size() >= 3 && !n.input(2).empty()) {
      std::vector<float> bias = r_.values<float>(n.input(2), TensorProto::FLOAT, "bias");
      op.bias = b_.add_tensor(DType::kF32, bias.data(), bias.size());
    }
    const NodeProto* relu = peek(1, "Relu");
    if (relu && consumes(*relu, n.output(0))) {
      op.flags |= edge::kFlagFusedReLU;
      return emit(op, relu->output(0), 2);
    }
    emit(op, n.output(0), 1);
  }

  // The operators with no weights.
  void plain(const NodeProto& n) {
    const std::string& type = n.op_type();
    OpRecord op = edge::op_record(OpKind::kReLU);
    if (type == "Relu" && !int8_) {
    } else if (type == "MaxPool") {
      op.kind = OpKind::kMaxPool2d;
      read_window(n, &op, false, 0);
    } else if (type == "AveragePool" && !int8_) {
      op.kind = OpKind::kAvgPool2d;
      read_window(n, &op, false, 0);
    } else if (type == "Flatten" && int_attr(n, "axis", 1) == 1) {
      op.kind = OpKind::kFlatten;
    } else if (type == "Softmax" && !int8_ && int_attr(n, "axis", -1) != 0) {
      op.kind = OpKind::kSoftmax;
    } else {
      throw import_error("node '" + n.name() + "' (" + type + (int8_ ? ", on int8 values" : "") +
                         ") has no edge operator");
    }
    emit(op, n.output(0), 1);
  }

  const GraphReader& r_;
  edge::FileBuilder& b_;
  std::map<std::string, const NodeProto*> constant_dq_;
  std::vector<const NodeProto*> nodes_;
  size_t i_ = 0;
  std::string current_;
  // The int8 activation flowing (between QuantizeLinear and DequantizeLinear): its edge scale and
  // zero point.
  bool int8_ = false;
  float scale_ = 0;
  int32_t zero_point_ = 0;
};

}  // namespace

std::vector<uint8_t> onnx_to_edge(const std::string& onnx_bytes) {
  return onnx_to_edge(onnx_bytes, {});
}

std::vector<uint8_t> onnx_to_edge(const std::string& onnx_bytes,
                                  const std::vector<uint32_t>& given_shape) {
  ModelProto model;
  if (!model.ParseFromString(onnx_bytes)) throw import_error("not a serialized ONNX ModelProto");
  const GraphProto& g = model.graph();
  bool quantized = false;  // a QDQ graph as greenai exports it; anything else is an fp32 graph
  for (const NodeProto& n : g.node())
    quantized = quantized || n.op_type() == "QuantizeLinear" || n.op_type() == "DequantizeLinear";
  if (!quantized) {
    std::vector<uint8_t> bytes = import_float_graph(model, given_shape);
    edge::FileView check;  // what the importer wrote must also load
    if (std::string why = edge::view_file(bytes, &check); !why.empty())
      throw import_error("the graph does not form a valid edge model: " + why);
    return bytes;
  }
  if (!given_shape.empty())
    throw import_error("an input shape is given for a quantized (QDQ) graph, whose shape is fixed");
  GraphReader r(g);
  std::string input;
  edge::FileBuilder b(input_shape(g, r, &input));
  const std::string last = Importer(g, r, b, input).run();
  if (g.output_size() != 1 || g.output(0).name() != last)
    throw import_error("the graph's one output must be the end of the chain");
  std::vector<uint8_t> bytes = b.finish();
  edge::FileView check;  // what the importer wrote must also load
  if (std::string why = edge::view_file(bytes, &check); !why.empty())
    throw import_error("the graph does not form a valid edge model: " + why);
  return bytes;
}

}  // namespace greenai::interop
