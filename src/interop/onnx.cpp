#include "greenai/interop/onnx.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>

#include "greenai/edge/format.h"
#include "greenai/error.h"
#include "greenai/version.h"

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

constexpr int kIrVersion = 7;  // the IR version of opset 13

// ---------------------------------------------------------------------------------------------
// Export

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
  GraphWriter w(g);

  auto value_info = [](::onnx::ValueInfoProto* v, const std::string& name,
                       const std::vector<int64_t>& dims) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(TensorProto::FLOAT);
    auto* shape = tt->mutable_shape();
    shape->add_dim()->set_dim_param("batch");
    for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
  };
  std::vector<int64_t> in_dims;
  for (uint32_t d : view.header.input_shape)
    if (d) in_dims.push_back(d);
  value_info(g->add_input(), "input", in_dims);

  std::string current = "input";
  // The real scale and ONNX (uint8) zero point of the int8 activation flowing, when it is int8.
  float act_scale = 0;
  uint8_t act_zp = 0;
  int64_t out_features = 0;
  for (size_t i = 0; i < view.ops.size(); ++i) {
    const OpRecord& op = view.ops[i];
    const bool relu = op.flags & edge::kFlagFusedReLU;
    const std::string where = "op " + std::to_string(i);
    auto add_relu = [&](const std::string& x) {
      const std::string y = w.fresh("relu");
      w.node("Relu", {x}, y);
      return y;
    };
    // int8 -> real, for the operators ONNX runs on dequantized values.
    auto dequantize_current = [&]() {
      const std::string y = w.fresh("dq");
      w.node("DequantizeLinear",
             {current, w.scalar_f32("scale", act_scale), w.scalar_u8("zero_point", act_zp)}, y);
      return y;
    };
    auto quantize_to = [&](const std::string& x, float scale, uint8_t zp) {
      const std::string y = w.fresh("q");
      w.node("QuantizeLinear", {x, w.scalar_f32("scale", scale), w.scalar_u8("zero_point", zp)}, y);
      return y;
    };
    std::string next;
    switch (op.kind) {
      case OpKind::kLinear:
      case OpKind::kConv2d: {
        const bool conv = op.kind == OpKind::kConv2d;
        const auto dims = weight_dims(op);
        std::vector<std::string> inputs{
            current, w.initializer("weight", TensorProto::FLOAT, dims, view.tensor(op.weight),
                                   view.count(op.weight) * 4)};
        if (op.bias != edge::kNoTensor)
          inputs.push_back(w.initializer("bias", TensorProto::FLOAT, {op.out}, view.tensor(op.bias),
                                         view.count(op.bias) * 4));
        next = w.fresh(conv ? "conv" : "gemm");
        NodeProto* n = w.node(conv ? "Conv" : "Gemm", inputs, next);
        if (conv)
          window_attrs(n, op, true);
        else
          GraphWriter::attr(n, "transB", 1);
        if (relu) next = add_relu(next);
        break;
      }
      case OpKind::kQLinear:
      case OpKind::kQConv2d: {
        if (!(op.flags & edge::kFlagScales))
          throw export_error(where + ": the int8 operator does not record its real scales",
                             "quantize the checkpoint again with this version of greenai");
        const bool conv = op.kind == OpKind::kQConv2d;
        const auto* w_scale = static_cast<const float*>(view.tensor(op.weight_scale));
        std::vector<float> bias_scale(op.out);
        for (uint32_t c = 0; c < op.out; ++c) bias_scale[c] = act_scale * w_scale[c];
        const std::vector<int8_t> w_zp(op.out, 0);
        const std::vector<int32_t> b_zp(op.out, 0);
        const std::string wq = w.fresh("weight_dq"), bq = w.fresh("bias_dq");
        NodeProto* wn = w.node(
            "DequantizeLinear",
            {w.initializer("weight_q", TensorProto::INT8, weight_dims(op), view.tensor(op.weight),
                           view.count(op.weight)),
             w.initializer("weight_scale", TensorProto::FLOAT, {op.out}, w_scale, op.out * 4),
             w.initializer("weight_zero_point", TensorProto::INT8, {op.out}, w_zp.data(), op.out)},
            wq);
        GraphWriter::attr(wn, "axis", 0);
        NodeProto* bn = w.node("DequantizeLinear",
                               {w.initializer("bias_q", TensorProto::INT32, {op.out},
                                              view.tensor(op.bias), op.out * 4),
                                w.initializer("bias_scale", TensorProto::FLOAT, {op.out},
                                              bias_scale.data(), op.out * 4),
                                w.initializer("bias_zero_point", TensorProto::INT32, {op.out},
                                              b_zp.data(), op.out * 4)},
                               bq);
        GraphWriter::attr(bn, "axis", 0);
        const std::string x = dequantize_current();
        std::string y = w.fresh(conv ? "conv" : "gemm");
        NodeProto* n = w.node(conv ? "Conv" : "Gemm", {x, wq, bq}, y);
        if (conv)
          window_attrs(n, op, true);
        else
          GraphWriter::attr(n, "transB", 1);
        if (relu) y = add_relu(y);
        act_scale = op.scale;
        act_zp = static_cast<uint8_t>(op.output_zero_point + 128);
        next = quantize_to(y, act_scale, act_zp);
        break;
      }
      case OpKind::kReLU:
      case OpKind::kAvgPool2d: {
        // The activation is int8 exactly when act_scale is set (between Quantize and Dequantize).
        const bool int8 = act_scale > 0;
        const std::string x = int8 ? dequantize_current() : current;
        next = w.fresh(op.kind == OpKind::kReLU ? "relu" : "avgpool");
        NodeProto* n = w.node(op.kind == OpKind::kReLU ? "Relu" : "AveragePool", {x}, next);
        if (op.kind == OpKind::kAvgPool2d) window_attrs(n, op, false);
        if (int8) next = quantize_to(next, act_scale, act_zp);
        break;
      }
      case OpKind::kMaxPool2d:
        next = w.fresh("maxpool");
        window_attrs(w.node("MaxPool", {current}, next), op, false);
        break;
      case OpKind::kFlatten:
        next = w.fresh("flatten");
        GraphWriter::attr(w.node("Flatten", {current}, next), "axis", 1);
        break;
      case OpKind::kSoftmax:
        next = w.fresh("softmax");
        GraphWriter::attr(w.node("Softmax", {current}, next), "axis", 1);
        break;
      case OpKind::kQuantize:
        act_scale = op.scale;
        act_zp = static_cast<uint8_t>(op.output_zero_point + 128);
        next = quantize_to(current, act_scale, act_zp);
        break;
      case OpKind::kDequantize:
        next = dequantize_current();
        act_scale = 0;
        break;
      case OpKind::kDynamicLinear:
        throw export_error(where + ": dynamic quantization has no ONNX form here",
                           "export with --precision int8 (static) or fp32");
    }
    if (op.kind == OpKind::kLinear || op.kind == OpKind::kQLinear ||
        op.kind == OpKind::kDynamicLinear)
      out_features = op.out;
    current = next;
  }
  // The runtime's validation guarantees a float output; name it "output".
  NodeProto* last = g->mutable_node(g->node_size() - 1);
  last->set_output(0, "output");
  std::vector<int64_t> out_dims{out_features};
  value_info(g->add_output(), "output", out_dims);
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw export_error("protobuf serialization failed");
  return bytes;
}

void check_onnx(const std::string& onnx_bytes) {
  ModelProto model;
  if (!model.ParseFromString(onnx_bytes))
    throw Error("cannot check ONNX model", "not a serialized ONNX ModelProto");
  try {
    ::onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw Error("cannot check ONNX model", std::string("the ONNX checker refuses it: ") + e.what());
  }
}

bool looks_like_onnx(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char first[8] = {};
  f.read(first, sizeof first);
  if (f.gcount() < 2) return false;
  if (std::memcmp(first, edge::kMagic, sizeof first) == 0) return false;
  return first[0] == 0x08;  // field 1 (ir_version), varint: how every ModelProto starts
}

// ---------------------------------------------------------------------------------------------
// Import

namespace {

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

int64_t int_attr(const NodeProto& n, const std::string& name, int64_t fallback) {
  for (const AttributeProto& a : n.attribute())
    if (a.name() == name) return a.i();
  return fallback;
}
std::vector<int64_t> ints_attr(const NodeProto& n, const std::string& name) {
  for (const AttributeProto& a : n.attribute())
    if (a.name() == name) return {a.ints().begin(), a.ints().end()};
  return {};
}

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

OpRecord blank(OpKind kind) {
  OpRecord op{};
  op.kind = kind;
  op.weight = op.bias = op.multiplier = op.shift = op.weight_scale = edge::kNoTensor;
  return op;
}

}  // namespace

std::vector<uint8_t> onnx_to_edge(const std::string& onnx_bytes) {
  ModelProto model;
  if (!model.ParseFromString(onnx_bytes)) throw import_error("not a serialized ONNX ModelProto");
  const GraphProto& g = model.graph();
  GraphReader r(g);
  // The graph input: the one input that is not an initializer.
  const ::onnx::ValueInfoProto* input = nullptr;
  for (const auto& v : g.input())
    if (!r.initializer(v.name())) {
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
  edge::FileBuilder b(shape);

  // Weight and bias constants: DequantizeLinear nodes whose data is an initializer.
  std::map<std::string, const NodeProto*> constant_dq;
  for (const NodeProto& n : g.node())
    if (n.op_type() == "DequantizeLinear" && n.input_size() >= 2 && r.initializer(n.input(0)))
      constant_dq[n.output(0)] = &n;
  std::vector<const NodeProto*> nodes;
  for (const NodeProto& n : g.node())
    if (!(n.op_type() == "DequantizeLinear" && constant_dq.count(n.output(0)))) nodes.push_back(&n);

  std::string current = input->name();
  bool int8 = false;
  float scale = 0;
  int32_t zero_point = 0;
  size_t i = 0;
  auto peek = [&](size_t k, const char* type) -> const NodeProto* {
    if (i + k >= nodes.size() || nodes[i + k]->op_type() != type) return nullptr;
    return nodes[i + k];
  };
  auto consumes = [&](const NodeProto& n, const std::string& value) {
    return n.input_size() >= 1 && n.input(0) == value && n.output_size() >= 1;
  };
  while (i < nodes.size()) {
    const NodeProto& n = *nodes[i];
    if (!consumes(n, current))
      throw import_error("node '" + n.name() + "' (" + n.op_type() +
                         ") does not continue the chain from the input");
    const std::string& type = n.op_type();
    if (type == "QuantizeLinear" && !int8) {
      OpRecord op = blank(OpKind::kQuantize);
      scale = r.scalar_f32(n.input(1), "scale");
      zero_point = r.activation_zero_point(n);
      op.scale = scale;
      op.output_zero_point = zero_point;
      b.add_op(op);
      int8 = true;
      current = n.output(0);
      ++i;
      continue;
    }
    if (type == "DequantizeLinear" && int8) {
      const NodeProto* main = nodes.size() > i + 1 ? nodes[i + 1] : nullptr;
      const bool weighted = main && (main->op_type() == "Gemm" || main->op_type() == "Conv") &&
                            main->input_size() >= 2 && constant_dq.count(main->input(1));
      if (weighted && consumes(*main, n.output(0))) {
        // DQ -> Gemm/Conv(DQ weights, DQ bias) [-> Relu] -> Q: one QLinear / QConv2d.
        const bool conv = main->op_type() == "Conv";
        size_t k = 2;
        const NodeProto* relu = peek(k, "Relu");
        if (relu) ++k;
        const NodeProto* q = peek(k, "QuantizeLinear");
        if (!q)
          throw import_error("node '" + main->name() + "': an int8 " + main->op_type() +
                             " must end in QuantizeLinear");
        const NodeProto& wdq = *constant_dq[main->input(1)];
        const TensorProto* wt = r.initializer(wdq.input(0));
        if (wt->data_type() != TensorProto::INT8 || (conv ? 4 : 2) != wt->dims_size())
          throw import_error("node '" + main->name() + "': weights must be int8 [out, in" +
                             std::string(conv ? ", k, k]" : "]"));
        if (!conv && int_attr(*main, "transB", 0) != 1)
          throw import_error("node '" + main->name() + "': Gemm must have transB=1");
        std::vector<int8_t> codes = r.values<int8_t>(wdq.input(0), TensorProto::INT8, "weight");
        std::vector<float> w_scale = r.values<float>(wdq.input(1), TensorProto::FLOAT, "scale");
        const int64_t out = wt->dims(0), in = wt->dims(1);
        if (static_cast<int64_t>(w_scale.size()) != out)
          throw import_error("node '" + main->name() + "': weights must be per output channel");
        if (wdq.input_size() >= 3)
          for (int8_t z : r.values<int8_t>(wdq.input(2), TensorProto::INT8, "weight zero point"))
            if (z != 0)
              throw import_error("node '" + main->name() + "': weights must be symmetric");
        std::vector<int32_t> bias(static_cast<size_t>(out), 0);
        if (main->input_size() >= 3) {
          auto it = constant_dq.find(main->input(2));
          if (it == constant_dq.end())
            throw import_error("node '" + main->name() + "': the bias must be int32 codes");
          bias = r.values<int32_t>(it->second->input(0), TensorProto::INT32, "bias");
          if (static_cast<int64_t>(bias.size()) != out)
            throw import_error("node '" + main->name() + "': bias size");
        }
        const float out_scale = r.scalar_f32(q->input(1), "scale");
        const int32_t out_zp = r.activation_zero_point(*q);
        OpRecord op = blank(conv ? OpKind::kQConv2d : OpKind::kQLinear);
        op.in = static_cast<uint32_t>(in);
        op.out = static_cast<uint32_t>(out);
        if (conv) {
          if (wt->dims(2) != wt->dims(3))
            throw import_error("node '" + main->name() + "': only square kernels map");
          read_window(*main, &op, true, wt->dims(2));
        }
        for (float w_s : w_scale)
          if (!(w_s > 0) || !std::isfinite(w_s))
            throw import_error("node '" + main->name() + "': weight scales must be positive");
        b.add_int8_weights(op, codes.data(), codes.size(), bias, w_scale, scale, out_scale);
        if (relu) op.flags |= edge::kFlagFusedReLU;
        op.input_zero_point = zero_point;
        op.output_zero_point = out_zp;
        b.add_op(op);
        scale = out_scale;
        zero_point = out_zp;
        current = q->output(0);
        i += k + 1;
        continue;
      }
      // DQ -> Relu / AveragePool -> Q at the same scale: the int8 operator.
      const NodeProto* inner =
          main && consumes(*main, n.output(0)) &&
                  (main->op_type() == "Relu" || main->op_type() == "AveragePool")
              ? main
              : nullptr;
      const NodeProto* q = inner ? peek(2, "QuantizeLinear") : nullptr;
      if (inner && q && consumes(*q, inner->output(0)) &&
          r.scalar_f32(q->input(1), "scale") == scale &&
          r.activation_zero_point(*q) == zero_point) {
        OpRecord op = blank(inner->op_type() == "Relu" ? OpKind::kReLU : OpKind::kAvgPool2d);
        if (op.kind == OpKind::kAvgPool2d)
          read_window(*inner, &op, false, 0);
        else
          op.input_zero_point = zero_point;
        b.add_op(op);
        current = q->output(0);
        i += 3;
        continue;
      }
      OpRecord op = blank(OpKind::kDequantize);
      op.scale = r.scalar_f32(n.input(1), "scale");
      op.input_zero_point = r.activation_zero_point(n);
      if (op.scale != scale || op.input_zero_point != zero_point)
        throw import_error("node '" + n.name() + "': scale or zero point differs from its input's");
      b.add_op(op);
      int8 = false;
      current = n.output(0);
      ++i;
      continue;
    }
    if ((type == "Gemm" || type == "Conv") && !int8) {
      const bool conv = type == "Conv";
      if (n.input_size() < 2) throw import_error("node '" + n.name() + "': no weights");
      const TensorProto* wt = r.initializer(n.input(1));
      if (!wt || wt->dims_size() != (conv ? 4 : 2))
        throw import_error("node '" + n.name() + "': the weights must be an initializer");
      if (!conv && (int_attr(n, "transB", 0) != 1 || int_attr(n, "transA", 0) != 0))
        throw import_error("node '" + n.name() + "': Gemm must have transB=1");
      std::vector<float> weights = r.values<float>(n.input(1), TensorProto::FLOAT, "weight");
      OpRecord op = blank(conv ? OpKind::kConv2d : OpKind::kLinear);
      op.out = static_cast<uint32_t>(wt->dims(0));
      op.in = static_cast<uint32_t>(wt->dims(1));
      if (conv) read_window(n, &op, true, wt->dims(2));
      op.weight = b.add_tensor(DType::kF32, weights.data(), weights.size());
      if (n.input_size() >= 3 && !n.input(2).empty()) {
        std::vector<float> bias = r.values<float>(n.input(2), TensorProto::FLOAT, "bias");
        op.bias = b.add_tensor(DType::kF32, bias.data(), bias.size());
      }
      current = n.output(0);
      ++i;
      if (const NodeProto* relu = peek(0, "Relu"); relu && consumes(*relu, current)) {
        op.flags |= edge::kFlagFusedReLU;
        current = relu->output(0);
        ++i;
      }
      b.add_op(op);
      continue;
    }
    OpRecord op = blank(OpKind::kReLU);
    if (type == "Relu" && !int8) {
    } else if (type == "MaxPool") {
      op.kind = OpKind::kMaxPool2d;
      read_window(n, &op, false, 0);
    } else if (type == "AveragePool" && !int8) {
      op.kind = OpKind::kAvgPool2d;
      read_window(n, &op, false, 0);
    } else if (type == "Flatten" && int_attr(n, "axis", 1) == 1) {
      op.kind = OpKind::kFlatten;
    } else if (type == "Softmax" && !int8 && int_attr(n, "axis", -1) != 0) {
      op.kind = OpKind::kSoftmax;
    } else {
      throw import_error("node '" + n.name() + "' (" + type + (int8 ? ", on int8 values" : "") +
                         ") has no edge operator");
    }
    b.add_op(op);
    current = n.output(0);
    ++i;
  }
  if (g.output_size() != 1 || g.output(0).name() != current)
    throw import_error("the graph's one output must be the end of the chain");
  std::vector<uint8_t> bytes = b.finish();
  edge::FileView check;  // what the exporter wrote must also load
  if (std::string why = edge::view_file(bytes, &check); !why.empty())
    throw import_error("the graph does not form a valid edge model: " + why);
  return bytes;
}

}  // namespace greenai::interop
