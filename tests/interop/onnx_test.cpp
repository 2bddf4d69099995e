#include "greenai/interop/onnx.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <random>

#include "greenai/edge/format.h"
#include "greenai/edge/greenai_edge.h"
#include "greenai/error.h"
#include "support/errors.h"

namespace greenai::interop {
namespace {

using edge::DType;
using edge::FileBuilder;
using edge::kNoTensor;
using edge::OpKind;
using edge::OpRecord;

OpRecord op_of(OpKind kind) { return edge::op_record(kind); }

// Adds a QLinear or QConv2d with random int8 weights, as compress::quantize_to_edge writes it.
void add_quantized(FileBuilder& b, OpKind kind, uint32_t in, uint32_t out, uint32_t kernel,
                   float s_in, int32_t zp_in, float s_out, int32_t zp_out, bool relu,
                   std::mt19937& rng) {
  OpRecord op = op_of(kind);
  op.in = in;
  op.out = out;
  if (kind == OpKind::kQConv2d) op.kernel = kernel, op.stride = 1, op.padding = 1;
  const size_t count = size_t{in} * out * (kernel ? kernel * kernel : 1);
  std::vector<int8_t> w(count);
  for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  std::vector<int32_t> bias(out);
  std::vector<float> w_scale(out);
  for (uint32_t c = 0; c < out; ++c) {
    w_scale[c] = 0.001f * static_cast<float>(1 + rng() % 50);
    bias[c] = static_cast<int32_t>(rng() % 2001) - 1000;
  }
  b.add_int8_weights(op, w.data(), w.size(), bias, w_scale, s_in, s_out);
  if (relu) op.flags |= edge::kFlagFusedReLU;
  op.input_zero_point = zp_in;
  op.output_zero_point = zp_out;
  b.add_op(op);
}

// An int8 MLP: Quantize, QLinear+ReLU, QLinear, Dequantize, Softmax.
std::vector<uint8_t> int8_mlp() {
  std::mt19937 rng(7);
  FileBuilder b({12});
  OpRecord q = op_of(OpKind::kQuantize);
  q.scale = 0.02f;
  q.output_zero_point = -10;
  b.add_op(q);
  add_quantized(b, OpKind::kQLinear, 12, 8, 0, 0.02f, -10, 0.05f, -128, true, rng);
  add_quantized(b, OpKind::kQLinear, 8, 4, 0, 0.05f, -128, 0.1f, 3, false, rng);
  OpRecord dq = op_of(OpKind::kDequantize);
  dq.scale = 0.1f;
  dq.input_zero_point = 3;
  b.add_op(dq);
  b.add_op(op_of(OpKind::kSoftmax));
  return b.finish();
}

// An int8 CNN: Quantize, QConv2d 3x3+ReLU, MaxPool 2, int8 ReLU, AvgPool, Flatten, QLinear,
// Dequantize.
std::vector<uint8_t> int8_cnn() {
  std::mt19937 rng(11);
  FileBuilder b({1, 6, 6});
  OpRecord q = op_of(OpKind::kQuantize);
  q.scale = 0.01f;
  q.output_zero_point = -128;
  b.add_op(q);
  add_quantized(b, OpKind::kQConv2d, 1, 3, 3, 0.01f, -128, 0.03f, -100, true, rng);
  OpRecord pool = op_of(OpKind::kMaxPool2d);
  pool.kernel = pool.stride = 2;
  b.add_op(pool);
  OpRecord relu = op_of(OpKind::kReLU);
  relu.input_zero_point = -100;
  b.add_op(relu);
  OpRecord avg = op_of(OpKind::kAvgPool2d);
  avg.kernel = 3;
  avg.stride = 1;
  avg.padding = 1;
  b.add_op(avg);
  b.add_op(op_of(OpKind::kFlatten));
  add_quantized(b, OpKind::kQLinear, 27, 5, 0, 0.03f, -100, 0.2f, 0, false, rng);
  OpRecord dq = op_of(OpKind::kDequantize);
  dq.scale = 0.2f;
  b.add_op(dq);
  return b.finish();
}

// fp32: Conv+ReLU, Flatten, Linear+ReLU, Linear.
std::vector<uint8_t> fp32_cnn() {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0, 0.5f);
  auto tensor = [&](FileBuilder& b, size_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = normal(rng);
    return b.add_tensor(DType::kF32, v.data(), n);
  };
  FileBuilder b({2, 5, 5});
  OpRecord conv = op_of(OpKind::kConv2d);
  conv.in = 2, conv.out = 4, conv.kernel = 3, conv.stride = 2, conv.padding = 1;
  conv.flags = edge::kFlagFusedReLU;
  conv.weight = tensor(b, 4 * 2 * 9);
  conv.bias = tensor(b, 4);
  b.add_op(conv);
  b.add_op(op_of(OpKind::kFlatten));
  OpRecord l1 = op_of(OpKind::kLinear);
  l1.in = 36, l1.out = 6, l1.flags = edge::kFlagFusedReLU;
  l1.weight = tensor(b, 36 * 6);
  l1.bias = tensor(b, 6);
  b.add_op(l1);
  OpRecord l2 = op_of(OpKind::kLinear);
  l2.in = 6, l2.out = 3;
  l2.weight = tensor(b, 18);  // no bias
  b.add_op(l2);
  return b.finish();
}

std::vector<float> run(const std::vector<uint8_t>& bytes, const std::vector<float>& x, int batch) {
  const edge::AlignedBytes aligned(bytes);
  greenai_edge_model* m = nullptr;
  char why[256] = "";
  EXPECT_EQ(greenai_edge_load_memory(aligned.data(), aligned.size(), batch, &m, why, sizeof why),
            GREENAI_EDGE_OK)
      << why;
  if (!m) return {};
  std::vector<float> y(greenai_edge_output_size(m) * batch);
  EXPECT_EQ(greenai_edge_infer(m, batch, x.data(), x.size(), y.data(), y.size()), GREENAI_EDGE_OK);
  greenai_edge_free(m);
  return y;
}

std::vector<float> random_input(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.5f, 2.5f);
  std::vector<float> x(n);
  for (auto& v : x) v = u(rng);
  return x;
}

class RoundTrip : public ::testing::TestWithParam<int> {};

// Export, check, import: the edge file comes back byte for byte, so ONNX Runtime and the edge
// runtime are given the same operators, weights and requantization.
TEST_P(RoundTrip, ExportPassesTheCheckerAndImportsBackIdentically) {
  const std::vector<uint8_t> original = GetParam() == 0   ? int8_mlp()
                                        : GetParam() == 1 ? int8_cnn()
                                                          : fp32_cnn();
  const std::string onnx = edge_to_onnx(original);
  EXPECT_NO_THROW(check_onnx(onnx));
  const std::vector<uint8_t> back = onnx_to_edge(onnx);
  EXPECT_EQ(back, original);
  const size_t in = GetParam() == 0 ? 12 : GetParam() == 1 ? 36 : 50;
  const std::vector<float> x = random_input(in * 3, 5);
  EXPECT_EQ(run(back, x, 3), run(original, x, 3));
}
INSTANTIATE_TEST_SUITE_P(Models, RoundTrip, ::testing::Values(0, 1, 2));

TEST(OnnxExport, WritesQdqWithUint8ActivationsAndPerChannelWeights) {
  ::onnx::ModelProto model;
  ASSERT_TRUE(model.ParseFromString(edge_to_onnx(int8_mlp())));
  EXPECT_EQ(model.opset_import(0).version(), kOnnxOpset);
  std::vector<std::string> types;
  for (const auto& n : model.graph().node()) types.push_back(n.op_type());
  const std::vector<std::string> expected{"QuantizeLinear",
                                          "DequantizeLinear",
                                          "DequantizeLinear",
                                          "DequantizeLinear",
                                          "Gemm",
                                          "Relu",
                                          "QuantizeLinear",
                                          "DequantizeLinear",
                                          "DequantizeLinear",
                                          "DequantizeLinear",
                                          "Gemm",
                                          "QuantizeLinear",
                                          "DequantizeLinear",
                                          "Softmax"};
  EXPECT_EQ(types, expected);
  for (const auto& t : model.graph().initializer()) {
    if (t.name().rfind("zero_point", 0) == 0) {
      EXPECT_EQ(t.data_type(), ::onnx::TensorProto::UINT8);
    }
    if (t.name().rfind("weight_scale", 0) == 0) {
      EXPECT_EQ(t.dims_size(), 1);
    }
  }
  // The first Quantize's zero point: -10 in int8 is 118 in uint8, the same real values.
  const auto& q = model.graph().node(0);
  for (const auto& t : model.graph().initializer())
    if (t.name() == q.input(2)) {
      EXPECT_EQ(static_cast<uint8_t>(t.raw_data()[0]), 118);
    }
  EXPECT_EQ(model.graph().output(0).name(), "output");
}

TEST(OnnxExport, RefusesWhatHasNoOnnxForm) {
  // An int8 layer without recorded scales (an edge file of an older greenai).
  std::vector<uint8_t> bytes = int8_mlp();
  edge::FileView view;
  ASSERT_EQ(edge::view_file(bytes, &view), "");
  OpRecord stripped = view.ops[1];
  stripped.flags &= ~edge::kFlagScales;
  std::memcpy(bytes.data() + sizeof(edge::Header) + edge::op_record_bytes(edge::kVersion),
              &stripped, sizeof stripped);
  std::memset(bytes.data() + offsetof(edge::Header, checksum), 0, 4);
  const uint32_t crc = edge::crc32(bytes.data(), bytes.size());
  std::memcpy(bytes.data() + offsetof(edge::Header, checksum), &crc, 4);
  EXPECT_THAT(greenai::testing::error_of([&] { edge_to_onnx(bytes); }),
              ::testing::HasSubstr("does not record its real scales"));
  // Dynamic quantization.
  FileBuilder b({4});
  OpRecord dyn = op_of(OpKind::kDynamicLinear);
  dyn.in = 4, dyn.out = 1;
  const int8_t w[] = {1, 2, 3, 4};
  const float s[] = {0.1f};
  dyn.weight = b.add_tensor(DType::kI8, w, 4);
  dyn.weight_scale = b.add_tensor(DType::kF32, s, 1);
  b.add_op(dyn);
  EXPECT_THAT(greenai::testing::error_of([&] { edge_to_onnx(b.finish()); }),
              ::testing::HasSubstr("dynamic quantization has no ONNX form"));
  EXPECT_THAT(greenai::testing::error_of([&] {
                edge_to_onnx({1, 2, 3});
              }),
              ::testing::HasSubstr("not a valid edge file"));
}

TEST(OnnxImport, NamesTheNodeItCannotMap) {
  ::onnx::ModelProto model;
  ASSERT_TRUE(model.ParseFromString(edge_to_onnx(fp32_cnn())));
  model.mutable_graph()->mutable_node(1)->set_op_type("Tanh");
  std::string bytes;
  model.SerializeToString(&bytes);
  EXPECT_THAT(greenai::testing::error_of([&] { onnx_to_edge(bytes); }),
              ::testing::HasSubstr("(Tanh, opset 13): has no edge operator"));
  EXPECT_THAT(greenai::testing::error_of([&] { onnx_to_edge("not a model"); }),
              ::testing::HasSubstr("not a serialized ONNX ModelProto"));
}

// Property: any corruption of a valid export imports cleanly or fails with greenai::Error.
TEST(OnnxImport, MutatedModelsImportOrFailCleanly) {
  const std::string good = edge_to_onnx(int8_cnn());
  std::mt19937 rng(1);
  int imported = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng() % 256);
    if (trial % 7 == 0) bytes.resize(rng() % bytes.size());
    try {
      std::vector<uint8_t> edge_bytes = onnx_to_edge(bytes);
      edge::FileView view;
      EXPECT_EQ(edge::view_file(edge_bytes, &view), "");
      ++imported;
    } catch (const Error&) {
    }
  }
  EXPECT_GT(imported, 0);  // some flips land in weights and still import
}

}  // namespace
}  // namespace greenai::interop
