// Importing fp32 ONNX graphs (onnx_graph_import.h): the nodes are read in their (topological)
// order into pending edge operators, constants folded on the way, then written to an edge file.
#include "interop/onnx_graph_import.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <string>

#include "greenai/edge/format.h"
#include "greenai/error.h"
#include "interop/onnx_attributes.h"

namespace greenai::interop {
namespace {

using edge::DType;
using edge::kNoValue;
using edge::OpGraph;
using edge::OpKind;
using edge::OpRecord;
using ::onnx::AttributeProto;
using ::onnx::GraphProto;
using ::onnx::ModelProto;
using ::onnx::NodeProto;
using ::onnx::TensorProto;

// The batch dimension inside folded shape arithmetic (Shape of a value gives it first): a
// negative no shape holds, exact as the double constants are kept in.
constexpr int64_t kBatch = -(int64_t{1} << 50) + 3;
constexpr int64_t kMaxElements = int64_t{1} << 28;

Error import_error(const std::string& problem) {
  return Error("cannot import ONNX model", problem,
               "greenai imports fp32 graphs of the operators docs/edge-format.md lists, as "
               "torch.onnx.export writes them (opsets 11 to 17)");
}

// A constant: an initializer, a Constant node, or folded shape arithmetic. Numbers are kept as
// double (float32 data converts exactly; int64 shapes fit well below 2^53).
struct Constant {
  std::vector<int64_t> dims;
  std::vector<double> data;
  bool integer = false;
  int64_t count() const { return static_cast<int64_t>(data.size()); }
};

// What an ONNX value name stands for: a constant, or an edge value with its per-example shape.
struct Value {
  std::optional<Constant> constant;
  uint32_t id = 0;             // the edge value
  std::vector<int64_t> shape;  // per example: (N) or (C, H, W)
};

// An edge operator before it is written: weights as floats, so BatchNormalization and a bias
// Add can still fold into it.
struct Pending {
  OpRecord op{};
  OpGraph graph{};
  std::vector<float> weight, bias, constant;
  std::vector<int32_t> shape;  // Reshape
  int64_t readers = 0;         // ONNX nodes (and graph outputs) reading its output
};

template <typename T>
void copy_raw(const std::string& raw, int64_t count, std::vector<double>& out) {
  if (static_cast<int64_t>(raw.size()) != count * static_cast<int64_t>(sizeof(T)))
    throw import_error("a tensor's raw data does not match its shape");
  for (int64_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, raw.data() + i * sizeof(T), sizeof v);
    out.push_back(static_cast<double>(v));
  }
}

// A TensorProto's values: float, double and the integer types exporters write.
Constant read_tensor(const TensorProto& t) {
  Constant c;
  int64_t count = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || d > kMaxElements) throw import_error("tensor '" + t.name() + "': bad shape");
    count *= d;
    if (count > kMaxElements) throw import_error("tensor '" + t.name() + "' is too large");
    c.dims.push_back(d);
  }
  if (t.data_location() == TensorProto::EXTERNAL)
    throw import_error("tensor '" + t.name() + "' keeps its data in an external file");
  c.data.reserve(static_cast<size_t>(count));
  const bool raw = t.has_raw_data();
  auto take = [&](const auto& field) {
    if (field.size() != count)
      throw import_error("tensor '" + t.name() + "': element count does not match its shape");
    for (const auto& v : field) c.data.push_back(static_cast<double>(v));
  };
  switch (t.data_type()) {
    case TensorProto::FLOAT:
      raw ? copy_raw<float>(t.raw_data(), count, c.data) : take(t.float_data());
      break;
    case TensorProto::DOUBLE:
      raw ? copy_raw<double>(t.raw_data(), count, c.data) : take(t.double_data());
      break;
    case TensorProto::INT64:
      c.integer = true;
      raw ? copy_raw<int64_t>(t.raw_data(), count, c.data) : take(t.int64_data());
      break;
    case TensorProto::INT32:
      c.integer = true;
      raw ? copy_raw<int32_t>(t.raw_data(), count, c.data) : take(t.int32_data());
      break;
    case TensorProto::BOOL:
    case TensorProto::UINT8:
      c.integer = true;
      raw ? copy_raw<uint8_t>(t.raw_data(), count, c.data) : take(t.int32_data());
      break;
    case TensorProto::INT8:
      c.integer = true;
      raw ? copy_raw<int8_t>(t.raw_data(), count, c.data) : take(t.int32_data());
      break;
    default:
      throw import_error("tensor '" + t.name() + "' has data type " +
                         std::to_string(t.data_type()) + ", which an fp32 graph does not hold");
  }
  return c;
}

int64_t product(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

class GraphImporter {
 public:
  GraphImporter(const ModelProto& model, std::vector<uint32_t> input_shape)
      : g_(model.graph()), given_shape_(std::move(input_shape)) {
    for (const auto& o : model.opset_import())
      if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = o.version();
    for (const TensorProto& t : g_.initializer()) values_[t.name()].constant = read_tensor(t);
    for (const NodeProto& n : g_.node())
      for (const std::string& in : n.input()) ++readers_[in];
    for (const auto& o : g_.output()) ++readers_[o.name()];
  }

  std::vector<uint8_t> run() {
    const std::vector<uint32_t> input_shape = read_input();
    for (const NodeProto& n : g_.node()) node(n);
    if (g_.output_size() != 1) throw import_error("the graph must have one output");
    const Value& out = value(g_.output(0).name(), "the graph's output");
    if (out.constant || pending_.empty() || out.id != pending_.size())
      throw import_error("the graph's output '" + g_.output(0).name() +
                         "' must be written by its last operator");
    edge::FileBuilder b(input_shape);
    for (Pending& p : pending_) {
      if (!p.weight.empty())
        p.op.weight = b.add_tensor(DType::kF32, p.weight.data(), p.weight.size());
      if (!p.bias.empty()) p.op.bias = b.add_tensor(DType::kF32, p.bias.data(), p.bias.size());
      if (!p.constant.empty())
        p.op.weight = b.add_tensor(DType::kF32, p.constant.data(), p.constant.size());
      if (!p.shape.empty()) p.op.weight = b.add_tensor(DType::kI32, p.shape.data(), p.shape.size());
      canonical_window(p);
      b.add_op(p.op, p.graph);
    }
    return b.finish();
  }

 private:
  // A square window with equal padding, undilated and dense, is written as version 1 wrote it
  // (no kFlagWindow, the OpGraph's window fields zero): one file for one model.
  static void canonical_window(Pending& p) {
    OpGraph& g = p.graph;
    if (g.groups == 1) g.groups = 0;
    if (!(p.op.flags & edge::kFlagWindow)) return;
    const OpRecord& op = p.op;
    if (g.kernel_w == op.kernel && g.stride_w == op.stride && g.pad_left == op.padding &&
        g.pad_bottom == op.padding && g.pad_right == op.padding && g.dilation_h == 1 &&
        g.dilation_w == 1) {
      p.op.flags &= ~edge::kFlagWindow;
      g.kernel_w = g.stride_w = g.pad_left = g.pad_bottom = g.pad_right = 0;
      g.dilation_h = g.dilation_w = 0;
    }
  }

  // The one graph input that is not an initializer: [batch, N] or [batch, C, H, W].
  std::vector<uint32_t> read_input() {
    const ::onnx::ValueInfoProto* input = nullptr;
    for (const auto& v : g_.input())
      if (!values_.count(v.name())) {
        if (input) throw import_error("more than one graph input (greenai runs one)");
        input = &v;
      }
    if (!input) throw import_error("no graph input");
    const auto& type = input->type().tensor_type();
    if (type.elem_type() != TensorProto::FLOAT)
      throw import_error("the graph input '" + input->name() + "' must be float32");
    const auto& dims = type.shape().dim();
    if (dims.size() != 2 && dims.size() != 4)
      throw import_error("the graph input must be [batch, N] or [batch, C, H, W]");
    if (!given_shape_.empty() && given_shape_.size() + 1 != static_cast<size_t>(dims.size()))
      throw import_error("the input shape given has " + std::to_string(given_shape_.size()) +
                         " dimensions; the graph's input has " + std::to_string(dims.size() - 1) +
                         " after the batch");
    if (dims[0].has_dim_value() && dims[0].dim_value() != 1)
      throw import_error("the graph input's batch dimension must be dynamic or 1");
    batch_one_ = dims[0].has_dim_value();
    Value& v = values_[input->name()];
    std::vector<uint32_t> shape;
    for (int d = 1; d < dims.size(); ++d) {
      int64_t size = dims[d].has_dim_value() ? dims[d].dim_value() : -1;
      if (!given_shape_.empty()) {
        const int64_t given = given_shape_[static_cast<size_t>(d - 1)];
        if (size > 0 && size != given)
          throw import_error("the input shape given says " + std::to_string(given) +
                             " for dimension " + std::to_string(d) + ", the graph fixes " +
                             std::to_string(size));
        size = given;
      }
      if (size <= 0 || size > (1 << 20))
        throw import_error(
            "the input's dimensions after the batch must be fixed and positive (give them with "
            "--input-shape)");
      v.shape.push_back(size);
      shape.push_back(static_cast<uint32_t>(size));
    }
    v.id = 0;
    return shape;
  }

  Error node_error(const NodeProto& n, const std::string& problem) const {
    return import_error("node '" + n.name() + "' (" + n.op_type() + ", opset " +
                        std::to_string(opset_) + "): " + problem);
  }

  const Value& value(const std::string& name, const std::string& what) const {
    auto it = values_.find(name);
    if (it == values_.end()) throw import_error(what + " '" + name + "' is never written");
    return it->second;
  }
  const Constant* constant_input(const NodeProto& n, int i) const {
    if (i >= n.input_size() || n.input(i).empty()) return nullptr;
    const Value& v = value(n.input(i), "input");
    return v.constant ? &*v.constant : nullptr;
  }
  const Constant& need_constant(const NodeProto& n, int i, const char* what) const {
    const Constant* c = constant_input(n, i);
    if (!c) throw node_error(n, std::string(what) + " must be a constant");
    return *c;
  }
  const Value& need_value(const NodeProto& n, int i) const {
    if (i >= n.input_size()) throw node_error(n, "missing input");
    const Value& v = value(n.input(i), "input");
    if (v.constant)
      throw node_error(n, "input '" + n.input(i) + "' must be computed, not constant");
    return v;
  }
  void set_constant(const NodeProto& n, Constant c) {
    if (n.output_size() < 1) throw node_error(n, "no output");
    values_[n.output(0)] = Value{std::move(c), 0, {}};
  }

  // Appends an operator reading `a` (and `b`); its output is the node's output.
  Pending& emit(const NodeProto& n, OpRecord op, const Value& a, const Value* b,
                std::vector<int64_t> shape, OpGraph graph = {}) {
    int64_t elements = product(shape);
    if (shape.empty() || elements <= 0 || elements > (int64_t{1} << 24))
      throw node_error(n, "its output is empty or too large");
    Pending p;
    p.op = op;
    p.graph = graph;
    p.graph.input[0] = a.id;
    p.graph.input[1] = b ? b->id : kNoValue;
    p.readers = n.output_size() ? readers_[n.output(0)] : 0;
    pending_.push_back(std::move(p));
    Value& out = values_[n.output(0)];
    out.constant.reset();
    out.id = static_cast<uint32_t>(pending_.size());
    out.shape = std::move(shape);
    return pending_.back();
  }
  // The pending operator writing value `v` if it is the last one written and read only once.
  Pending* sole_producer(const Value& v, std::initializer_list<OpKind> kinds) {
    if (v.constant || v.id == 0 || v.id != pending_.size()) return nullptr;
    Pending& p = pending_.back();
    if (p.readers != 1) return nullptr;
    for (OpKind k : kinds)
      if (p.op.kind == k) return &p;
    return nullptr;
  }
  void alias(const NodeProto& n, const std::string& from) {
    const Value copy = value(from, "input");
    values_[n.output(0)] = copy;
    // A fused operator's output keeps the fused one's readers.
    if (!copy.constant && copy.id == pending_.size() && copy.id != 0)
      pending_.back().readers = readers_[n.output(0)];
  }

  void node(const NodeProto& n) {
    const std::string& t = n.op_type();
    if (!n.domain().empty() && n.domain() != "ai.onnx")
      throw node_error(n, "operators of domain '" + n.domain() + "' have no edge operator");
    if (n.output_size() < 1) throw node_error(n, "no output");
    if (t != "Constant" && n.input_size() < 1) throw node_error(n, "no input");
    if (fold(n)) return;
    if (t == "Identity" || t == "Dropout") return alias(n, n.input(0));
    if (t == "Conv") return conv(n);
    if (t == "BatchNormalization") return batch_norm(n);
    if (t == "Relu") return relu(n);
    if (t == "Clip") return clip(n);
    if (t == "Sigmoid" || t == "HardSigmoid" || t == "HardSwish") return unary(n);
    if (t == "Add" || t == "Sub" || t == "Mul" || t == "Div") return binary(n);
    if (t == "MaxPool" || t == "AveragePool") return pool(n);
    if (t == "GlobalAveragePool" || t == "GlobalMaxPool") return global_pool(n);
    if (t == "Flatten") return flatten(n);
    if (t == "Reshape") return reshape(n);
    if (t == "Gemm" || t == "MatMul") return dense(n);
    if (t == "Concat") return concat(n);
    if (t == "Softmax") return softmax(n);
    throw node_error(n, "has no edge operator");
  }

  // Constant folding: Constant, and shape arithmetic on constants (Shape of a value included).
  bool fold(const NodeProto& n) {
    const std::string& t = n.op_type();
    if (t == "Constant") {
      const AttributeProto* a = find_attr(n, "value");
      if (a && a->has_t()) return set_constant(n, read_tensor(a->t())), true;
      if (const AttributeProto* f = find_attr(n, "value_float"))
        return set_constant(n, Constant{{}, {f->f()}, false}), true;
      if (const AttributeProto* i = find_attr(n, "value_int"))
        return set_constant(n, Constant{{}, {static_cast<double>(i->i())}, true}), true;
      if (const AttributeProto* is = find_attr(n, "value_ints")) {
        Constant c{{is->ints_size()}, {}, true};
        for (int64_t v : is->ints()) c.data.push_back(static_cast<double>(v));
        return set_constant(n, std::move(c)), true;
      }
      throw node_error(n, "a Constant of an unsupported form");
    }
    if (t == "Shape" && n.input_size() == 1) {
      const Value& v = value(n.input(0), "input");
      Constant c{{}, {}, true};
      if (v.constant) {
        for (int64_t d : v.constant->dims) c.data.push_back(static_cast<double>(d));
      } else {
        c.data.push_back(static_cast<double>(kBatch));
        for (int64_t d : v.shape) c.data.push_back(static_cast<double>(d));
      }
      c.dims = {c.count()};
      return set_constant(n, std::move(c)), true;
    }
    for (int i = 0; i < n.input_size(); ++i)
      if (!n.input(i).empty() && !constant_input(n, i)) return false;
    if (n.input_size() == 0 || n.input(0).empty()) return false;
    const Constant& a = need_constant(n, 0, "the input");
    if (t == "Identity" || t == "Cast") {
      Constant c = a;
      if (t == "Cast") {
        const int64_t to = int_attr(n, "to", TensorProto::FLOAT);
        c.integer = to != TensorProto::FLOAT && to != TensorProto::DOUBLE;
        if (c.integer)
          for (double& v : c.data) v = std::trunc(v);
      }
      return set_constant(n, std::move(c)), true;
    }
    if (t == "Unsqueeze" || t == "Squeeze") {  // only the dims change
      Constant c = a;
      std::vector<int64_t> axes = ints_attr(n, "axes");
      if (const Constant* in = constant_input(n, 1))
        for (double v : in->data) axes.push_back(static_cast<int64_t>(v));
      if (t == "Squeeze") {
        std::vector<int64_t> dims;
        for (size_t k = 0; k < c.dims.size(); ++k) {
          const bool listed = axes.empty() ? c.dims[k] == 1
                                           : std::find(axes.begin(), axes.end(),
                                                       static_cast<int64_t>(k)) != axes.end();
          if (!listed) dims.push_back(c.dims[k]);
        }
        c.dims = dims;
      } else {
        for (size_t k = 0; k < axes.size(); ++k) c.dims.push_back(1);
      }
      return set_constant(n, std::move(c)), true;
    }
    if (t == "Gather") {
      const Constant& idx = need_constant(n, 1, "the indices");
      if (a.dims.size() != 1 || int_attr(n, "axis", 0) != 0)
        throw node_error(n, "folds only a 1-d constant along axis 0");
      Constant c{idx.dims, {}, a.integer};
      for (double v : idx.data) {
        int64_t k = static_cast<int64_t>(v);
        if (k < 0) k += a.count();
        if (k < 0 || k >= a.count()) throw node_error(n, "index out of range");
        c.data.push_back(a.data[static_cast<size_t>(k)]);
      }
      return set_constant(n, std::move(c)), true;
    }
    if (t == "Concat") {
      Constant c{{0}, {}, true};
      for (int i = 0; i < n.input_size(); ++i) {
        const Constant& part = need_constant(n, i, "every input");
        if (part.dims.size() > 1) throw node_error(n, "folds only 1-d constants");
        c.integer = c.integer && part.integer;
        c.data.insert(c.data.end(), part.data.begin(), part.data.end());
      }
      c.dims = {c.count()};
      return set_constant(n, std::move(c)), true;
    }
    if ((t == "Add" || t == "Sub" || t == "Mul" || t == "Div") && n.input_size() == 2) {
      const Constant& b = need_constant(n, 1, "the second input");
      if (a.count() != b.count() && b.count() != 1 && a.count() != 1)
        throw node_error(n, "folds only equal shapes or a scalar");
      const Constant& big = a.count() >= b.count() ? a : b;
      Constant c{big.dims, {}, a.integer && b.integer};
      for (int64_t i = 0; i < big.count(); ++i) {
        const double x = a.data[static_cast<size_t>(a.count() == 1 ? 0 : i)];
        const double y = b.data[static_cast<size_t>(b.count() == 1 ? 0 : i)];
        double r = t == "Add" ? x + y : t == "Sub" ? x - y : t == "Mul" ? x * y : x / y;
        if (c.integer && t == "Div") r = std::floor(r);
        c.data.push_back(r);
      }
      return set_constant(n, std::move(c)), true;
    }
    throw node_error(n, "has only constant inputs, and greenai does not fold this operator");
  }

  // kernel_shape, strides, pads, dilations (and auto_pad) of Conv and the pools, into the record
  // and graph; returns the output's (H, W).
  std::vector<int64_t> window(const NodeProto& n, const std::vector<int64_t>& in,
                              std::vector<int64_t> k, OpRecord& op, OpGraph& graph) {
    if (k.empty()) k = ints_attr(n, "kernel_shape");
    std::vector<int64_t> s = ints_attr(n, "strides"), p = ints_attr(n, "pads"),
                         d = ints_attr(n, "dilations");
    if (s.empty()) s = {1, 1};
    if (d.empty()) d = {1, 1};
    if (k.size() != 2 || s.size() != 2 || d.size() != 2)
      throw node_error(n, "needs a 2-d window over an [N, C, H, W] input");
    for (int64_t v : {k[0], k[1], s[0], s[1], d[0], d[1]})
      if (v <= 0 || v > 1024) throw node_error(n, "kernel, stride or dilation out of range");
    const std::string auto_pad = string_attr(n, "auto_pad");
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      p.assign(4, 0);
      for (int axis = 0; axis < 2; ++axis) {
        const int64_t out = (in[axis + 1] + s[axis] - 1) / s[axis];
        const int64_t total =
            std::max<int64_t>(0, (out - 1) * s[axis] + (k[axis] - 1) * d[axis] + 1 - in[axis + 1]);
        const int64_t small = total / 2, large = total - small;
        p[axis] = auto_pad == "SAME_UPPER" ? small : large;
        p[axis + 2] = auto_pad == "SAME_UPPER" ? large : small;
      }
    } else if (!auto_pad.empty() && auto_pad != "NOTSET" && auto_pad != "VALID") {
      throw node_error(n, "auto_pad " + auto_pad + " is not an ONNX mode");
    }
    if (p.empty()) p = {0, 0, 0, 0};
    if (p.size() != 4) throw node_error(n, "pads must have 4 values");
    std::vector<int64_t> out(2);
    for (int axis = 0; axis < 2; ++axis) {
      const int64_t extent = (k[axis] - 1) * d[axis] + 1;
      if (p[axis] < 0 || p[axis + 2] < 0 || p[axis] >= extent || p[axis + 2] >= extent)
        throw node_error(n, "each pad must be smaller than the window");
      const int64_t padded = in[axis + 1] + p[axis] + p[axis + 2];
      if (padded < extent) throw node_error(n, "the window is larger than the padded input");
      out[axis] = (padded - extent) / s[axis] + 1;
      if (int_attr(n, "ceil_mode", 0) == 1 && (padded - extent) % s[axis] != 0)
        throw node_error(n,
                         "ceil_mode=1 changes the output size here; export with "
                         "ceil_mode=False");
    }
    op.kernel = static_cast<uint32_t>(k[0]);
    op.stride = static_cast<uint32_t>(s[0]);
    op.padding = static_cast<uint32_t>(p[0]);
    graph.kernel_w = static_cast<uint32_t>(k[1]);
    graph.stride_w = static_cast<uint32_t>(s[1]);
    graph.pad_left = static_cast<uint32_t>(p[1]);
    graph.pad_bottom = static_cast<uint32_t>(p[2]);
    graph.pad_right = static_cast<uint32_t>(p[3]);
    graph.dilation_h = static_cast<uint32_t>(d[0]);
    graph.dilation_w = static_cast<uint32_t>(d[1]);
    op.flags |= edge::kFlagWindow;
    return out;
  }

  const Value& image_input(const NodeProto& n) const {
    const Value& x = need_value(n, 0);
    if (x.shape.size() != 3) throw node_error(n, "needs an [N, C, H, W] input");
    return x;
  }

  void conv(const NodeProto& n) {
    const Value& x = image_input(n);
    const Constant& w = need_constant(n, 1, "the weights");
    const int64_t groups = int_attr(n, "group", 1);
    if (w.dims.size() != 4) throw node_error(n, "weights must be [out, in / group, kh, kw]");
    if (groups <= 0 || x.shape[0] % groups != 0 || w.dims[0] % groups != 0 ||
        w.dims[1] != x.shape[0] / groups)
      throw node_error(n, "weights, groups and input channels do not agree");
    OpRecord op = edge::op_record(OpKind::kConv2d);
    OpGraph graph{};
    const std::vector<int64_t> out = window(n, x.shape, {w.dims[2], w.dims[3]}, op, graph);
    op.in = static_cast<uint32_t>(x.shape[0]);
    op.out = static_cast<uint32_t>(w.dims[0]);
    graph.groups = static_cast<uint32_t>(groups);
    Pending& p = emit(n, op, x, nullptr, {w.dims[0], out[0], out[1]}, graph);
    p.weight.assign(w.data.begin(), w.data.end());
    if (const Constant* b = constant_input(n, 2)) {
      if (b->count() != w.dims[0]) throw node_error(n, "the bias needs one value per channel");
      p.bias.assign(b->data.begin(), b->data.end());
    } else if (n.input_size() > 2 && !n.input(2).empty()) {
      throw node_error(n, "the bias must be a constant");
    }
  }

  // Folded into the Conv or Gemm before it when that is its one reader; else a per-channel Mul
  // and Add.
  void batch_norm(const NodeProto& n) {
    const Value& x = need_value(n, 0);
    const int64_t channels = x.shape[0];
    std::vector<double> params[4];  // scale, bias, mean, variance
    for (int i = 0; i < 4; ++i) {
      const Constant& c = need_constant(n, i + 1, "scale, bias, mean and variance");
      if (c.count() != channels) throw node_error(n, "needs one parameter per channel");
      params[i] = c.data;
    }
    const double epsilon = float_attr(n, "epsilon", 1e-5f);
    std::vector<float> scale(channels), shift(channels);
    for (int64_t c = 0; c < channels; ++c) {
      const double s = params[0][c] / std::sqrt(params[3][c] + epsilon);
      scale[c] = static_cast<float>(s);
      shift[c] = static_cast<float>(params[1][c] - params[2][c] * s);
    }
    if (Pending* p = sole_producer(x, {OpKind::kConv2d, OpKind::kLinear});
        p && !(p->op.flags & edge::kFlagFusedReLU)) {
      const size_t per_channel = p->weight.size() / static_cast<size_t>(channels);
      if (p->bias.empty()) p->bias.assign(static_cast<size_t>(channels), 0.0f);
      for (int64_t c = 0; c < channels; ++c) {
        for (size_t i = 0; i < per_channel; ++i)
          p->weight[c * per_channel + i] =
              static_cast<float>(static_cast<double>(p->weight[c * per_channel + i]) *
                                 params[0][c] / std::sqrt(params[3][c] + epsilon));
        p->bias[c] = static_cast<float>((p->bias[c] - params[2][c]) * params[0][c] /
                                            std::sqrt(params[3][c] + epsilon) +
                                        params[1][c]);
      }
      return alias(n, n.input(0));
    }
    NodeProto mul = n;
    mul.set_output(0, n.output(0) + "/scale");
    Pending& m = emit(mul, edge::op_record(OpKind::kMul), x, nullptr, x.shape);
    m.constant = scale;
    m.readers = 1;
    const Value scaled = values_[mul.output(0)];
    Pending& a = emit(n, edge::op_record(OpKind::kAdd), scaled, nullptr, x.shape);
    a.constant = shift;
  }

  void relu(const NodeProto& n) {
    const Value& x = need_value(n, 0);
    if (Pending* p = sole_producer(x, {OpKind::kConv2d, OpKind::kLinear, OpKind::kAdd});
        p && !(p->op.flags & edge::kFlagFusedReLU)) {
      p->op.flags |= edge::kFlagFusedReLU;
      return alias(n, n.input(0));
    }
    emit(n, edge::op_record(OpKind::kReLU), x, nullptr, x.shape);
  }

  void clip(const NodeProto& n) {
    const Value& x = need_value(n, 0);
    float lo = -std::numeric_limits<float>::infinity(), hi = -lo;
    if (opset_ < 11) {
      lo = float_attr(n, "min", lo);
      hi = float_attr(n, "max", hi);
    } else {
      if (const Constant* c = constant_input(n, 1)) lo = static_cast<float>(c->data.at(0));
      if (const Constant* c = constant_input(n, 2)) hi = static_cast<float>(c->data.at(0));
      for (int i = 1; i < n.input_size() && i < 3; ++i)
        if (!n.input(i).empty() && !constant_input(n, i))
          throw node_error(n, "min and max must be constants");
    }
    if (lo == 0 && std::isinf(hi)) return relu(n);
    Pending& p = emit(n, edge::op_record(OpKind::kClip), x, nullptr, x.shape);
    p.graph.alpha = lo;
    p.graph.beta = hi;
  }

  void unary(const NodeProto& n) {
    const Value& x = need_value(n, 0);
    const std::string& t = n.op_type();
    const OpKind kind = t == "Sigmoid"       ? OpKind::kSigmoid
                        : t == "HardSigmoid" ? OpKind::kHardSigmoid
                                             : OpKind::kHardSwish;
    Pending& p = emit(n, edge::op_record(kind), x, nullptr, x.shape);
    p.graph.alpha = float_attr(n, "alpha", 0.2f);
    p.graph.beta = float_attr(n, "beta", 0.5f);
  }

  // A constant operand broadcast against a value of per-example `shape`: the same elements, one
  // per channel, or one. ONNX dims align from the right and include the batch.
  std::vector<float> broadcast_constant(const NodeProto& n, const Constant& c,
                                        const std::vector<int64_t>& shape) {
    std::vector<int64_t> dims = c.dims;
    while (!dims.empty() && dims.front() == 1 && dims.size() > shape.size())
      dims.erase(dims.begin());
    const int64_t count = c.count();
    const bool per_channel = shape.size() == 3 && count == shape[0] &&
                             (dims.size() == 3 ? dims[1] == 1 && dims[2] == 1 : false);
    if (count == 1 || per_channel || (dims == shape) ||
        (shape.size() == 1 && dims.size() == 1 && dims[0] == shape[0]))
      return {c.data.begin(), c.data.end()};
    throw node_error(n, "the constant operand must match the input, be one per channel, or one");
  }

  void binary(const NodeProto& n) {
    const std::string& t = n.op_type();
    const Constant* ca = constant_input(n, 0);
    const Constant* cb = constant_input(n, 1);
    if (!ca && !cb) {  // two computed values
      if (t != "Add" && t != "Mul") throw node_error(n, "of two computed values has no edge form");
      const Value& a = need_value(n, 0);
      const Value& b = need_value(n, 1);
      const bool a_bigger = product(a.shape) >= product(b.shape);
      const Value& big = a_bigger ? a : b;
      const Value& small = a_bigger ? b : a;
      emit(n, edge::op_record(t == "Add" ? OpKind::kAdd : OpKind::kMul), big, &small, big.shape);
      return;
    }
    if (ca && (t == "Sub" || t == "Div"))
      throw node_error(n, "a constant minus or over a computed value has no edge form");
    const Value& x = need_value(n, ca ? 1 : 0);
    std::vector<float> c = broadcast_constant(n, ca ? *ca : *cb, x.shape);
    if (t == "Sub")
      for (float& v : c) v = -v;
    if (t == "Div")
      for (float& v : c) v = 1.0f / v;
    const bool add = t == "Add" || t == "Sub";
    // A bias added to a Gemm or MatMul's output (MatMul + Add) folds into its bias.
    if (Pending* p = sole_producer(x, {OpKind::kLinear});
        add && p && !(p->op.flags & edge::kFlagFusedReLU) &&
        (c.size() == p->op.out || c.size() == 1)) {
      if (p->bias.empty()) p->bias.assign(p->op.out, 0.0f);
      for (uint32_t o = 0; o < p->op.out; ++o) p->bias[o] += c[c.size() == 1 ? 0 : o];
      return alias(n, n.input(0));
    }
    Pending& p = emit(n, edge::op_record(add ? OpKind::kAdd : OpKind::kMul), x, nullptr, x.shape);
    p.constant = std::move(c);
  }

  void pool(const NodeProto& n) {
    const Value& x = image_input(n);
    const bool max = n.op_type() == "MaxPool";
    if (n.output_size() > 1 && !n.output(1).empty())
      throw node_error(n, "the indices output has no edge form");
    OpRecord op = edge::op_record(max ? OpKind::kMaxPool2d : OpKind::kAvgPool2d);
    OpGraph graph{};
    const std::vector<int64_t> out = window(n, x.shape, {}, op, graph);
    if (graph.dilation_h != 1 || graph.dilation_w != 1)
      throw node_error(n, "dilated pooling has no edge form");
    if (!max && int_attr(n, "count_include_pad", 0) == 1 &&
        (op.padding || graph.pad_left || graph.pad_bottom || graph.pad_right))
      throw node_error(n,
                       "count_include_pad=1 with padding has no edge form (export the pool "
                       "with count_include_pad=False)");
    emit(n, op, x, nullptr, {x.shape[0], out[0], out[1]}, graph);
  }

  void global_pool(const NodeProto& n) {
    const Value& x = image_input(n);
    OpRecord op =
        edge::op_record(n.op_type() == "GlobalMaxPool" ? OpKind::kMaxPool2d : OpKind::kAvgPool2d);
    op.kernel = static_cast<uint32_t>(x.shape[1]);
    op.stride = 1;
    op.flags |= edge::kFlagWindow;
    Pending& p = emit(n, op, x, nullptr, {x.shape[0], 1, 1});
    p.graph.kernel_w = static_cast<uint32_t>(x.shape[2]);
    p.graph.stride_w = 1;
    p.graph.dilation_h = p.graph.dilation_w = 1;
  }

  void flatten(const NodeProto& n) {
    const Value& x = need_value(n, 0);
    const int64_t axis = int_attr(n, "axis", 1);
    if (axis != 1 && !(axis < 0 && axis + static_cast<int64_t>(x.shape.size()) + 1 == 1))
      throw node_error(n, "flattens only after the batch (axis=1)");
    emit(n, edge::op_record(OpKind::kFlatten), x, nullptr, {product(x.shape)});
  }

  // A static target: its first dimension the batch (the batch folded from Shape, 0 to copy it,
  // or 1 for a graph whose batch is 1), -1 and 0 resolved.
  void reshape(const NodeProto& n) {
    const Value& x = need_value(n, 0);
    const Constant& target = need_constant(n, 1, "the shape");
    if (target.dims.size() != 1 || target.count() < 2)
      throw node_error(n, "the shape must keep the batch first");
    const int64_t first = static_cast<int64_t>(target.data[0]);
    if (first != kBatch && first != 0 && !(first == 1 && batch_one_) && first != -1)
      throw node_error(n, "the first dimension must stay the batch");
    std::vector<int64_t> shape;
    int64_t known = 1, unknown = -1;
    for (int64_t i = 1; i < target.count(); ++i) {
      int64_t d = static_cast<int64_t>(target.data[static_cast<size_t>(i)]);
      if (d == 0) {
        if (static_cast<size_t>(i - 1) >= x.shape.size()) throw node_error(n, "bad 0 dimension");
        d = x.shape[static_cast<size_t>(i - 1)];
      }
      if (d == -1) {
        if (unknown >= 0 || first == -1) throw node_error(n, "more than one -1");
        unknown = static_cast<int64_t>(shape.size());
        shape.push_back(1);
        continue;
      }
      if (d <= 0 || d == kBatch) throw node_error(n, "a dimension after the batch is not fixed");
      known *= d;
      shape.push_back(d);
    }
    const int64_t elements = product(x.shape);
    if (unknown >= 0) {
      if (elements % known != 0) throw node_error(n, "the shape does not divide the input");
      shape[static_cast<size_t>(unknown)] = elements / known;
    }
    if (product(shape) != elements) throw node_error(n, "the shape changes the element count");
    if (shape.size() == 1)
      return void(emit(n, edge::op_record(OpKind::kFlatten), x, nullptr, shape));
    if (shape.size() != 3)
      throw node_error(n, "reshapes to " + std::to_string(shape.size()) +
                              " dimensions per example; the edge runtime holds (N) or (C, H, W)");
    Pending& p = emit(n, edge::op_record(OpKind::kReshape), x, nullptr, shape);
    for (int64_t d : shape) p.shape.push_back(static_cast<int32_t>(d));
  }

  // Gemm (A [N, in], B constant, transB either way, alpha and beta) and MatMul by a constant.
  void dense(const NodeProto& n) {
    const Value& x = need_value(n, 0);
    if (x.shape.size() != 1) throw node_error(n, "needs an [N, features] input (Flatten first)");
    const Constant& w = need_constant(n, 1, "the weights");
    const bool gemm = n.op_type() == "Gemm";
    if (w.dims.size() != 2) throw node_error(n, "the weights must be 2-d");
    if (gemm && int_attr(n, "transA", 0) != 0) throw node_error(n, "transA=1 has no edge form");
    const bool trans_b = gemm && int_attr(n, "transB", 0) == 1;
    const int64_t in = trans_b ? w.dims[1] : w.dims[0], out = trans_b ? w.dims[0] : w.dims[1];
    if (in != x.shape[0]) throw node_error(n, "the weights do not match the input's features");
    const double alpha = gemm ? float_attr(n, "alpha", 1.0f) : 1.0;
    const double beta = gemm ? float_attr(n, "beta", 1.0f) : 1.0;
    OpRecord op = edge::op_record(OpKind::kLinear);
    op.in = static_cast<uint32_t>(in);
    op.out = static_cast<uint32_t>(out);
    Pending& p = emit(n, op, x, nullptr, {out});
    p.weight.resize(static_cast<size_t>(in * out));
    for (int64_t o = 0; o < out; ++o)
      for (int64_t i = 0; i < in; ++i)
        p.weight[static_cast<size_t>(o * in + i)] = static_cast<float>(
            alpha * w.data[static_cast<size_t>(trans_b ? o * in + i : i * out + o)]);
    if (const Constant* c = gemm ? constant_input(n, 2) : nullptr) {
      if (c->count() != out && c->count() != 1)
        throw node_error(n, "the bias needs one value per output");
      p.bias.resize(static_cast<size_t>(out));
      for (int64_t o = 0; o < out; ++o)
        p.bias[static_cast<size_t>(o)] =
            static_cast<float>(beta * c->data[static_cast<size_t>(c->count() == 1 ? 0 : o)]);
    } else if (gemm && n.input_size() > 2 && !n.input(2).empty()) {
      throw node_error(n, "the bias must be a constant");
    }
  }

  // Along the channels (or features): a chain of two-input Concats.
  void concat(const NodeProto& n) {
    const Value& first = need_value(n, 0);
    int64_t axis = int_attr(n, "axis", 1);
    if (axis < 0) axis += static_cast<int64_t>(first.shape.size()) + 1;
    if (axis != 1) throw node_error(n, "concatenates only along the channels (axis=1)");
    if (n.input_size() == 1) return alias(n, n.input(0));
    Value a = first;
    for (int i = 1; i < n.input_size(); ++i) {
      const Value& b = need_value(n, i);
      if (b.shape.size() != a.shape.size() ||
          !std::equal(b.shape.begin() + 1, b.shape.end(), a.shape.begin() + 1))
        throw node_error(n, "the inputs differ in more than the channels");
      std::vector<int64_t> shape = a.shape;
      shape[0] += b.shape[0];
      NodeProto part = n;
      if (i + 1 < n.input_size()) part.set_output(0, n.output(0) + "/" + std::to_string(i));
      emit(part, edge::op_record(OpKind::kConcat), a, &b, shape);
      if (i + 1 < n.input_size()) pending_.back().readers = 1;
      a = values_[part.output(0)];
    }
  }

  void softmax(const NodeProto& n) {
    const Value& x = need_value(n, 0);
    const int64_t axis = int_attr(n, "axis", opset_ >= 13 ? -1 : 1);
    if (x.shape.size() != 1 || (axis != 1 && axis != -1))
      throw node_error(n, "softmax runs over the features of an [N, features] input");
    emit(n, edge::op_record(OpKind::kSoftmax), x, nullptr, x.shape);
  }

  const GraphProto& g_;
  std::vector<uint32_t> given_shape_;  // --input-shape, or empty
  int64_t opset_ = 0;
  bool batch_one_ = false;
  std::map<std::string, Value> values_;
  std::map<std::string, int64_t> readers_;
  std::vector<Pending> pending_;
};

}  // namespace

std::vector<uint8_t> import_float_graph(const ModelProto& model,
                                        const std::vector<uint32_t>& input_shape) {
  return GraphImporter(model, input_shape).run();
}

}  // namespace greenai::interop
