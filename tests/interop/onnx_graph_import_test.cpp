// The importer of fp32 ONNX graphs (src/interop/onnx_graph_import.cpp): graphs the tests build
// node by node as torch.onnx.export writes them, run by the edge runtime against textbook loops.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <numeric>
#include <random>

#include "edge/test_util.h"
#include "greenai/edge/format.h"
#include "greenai/error.h"
#include "greenai/interop/onnx.h"
#include "support/errors.h"

namespace greenai::interop {
namespace {

using edge::testing::naive_conv;
using edge::testing::random_values;
using edge::testing::Window;
using ::onnx::TensorProto;

// Builds an ONNX model node by node: one float input [batch, dims...] called "x".
class Maker {
 public:
  explicit Maker(std::vector<int64_t> dims, int opset = 13) {
    model_.set_ir_version(8);
    model_.add_opset_import()->set_version(opset);
    auto* input = model_.mutable_graph()->add_input();
    input->set_name("x");
    auto* type = input->mutable_type()->mutable_tensor_type();
    type->set_elem_type(TensorProto::FLOAT);
    type->mutable_shape()->add_dim()->set_dim_param("batch");
    for (int64_t d : dims) {  // a negative dimension is symbolic
      auto* dim = type->mutable_shape()->add_dim();
      d > 0 ? dim->set_dim_value(d) : dim->set_dim_param("size" + std::to_string(-d));
    }
  }
  std::string floats(const std::string& name, std::vector<int64_t> dims, std::vector<float> v) {
    TensorProto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float x : v) t->add_float_data(x);
    return name;
  }
  std::string ints(const std::string& name, std::vector<int64_t> v) {
    TensorProto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(v.size()));
    for (int64_t x : v) t->add_int64_data(x);
    return name;
  }
  ::onnx::NodeProto* node(const std::string& type, std::vector<std::string> inputs,
                          const std::string& output) {
    auto* n = model_.mutable_graph()->add_node();
    n->set_op_type(type);
    n->set_name(type + "_" + output);
    for (const auto& in : inputs) n->add_input(in);
    n->add_output(output);
    return n;
  }
  static void attr(::onnx::NodeProto* n, const std::string& name, std::vector<int64_t> v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void attr(::onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr_f(::onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  std::string bytes(const std::string& output) {
    model_.mutable_graph()->add_output()->set_name(output);
    std::string out;
    model_.SerializeToString(&out);
    return out;
  }

 private:
  ::onnx::ModelProto model_;
};

std::vector<float> run(const std::vector<uint8_t>& bytes, const std::vector<float>& x, int batch) {
  edge::testing::Aligned aligned(bytes);
  auto l = edge::testing::load(aligned, batch);
  EXPECT_EQ(l->status, GREENAI_EDGE_OK) << l->error;
  if (l->status != GREENAI_EDGE_OK) return {};
  std::vector<float> y(greenai_edge_output_size(l->model) * batch);
  EXPECT_EQ(greenai_edge_infer(l->model, batch, x.data(), x.size(), y.data(), y.size()),
            GREENAI_EDGE_OK);
  return y;
}

// Conv (grouped, padded) -> BatchNormalization -> Relu -> Add(., x) -> GlobalAveragePool ->
// Flatten -> Gemm -> Softmax, a residual block as ResNets export it: BN folds into the conv, the
// ReLU fuses, and the result matches the loops.
TEST(OnnxGraphImport, ResidualBlockWithBatchNormFolded) {
  const int c = 4, h = 5, w = 5, classes = 3;
  Maker m({c, h, w});
  const std::vector<float> weight = random_values(c * 2 * 9, 1), bias = random_values(c, 2);
  const std::vector<float> gamma = random_values(c, 3, 0.5f, 2), beta = random_values(c, 4),
                           mean = random_values(c, 5), var = random_values(c, 6, 0.1f, 2);
  const std::vector<float> fc = random_values(classes * c, 7), fc_bias = random_values(classes, 8);
  auto* conv =
      m.node("Conv", {"x", m.floats("w", {c, 2, 3, 3}, weight), m.floats("b", {c}, bias)}, "conv");
  Maker::attr(conv, "pads", {1, 1, 1, 1});
  Maker::attr(conv, "group", 2);
  auto* bn = m.node("BatchNormalization",
                    {"conv", m.floats("gamma", {c}, gamma), m.floats("beta", {c}, beta),
                     m.floats("mean", {c}, mean), m.floats("var", {c}, var)},
                    "bn");
  Maker::attr_f(bn, "epsilon", 1e-3f);
  m.node("Relu", {"bn"}, "relu");
  m.node("Add", {"relu", "x"}, "sum");
  m.node("GlobalAveragePool", {"sum"}, "pool");
  m.node("Flatten", {"pool"}, "flat");
  auto* gemm = m.node(
      "Gemm", {"flat", m.floats("fc", {classes, c}, fc), m.floats("fc_b", {classes}, fc_bias)},
      "logits");
  Maker::attr(gemm, "transB", 1);
  m.node("Softmax", {"logits"}, "probs");
  const std::vector<uint8_t> edge_bytes = onnx_to_edge(m.bytes("probs"));
  edge::FileView view;
  ASSERT_EQ(edge::view_file(edge_bytes, &view), "");
  std::vector<edge::OpKind> kinds;
  for (const auto& op : view.ops) kinds.push_back(op.kind);
  EXPECT_EQ(kinds, (std::vector<edge::OpKind>{edge::OpKind::kConv2d, edge::OpKind::kAdd,
                                              edge::OpKind::kAvgPool2d, edge::OpKind::kFlatten,
                                              edge::OpKind::kLinear, edge::OpKind::kSoftmax}));
  EXPECT_TRUE(view.ops[0].flags & edge::kFlagFusedReLU);
  const std::vector<float> x = random_values(2 * c * h * w, 9);
  const std::vector<float> y = run(edge_bytes, x, 2);
  ASSERT_EQ(y.size(), 2u * classes);
  for (int n = 0; n < 2; ++n) {
    const std::vector<float> xn(x.begin() + n * c * h * w, x.begin() + (n + 1) * c * h * w);
    int oh, ow;
    std::vector<float> v =
        naive_conv(xn, c, h, w, weight, bias, c, {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2}, &oh, &ow);
    std::vector<double> pooled(c, 0);
    for (int ch = 0; ch < c; ++ch)
      for (int p = 0; p < h * w; ++p) {
        const double normed =
            (v[ch * h * w + p] - mean[ch]) / std::sqrt(var[ch] + 1e-3) * gamma[ch] + beta[ch];
        pooled[ch] += (std::max(normed, 0.0) + xn[ch * h * w + p]) / (h * w);
      }
    std::vector<double> logits(classes);
    double total = 0;
    for (int k = 0; k < classes; ++k) {
      logits[k] = fc_bias[k];
      for (int ch = 0; ch < c; ++ch) logits[k] += fc[k * c + ch] * pooled[ch];
      total += std::exp(logits[k]);
    }
    for (int k = 0; k < classes; ++k)
      EXPECT_NEAR(y[n * classes + k], std::exp(logits[k]) / total, 1e-5) << n << " " << k;
  }
}

// The elementwise operators and pools, each against its formula, in one graph of branches
// joined by Concat: Clip (opset 13 inputs), HardSigmoid, HardSwish, Sigmoid, Sub and Div by
// scalars, Mul by a per-channel constant, a BatchNormalization with no conv before it, MaxPool
// and AveragePool; then shape arithmetic (Shape, Gather, Unsqueeze, Concat) into Reshape, and
// MatMul + Add.
TEST(OnnxGraphImport, ElementwiseOperatorsPoolsAndShapeArithmetic) {
  const int c = 2, h = 4, w = 4;
  Maker m({c, h, w});
  m.node("Clip", {"x", m.floats("lo", {}, {-0.5f}), m.floats("hi", {}, {0.75f})}, "clip");
  auto* hs = m.node("HardSigmoid", {"x"}, "hsig");
  Maker::attr_f(hs, "alpha", 0.25f);
  m.node("HardSwish", {"x"}, "hswish");
  m.node("Sigmoid", {"x"}, "sig");
  m.node("Sub", {"sig", m.floats("half", {}, {0.5f})}, "sub");
  m.node("Div", {"sub", m.floats("two", {}, {2.0f})}, "div");
  m.node("Mul", {"hswish", m.floats("per_c", {1, c, 1, 1}, {3.0f, -1.0f})}, "mul");
  m.node("BatchNormalization",
         {"x", m.floats("g", {c}, {2, 1}), m.floats("bb", {c}, {0, 1}), m.floats("mu", {c}, {1, 0}),
          m.floats("v", {c}, {1, 4})},
         "bn");
  m.node("Concat", {"clip", "hsig", "div", "mul", "bn"}, "cat")->add_attribute()->CopyFrom([] {
    ::onnx::AttributeProto a;
    a.set_name("axis");
    a.set_type(::onnx::AttributeProto::INT);
    a.set_i(1);
    return a;
  }());
  auto* maxpool = m.node("MaxPool", {"cat"}, "max");
  Maker::attr(maxpool, "kernel_shape", {3, 3});
  Maker::attr(maxpool, "strides", {2, 2});
  Maker::attr(maxpool, "pads", {1, 1, 1, 1});
  auto* avgpool = m.node("AveragePool", {"max"}, "avg");
  Maker::attr(avgpool, "kernel_shape", {2, 2});
  Maker::attr(avgpool, "strides", {2, 2});
  m.node("Shape", {"avg"}, "shape");
  m.node("Gather", {"shape", m.ints("zero", {0})}, "batch");
  m.node("Concat", {"batch", m.ints("minus_one", {-1})}, "target")->add_attribute()->CopyFrom([] {
    ::onnx::AttributeProto a;
    a.set_name("axis");
    a.set_type(::onnx::AttributeProto::INT);
    a.set_i(0);
    return a;
  }());
  m.node("Reshape", {"avg", "target"}, "flat");
  const std::vector<float> mm = random_values(10 * 2, 3);
  m.node("MatMul", {"flat", m.floats("mm", {10, 2}, mm)}, "proj");
  m.node("Add", {"proj", m.floats("mm_b", {2}, {0.25f, -0.25f})}, "out");
  const std::vector<uint8_t> edge_bytes = onnx_to_edge(m.bytes("out"));
  const std::vector<float> x = random_values(3 * c * h * w, 4, -3, 3);
  const std::vector<float> y = run(edge_bytes, x, 3);
  ASSERT_EQ(y.size(), 3u * 2);
  for (int n = 0; n < 3; ++n) {
    // The five branches: 10 channels of 4x4.
    std::vector<double> cat(10 * h * w);
    for (int ch = 0; ch < c; ++ch)
      for (int p = 0; p < h * w; ++p) {
        const double v = x[(n * c + ch) * h * w + p];
        const double sigmoid = 1 / (1 + std::exp(-v));
        cat[(0 + ch) * h * w + p] = std::min(std::max(v, -0.5), 0.75);
        cat[(2 + ch) * h * w + p] = std::max(0.0, std::min(1.0, 0.25 * v + 0.5));
        cat[(4 + ch) * h * w + p] = (sigmoid - 0.5) / 2;
        cat[(6 + ch) * h * w + p] =
            v * std::max(0.0, std::min(1.0, v / 6 + 0.5)) * (ch == 0 ? 3.0 : -1.0);
        cat[(8 + ch) * h * w + p] =
            ch == 0 ? (v - 1) / std::sqrt(1 + 1e-5) * 2 : v / std::sqrt(4 + 1e-5) + 1;
      }
    // MaxPool 3x3 stride 2 pad 1 (4x4 -> 2x2), AveragePool 2x2 (-> 1x1): one value a channel.
    std::vector<double> flat(10);
    for (int ch = 0; ch < 10; ++ch) {
      double sum = 0;
      for (int oy = 0; oy < 2; ++oy)
        for (int ox = 0; ox < 2; ++ox) {
          double best = -1e30;
          for (int iy = oy * 2 - 1; iy <= oy * 2 + 1; ++iy)
            for (int ix = ox * 2 - 1; ix <= ox * 2 + 1; ++ix)
              if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                best = std::max(best, cat[(ch * h + iy) * w + ix]);
          sum += best;
        }
      flat[ch] = sum / 4;
    }
    for (int k = 0; k < 2; ++k) {
      double expected = k == 0 ? 0.25 : -0.25;
      for (int i = 0; i < 10; ++i) expected += flat[i] * mm[i * 2 + k];
      EXPECT_NEAR(y[n * 2 + k], expected, 1e-5) << n << " " << k;
    }
  }
}

TEST(OnnxGraphImport, NamesWhatItCannotMap) {
  {
    Maker m({3});
    m.node("Tanh", {"x"}, "t");
    EXPECT_THAT(greenai::testing::error_of([&] { onnx_to_edge(m.bytes("t")); }),
                ::testing::HasSubstr("node 'Tanh_t' (Tanh, opset 13): has no edge operator"));
  }
  {
    Maker m({1, 5, 5}, 17);
    auto* pool = m.node("MaxPool", {"x"}, "p");
    Maker::attr(pool, "kernel_shape", {2, 2});
    Maker::attr(pool, "strides", {2, 2});
    Maker::attr(pool, "ceil_mode", 1);
    EXPECT_THAT(greenai::testing::error_of([&] { onnx_to_edge(m.bytes("p")); }),
                ::testing::HasSubstr("(MaxPool, opset 17): ceil_mode=1 changes the output size"));
  }
  {
    Maker m({2, 2, 2});
    m.node("Reshape", {"x", m.ints("s", {0, 2, 4})}, "r");
    EXPECT_THAT(greenai::testing::error_of([&] { onnx_to_edge(m.bytes("r")); }),
                ::testing::HasSubstr("reshapes to 2 dimensions per example"));
  }
  {
    Maker m({4});
    m.node("Sub", {m.floats("one", {}, {1.0f}), "x"}, "s");
    EXPECT_THAT(greenai::testing::error_of([&] { onnx_to_edge(m.bytes("s")); }),
                ::testing::HasSubstr("a constant minus or over a computed value"));
  }
}

// A graph whose height and width are symbolic imports with the shape given (greenai bench
// --input-shape); without it, or against a fixed dimension, the error says what to give.
TEST(OnnxGraphImport, SymbolicInputDimensionsTakeAGivenShape) {
  Maker m({2, -1, -2});
  m.node("GlobalAveragePool", {"x"}, "p");
  m.node("Flatten", {"p"}, "f");
  const std::string bytes = m.bytes("f");
  EXPECT_THAT(greenai::testing::error_of([&] { onnx_to_edge(bytes); }),
              ::testing::HasSubstr("give them with --input-shape"));
  const std::vector<uint8_t> edge_bytes = onnx_to_edge(bytes, {2, 3, 4});
  const std::vector<float> x = random_values(2 * 12, 3);
  const std::vector<float> y = run(edge_bytes, x, 1);
  ASSERT_EQ(y.size(), 2u);
  EXPECT_NEAR(y[0], std::accumulate(x.begin(), x.begin() + 12, 0.0f) / 12, 1e-6);
  EXPECT_THAT(greenai::testing::error_of([&] {
                onnx_to_edge(bytes, {3, 3, 4});
              }),
              ::testing::HasSubstr("says 3 for dimension 1, the graph fixes 2"));
  EXPECT_THAT(greenai::testing::error_of([&] {
                onnx_to_edge(bytes, {2, 12});
              }),
              ::testing::HasSubstr("has 2 dimensions; the graph's input has 3"));
}

// Property: corrupted fp32 graphs import or fail with greenai::Error; what imports, loads.
TEST(OnnxGraphImportFuzz, MutatedGraphsImportOrFailCleanly) {
  Maker m({2, 3, 3});
  auto* conv = m.node("Conv", {"x", m.floats("w", {2, 1, 3, 3}, random_values(18, 1))}, "c");
  Maker::attr(conv, "group", 2);
  Maker::attr(conv, "pads", {1, 1, 1, 1});
  m.node("Relu", {"c"}, "r");
  m.node("Add", {"r", "x"}, "a");
  m.node("Flatten", {"a"}, "f");
  const std::string good = m.bytes("f");
  std::mt19937 rng(5);
  int imported = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bytes = good;
    for (int f = 0; f < 1 + static_cast<int>(rng() % 3); ++f)
      bytes[rng() % bytes.size()] = static_cast<char>(rng() % 256);
    try {
      const std::vector<uint8_t> edge_bytes = onnx_to_edge(bytes);
      edge::FileView view;
      EXPECT_EQ(edge::view_file(edge_bytes, &view), "");
      ++imported;
    } catch (const Error&) {
    }
  }
  EXPECT_GT(imported, 0);
}

}  // namespace
}  // namespace greenai::interop
