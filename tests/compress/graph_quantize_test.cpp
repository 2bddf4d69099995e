// The observers on known distributions, and the static int8 quantization of edge graphs: what it
// writes, how closely it follows fp32 (residual adds rescaled included), and the fp32 fallback.
#include "greenai/compress/graph_quantize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "edge/test_util.h"
#include "greenai/compress/observer.h"
#include "greenai/edge/format.h"
#include "greenai/error.h"

namespace greenai::compress {
namespace {

using edge::DType;
using edge::FileBuilder;
using edge::kNoTensor;
using edge::kNoValue;
using edge::OpGraph;
using edge::OpKind;
using edge::OpRecord;
using edge::testing::op_of;
using edge::testing::random_values;
using edge::testing::reads;

std::pair<float, float> observe(const std::vector<float>& v, Observer observer) {
  RangeObserver o(observer);
  o.observe_bounds(v.data(), v.size());
  if (o.needs_histogram()) o.observe_histogram(v.data(), v.size());
  return o.range();
}

double quantization_mse(const std::vector<float>& v, std::pair<float, float> range) {
  const ActivationQuant q = choose_activation_quant(range);
  double sum = 0;
  for (float x : v) {
    const double code =
        std::clamp(static_cast<double>(std::round(x / q.scale) + q.zero_point), -128.0, 127.0);
    sum += std::pow((code - q.zero_point) * q.scale - x, 2);
  }
  return sum / static_cast<double>(v.size());
}

TEST(RangeObserver, KnownDistributions) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uniform(0, 1);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> u(100000), gaussian(100000), laplace(100000);
  for (float& x : u) x = uniform(rng);
  for (float& x : gaussian) x = normal(rng);
  for (int i = 0; i < 5; ++i) gaussian[i] = 30;  // rare outliers
  for (float& x : laplace) {
    const float p = uniform(rng) - 0.5f;
    x = -std::copysign(1.0f, p) * std::log1p(-2 * std::fabs(p));
  }
  const auto [u_lo, u_hi] = observe(u, Observer::kMinMax);
  EXPECT_NEAR(u_lo, 0, 1e-3);
  EXPECT_NEAR(u_hi, 1, 1e-3);
  const auto [p_lo, p_hi] = observe(u, Observer::kPercentile);
  EXPECT_NEAR(p_lo, 0, 2e-3);  // within a bin of the 0.01th and 99.99th percentiles
  EXPECT_NEAR(p_hi, 1, 2e-3);
  // The five outliers cost the squared-error observer more clipped than kept: it keeps them.
  for (Observer o : {Observer::kPercentile, Observer::kEntropy}) {
    const auto [lo, hi] = observe(gaussian, o);
    EXPECT_LT(hi, 10) << to_string(o) << ": the outliers are clipped";
    EXPECT_GT(hi, 2) << to_string(o);
    EXPECT_LT(lo, -2) << to_string(o);
  }
  for (const auto* v : {&gaussian, &laplace})
    EXPECT_LT(quantization_mse(*v, observe(*v, Observer::kHistogram)),
              quantization_mse(*v, observe(*v, Observer::kMinMax)));
  // Heavy tails: clipping them pays in squared error too.
  EXPECT_LT(quantization_mse(laplace, observe(laplace, Observer::kEntropy)),
            quantization_mse(laplace, observe(laplace, Observer::kMinMax)));
  // Values of one sign: entropy keeps the 255 levels on that side.
  std::vector<float> relu(laplace.size());
  std::transform(laplace.begin(), laplace.end(), relu.begin(),
                 [](float x) { return std::max(x, 0.0f); });
  const auto [r_lo, r_hi] = observe(relu, Observer::kEntropy);
  EXPECT_EQ(r_lo, 0.0f);
  EXPECT_GT(r_hi, 1.0f);
  EXPECT_LT(r_hi, observe(relu, Observer::kMinMax).second);
  EXPECT_EQ(observe({}, Observer::kEntropy), (std::pair<float, float>{0, 0}));
  EXPECT_EQ(parse_observer("entropy"), Observer::kEntropy);
  EXPECT_THROW(parse_observer("kl"), Error);
}

// (4, 6, 6) -> conv 3x3 +ReLU (v1) -> conv 3x3 (v2) -> Add(v2, v0) (v3) -> Sigmoid (v4) ->
// AvgPool 6x6 (v5) -> Flatten (v6) -> Linear 4->5 (v7) -> Softmax (v8): a residual block.
std::vector<uint8_t> residual_graph() {
  FileBuilder b({4, 6, 6});
  auto conv = [&](uint32_t input, uint32_t seed, bool relu) {
    OpRecord op = op_of(OpKind::kConv2d);
    op.in = op.out = 4;
    op.kernel = 3;
    op.stride = op.padding = 1;
    op.flags = relu ? edge::kFlagFusedReLU : 0;
    const std::vector<float> w = random_values(4 * 4 * 9, seed, -0.3f, 0.3f);
    const std::vector<float> bias = random_values(4, seed + 1, -0.1f, 0.1f);
    op.weight = b.add_tensor(DType::kF32, w.data(), w.size());
    op.bias = b.add_tensor(DType::kF32, bias.data(), bias.size());
    return b.add_op(op, reads(input));
  };
  const uint32_t v1 = conv(0, 1, true);
  const uint32_t v2 = conv(v1, 3, false);
  const uint32_t v3 = b.add_op(op_of(OpKind::kAdd), reads(v2, 0));
  const uint32_t v4 = b.add_op(op_of(OpKind::kSigmoid), reads(v3));
  OpRecord pool = op_of(OpKind::kAvgPool2d);
  pool.kernel = 6;
  pool.stride = 1;
  const uint32_t v5 = b.add_op(pool, reads(v4));
  const uint32_t v6 = b.add_op(op_of(OpKind::kFlatten), reads(v5));
  OpRecord fc = op_of(OpKind::kLinear);
  fc.in = 4;
  fc.out = 5;
  const std::vector<float> w = random_values(20, 7, -4, 4);
  fc.weight = b.add_tensor(DType::kF32, w.data(), w.size());
  const uint32_t v7 = b.add_op(fc, reads(v6));
  b.add_op(op_of(OpKind::kSoftmax), reads(v7));
  return b.finish();
}

std::vector<OpKind> kinds(const std::vector<uint8_t>& bytes) {
  edge::FileView view;
  EXPECT_EQ(edge::view_file(bytes, &view), "");
  std::vector<OpKind> k;
  for (const auto& op : view.ops) k.push_back(op.kind);
  return k;
}

TEST(QuantizeGraph, ResidualBlockInInt8FollowsFp32) {
  const std::vector<uint8_t> fp32 = residual_graph();
  const std::vector<float> x = random_values(200 * 144, 11, -2, 2);
  for (Observer observer : {Observer::kMinMax, Observer::kPercentile, Observer::kEntropy}) {
    GraphQuantizeOptions options;
    options.observer = observer;
    const GraphCalibration calibration = calibrate_graph(fp32, x.data(), 100, options);
    ASSERT_EQ(calibration.ranges.size(), 9u);      // the input and 8 operators
    EXPECT_EQ(calibration.ranges[1].first, 0.0f);  // after the fused ReLU
    const QuantizedGraph q = quantize_graph(fp32, calibration, options);
    EXPECT_EQ(
        kinds(q.bytes),
        (std::vector<OpKind>{OpKind::kQuantize, OpKind::kQConv2d, OpKind::kQConv2d, OpKind::kAdd,
                             OpKind::kSigmoid, OpKind::kAvgPool2d, OpKind::kFlatten,
                             OpKind::kQLinear, OpKind::kDequantize, OpKind::kSoftmax}));
    EXPECT_EQ(q.int8_operators, 7u);
    EXPECT_EQ(q.kept_fp32, std::vector<uint32_t>{7});  // Softmax has no int8 form
    // On 100 examples not calibrated on.
    const Agreement a = compare_graphs(fp32, q.bytes, x.data() + 100 * 144, 100);
    EXPECT_GE(a.top1, 0.95) << to_string(observer);
    EXPECT_LT(a.relative_error, 1e-3) << to_string(observer);
  }
}

// (3, 6, 6) -> conv 3x3 (v1) -> Clip(0, 6) (v2) -> conv 3x3 (v3) -> ReLU (v4) -> conv 1x1 (v5)
// -> Clip(-1, 1) (v6) -> Add(v6, v5) (v7) -> Flatten -> Linear: the first two activations are
// their convolution's one reader and clamp at 0; the third clamps below 0, and v5 has two
// readers.
std::vector<uint8_t> activation_graph() {
  FileBuilder b({3, 6, 6});
  auto conv = [&](uint32_t input, uint32_t in, uint32_t out, uint32_t kernel, uint32_t seed) {
    OpRecord op = op_of(OpKind::kConv2d);
    op.in = in;
    op.out = out;
    op.kernel = kernel;
    op.stride = 1;
    op.padding = kernel / 2;
    const std::vector<float> w = random_values(out * in * kernel * kernel, seed, -0.4f, 0.4f);
    const std::vector<float> bias = random_values(out, seed + 1, -0.2f, 0.2f);
    op.weight = b.add_tensor(DType::kF32, w.data(), w.size());
    op.bias = b.add_tensor(DType::kF32, bias.data(), bias.size());
    return b.add_op(op, reads(input));
  };
  auto clip = [&](uint32_t input, float lo, float hi) {
    OpGraph g = reads(input);
    g.alpha = lo;
    g.beta = hi;
    return b.add_op(op_of(OpKind::kClip), g);
  };
  const uint32_t v2 = clip(conv(0, 3, 8, 3, 21), 0.0f, 6.0f);
  const uint32_t v4 = b.add_op(op_of(OpKind::kReLU), reads(conv(v2, 8, 8, 3, 23)));
  const uint32_t v5 = conv(v4, 8, 4, 1, 25);
  const uint32_t v7 = b.add_op(op_of(OpKind::kAdd), reads(clip(v5, -1.0f, 1.0f), v5));
  const uint32_t flat = b.add_op(op_of(OpKind::kFlatten), reads(v7));
  OpRecord fc = op_of(OpKind::kLinear);
  fc.in = 4 * 36;
  fc.out = 5;
  const std::vector<float> w = random_values(fc.in * fc.out, 27, -0.3f, 0.3f);
  fc.weight = b.add_tensor(DType::kF32, w.data(), w.size());
  b.add_op(fc, reads(flat));
  return b.finish();
}

// A convolution whose one reader is ReLU or Clip(0, hi) requantizes straight to the
// activation's scale with its output clamped at the zero point: the activation disappears.
TEST(QuantizeGraph, ConvolutionsTakeTheirReluOrClipIntoTheirClamp) {
  const std::vector<uint8_t> fp32 = activation_graph();
  const std::vector<float> x = random_values(200 * 108, 31, -2, 2);
  GraphQuantizeOptions options;
  const QuantizedGraph q =
      quantize_graph(fp32, calibrate_graph(fp32, x.data(), 100, options), options);
  EXPECT_EQ(kinds(q.bytes),
            (std::vector<OpKind>{OpKind::kQuantize, OpKind::kQConv2d, OpKind::kQConv2d,
                                 OpKind::kQConv2d, OpKind::kClip, OpKind::kAdd, OpKind::kFlatten,
                                 OpKind::kQLinear, OpKind::kDequantize}));
  edge::FileView view;
  ASSERT_EQ(edge::view_file(q.bytes, &view), "");
  EXPECT_TRUE(view.ops[1].flags & edge::kFlagFusedReLU);   // took Clip(0, 6)
  EXPECT_TRUE(view.ops[2].flags & edge::kFlagFusedReLU);   // took the ReLU
  EXPECT_FALSE(view.ops[3].flags & edge::kFlagFusedReLU);  // two readers
  EXPECT_EQ(q.int8_operators, 9u);                         // every operator of the fp32 graph
  const Agreement a = compare_graphs(fp32, q.bytes, x.data() + 100 * 108, 100);
  EXPECT_GE(a.top1, 0.95);
  EXPECT_LT(a.relative_error, 2e-3);
  // Kept in fp32, the activation stays and the convolution keeps its own scale.
  options.keep_fp32 = {1};
  const QuantizedGraph kept =
      quantize_graph(fp32, calibrate_graph(fp32, x.data(), 100, options), options);
  ASSERT_EQ(edge::view_file(kept.bytes, &view), "");
  EXPECT_FALSE(view.ops[1].flags & edge::kFlagFusedReLU);
  EXPECT_EQ(view.ops[3].kind, OpKind::kClip);
}

TEST(QuantizeGraph, KeptOperatorsStayFp32BetweenConverters) {
  const std::vector<uint8_t> fp32 = residual_graph();
  const std::vector<float> x = random_values(50 * 144, 12, -2, 2);
  GraphQuantizeOptions options;
  options.keep_fp32 = {1};  // the second conv
  const QuantizedGraph q =
      quantize_graph(fp32, calibrate_graph(fp32, x.data(), 50, options), options);
  EXPECT_EQ(kinds(q.bytes),
            (std::vector<OpKind>{OpKind::kQuantize, OpKind::kQConv2d, OpKind::kDequantize,
                                 OpKind::kConv2d, OpKind::kQuantize, OpKind::kAdd, OpKind::kSigmoid,
                                 OpKind::kAvgPool2d, OpKind::kFlatten, OpKind::kQLinear,
                                 OpKind::kDequantize, OpKind::kSoftmax}));
  EXPECT_EQ(q.kept_fp32, (std::vector<uint32_t>{1, 7}));
  EXPECT_EQ(describe_operator(fp32, 1), "op 1 (Conv2d 4->4, 3x3)");
  EXPECT_EQ(weighted_operators(fp32), (std::vector<uint32_t>{0, 1, 6}));
}

TEST(QuantizeGraph, Fp32FallbackMeasuresEachWeightedOperator) {
  const std::vector<uint8_t> fp32 = residual_graph();
  const std::vector<float> x = random_values(64 * 144, 13, -2, 2);
  GraphQuantizeOptions options;
  options.weight_bits = 7;
  const GraphCalibration calibration = calibrate_graph(fp32, x.data(), 64, options);
  const FallbackChoice choice = choose_fp32_fallback(fp32, calibration, x.data(), 64, options);
  ASSERT_EQ(choice.trials.size(), 3u);
  EXPECT_LE(choice.kept.size(), 3u);
  EXPECT_GE(choice.chosen.top1, choice.all_int8.top1);
  for (uint32_t k : choice.kept) EXPECT_TRUE(k == 0 || k == 1 || k == 6);
}

TEST(QuantizeGraph, RefusesWhatItCannotQuantize) {
  const std::vector<uint8_t> fp32 = residual_graph();
  const std::vector<float> x = random_values(8 * 144, 14);
  GraphQuantizeOptions options;
  const GraphCalibration calibration = calibrate_graph(fp32, x.data(), 8, options);
  options.keep_fp32 = {42};
  EXPECT_THROW(quantize_graph(fp32, calibration, options), Error);
  options.keep_fp32.clear();
  const QuantizedGraph q = quantize_graph(fp32, calibration, options);
  EXPECT_THROW(calibrate_graph(q.bytes, x.data(), 8, options), Error);  // already int8
  EXPECT_THROW(calibrate_graph(fp32, x.data(), 0, options), Error);
  EXPECT_THROW(calibrate_graph({1, 2, 3}, x.data(), 8, options), Error);
}

}  // namespace
}  // namespace greenai::compress
