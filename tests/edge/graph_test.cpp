// The edge runtime's graphs (format version 2): values read by later operators, two-input
// operators, full windows and groups, the int8 elementwise operators, and version 1 files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>

#include "edge/internal/fixed_point.h"
#include "edge/internal/model.h"
#include "edge/test_util.h"
#include "greenai/edge/format.h"
#include "greenai/edge/greenai_edge.h"

namespace greenai::edge {
namespace {

using testing::Aligned;
using testing::load;
using testing::naive_conv;
using testing::op_of;
using testing::random_values;
using testing::reads;
using testing::Window;

// Runs `bytes` on `batch` examples; fails the test on a load or run error.
std::vector<float> run(const std::vector<uint8_t>& bytes, const std::vector<float>& x, int batch) {
  Aligned aligned(bytes);
  auto l = load(aligned, batch);
  EXPECT_EQ(l->status, GREENAI_EDGE_OK) << l->error;
  if (l->status != GREENAI_EDGE_OK) return {};
  std::vector<float> y(greenai_edge_output_size(l->model) * batch);
  EXPECT_EQ(greenai_edge_infer(l->model, batch, x.data(), x.size(), y.data(), y.size()),
            GREENAI_EDGE_OK)
      << greenai_edge_last_error(l->model);
  return y;
}

// The kernel sets this CPU runs, best first, the reference last.
std::vector<std::string> runnable_sets() {
  char names[256];
  greenai_edge_runnable_kernels(names, sizeof names);
  std::vector<std::string> sets;
  for (char* name = std::strtok(names, ", "); name; name = std::strtok(nullptr, ", "))
    sets.push_back(name);
  return sets;
}

std::string load_error(const std::vector<uint8_t>& bytes) {
  Aligned aligned(bytes);
  return load(aligned, 2)->error;
}

// A convolution of `k` (its OpRecord fields and the OpGraph reading `input`) from c to out_c
// channels.
std::pair<OpRecord, OpGraph> conv_records(OpKind kind, const Window& k, int c, int out_c,
                                          uint32_t input) {
  OpRecord op = op_of(kind);
  op.in = static_cast<uint32_t>(c);
  op.out = static_cast<uint32_t>(out_c);
  op.kernel = k.kh;
  op.stride = k.sh;
  op.padding = k.pt;
  op.flags = kFlagWindow;
  OpGraph g = reads(input);
  g.kernel_w = k.kw;
  g.stride_w = k.sw;
  g.pad_left = k.pl;
  g.pad_bottom = k.pb;
  g.pad_right = k.pr;
  g.dilation_h = k.dh;
  g.dilation_w = k.dw;
  g.groups = k.groups;
  return {op, g};
}

// Grouped, depthwise and dense convolutions with rectangular kernels, strides, asymmetric pads
// and dilations against the textbook loops, on every kernel set this CPU runs.
TEST(EdgeGraph, ConvolutionsWithAnyWindowAndGroups) {
  const Window windows[] = {
      {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4},  // depthwise, multiplier 1
      {3, 3, 2, 2, 1, 0, 0, 1, 1, 1, 4},  // depthwise, stride 2, asymmetric pads
      {3, 2, 1, 2, 2, 1, 2, 1, 2, 1, 2},  // grouped, rectangular, dilated
      {1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},  // pointwise
      {3, 1, 2, 1, 1, 0, 1, 0, 1, 1, 1},  // dense, rectangular
  };
  const int c = 4, h = 7, w = 6;
  const std::vector<std::string> sets = runnable_sets();
  for (const std::string& set : sets)
    for (const Window& k : windows) {
      ::setenv("GREENAI_EDGE_KERNELS", set.c_str(), 1);
      const int out_c = k.groups == 4 ? 8 : 6;
      const std::vector<float> weight =
          random_values(static_cast<size_t>(out_c * (c / k.groups) * k.kh * k.kw), 3);
      const std::vector<float> bias = random_values(out_c, 4);
      FileBuilder b({c, h, w});
      auto [op, g] = conv_records(OpKind::kConv2d, k, c, out_c, 0);
      op.weight = b.add_tensor(DType::kF32, weight.data(), weight.size());
      op.bias = b.add_tensor(DType::kF32, bias.data(), bias.size());
      b.add_op(op, g);
      const std::vector<float> x = random_values(2 * c * h * w, 5);
      const std::vector<float> y = run(b.finish(), x, 2);
      int oh = 0, ow = 0;
      for (int n = 0; n < 2; ++n) {
        const std::vector<float> xn(x.begin() + n * c * h * w, x.begin() + (n + 1) * c * h * w);
        const std::vector<float> expected =
            naive_conv(xn, c, h, w, weight, bias, out_c, k, &oh, &ow);
        ASSERT_EQ(y.size(), 2 * expected.size());
        for (size_t i = 0; i < expected.size(); ++i)
          EXPECT_NEAR(y[n * expected.size() + i], expected[i], 1e-5f)
              << set << ", groups " << k.groups;
      }
      ::unsetenv("GREENAI_EDGE_KERNELS");
    }
}

// int8 grouped and depthwise convolutions (any window) against integer loops: acc = bias +
// sum (q - zp) w over the window, then the requantization the format defines.
TEST(EdgeGraph, Int8GroupedConvolutionsMatchIntegerLoops) {
  const Window windows[] = {
      {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4},  // depthwise
      {3, 3, 2, 2, 0, 1, 1, 0, 1, 1, 4},  // depthwise, stride 2, asymmetric pads
      {5, 3, 1, 1, 2, 1, 2, 1, 1, 2, 4},  // depthwise, rectangular, dilated
      {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},  // grouped
  };
  const int c = 4, h = 9, w = 300;  // wider than one row chunk of the depthwise loop
  std::mt19937 rng(3);
  for (const Window& k : windows) {
    const int out_c = 4, per = (c / k.groups) * k.kh * k.kw;
    std::vector<int8_t> codes(static_cast<size_t>(out_c * per));
    for (int8_t& v : codes) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    std::vector<int32_t> bias(out_c);
    for (int32_t& v : bias) v = static_cast<int32_t>(rng() % 2001) - 1000;
    const std::vector<float> weight_scale(out_c, 0.01f);
    const float in_scale = 0.05f, out_scale = 0.2f;
    const int32_t in_zp = -7, out_zp = 3;
    FileBuilder b({c, h, w});
    OpRecord q = op_of(OpKind::kQuantize);
    q.scale = in_scale;
    q.output_zero_point = in_zp;
    const uint32_t v1 = b.add_op(q, reads(0));
    auto [conv, g] = conv_records(OpKind::kQConv2d, k, c, out_c, v1);
    b.add_int8_weights(conv, codes.data(), codes.size(), bias, weight_scale, in_scale, out_scale);
    conv.input_zero_point = in_zp;
    conv.output_zero_point = out_zp;
    const uint32_t v2 = b.add_op(conv, g);
    OpRecord dq = op_of(OpKind::kDequantize);
    dq.scale = out_scale;
    dq.input_zero_point = out_zp;
    b.add_op(dq, reads(v2));
    const std::vector<float> x = random_values(c * h * w, 6, -6, 6);
    const std::vector<float> y = run(b.finish(), x, 1);
    int32_t multiplier, shift;
    internal::quantize_multiplier(double{in_scale} * 0.01f / out_scale, &multiplier, &shift);
    const int oh = (h + k.pt + k.pb - (k.kh - 1) * k.dh - 1) / k.sh + 1;
    const int ow = (w + k.pl + k.pr - (k.kw - 1) * k.dw - 1) / k.sw + 1;
    ASSERT_EQ(y.size(), static_cast<size_t>(out_c * oh * ow));
    const int ipg = c / k.groups, opg = out_c / k.groups;
    int mismatches = 0;
    for (int o = 0; o < out_c; ++o)
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox) {
          int64_t acc = bias[o];
          for (int gi = 0; gi < ipg; ++gi)
            for (int ky = 0; ky < k.kh; ++ky)
              for (int kx = 0; kx < k.kw; ++kx) {
                const int iy = oy * k.sh - k.pt + ky * k.dh, ix = ox * k.sw - k.pl + kx * k.dw;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                const int ic = o / opg * ipg + gi;
                const float real = x[(ic * h + iy) * w + ix];
                const int qx =
                    std::clamp(static_cast<int>(std::round(real / in_scale)) + in_zp, -128, 127);
                acc += int64_t{qx - in_zp} * codes[((o * ipg + gi) * k.kh + ky) * k.kw + kx];
              }
          const int32_t out_code = std::clamp(internal::multiply_by_quantized_multiplier(
                                                  static_cast<int32_t>(acc), multiplier, shift) +
                                                  out_zp,
                                              -128, 127);
          mismatches +=
              y[(o * oh + oy) * ow + ox] != out_scale * static_cast<float>(out_code - out_zp);
        }
    EXPECT_EQ(mismatches, 0) << "groups " << k.groups << " kernel " << k.kh << "x" << k.kw;
  }
}

// input -> ReLU (v1) -> Mul by a per-channel constant (v2) -> Add(v2, v0) (v3) -> Concat(v3, v1)
// (v4) -> Sigmoid (v5) -> Flatten: value 0 and value 1 are read after others are written, so
// their places must survive.
TEST(EdgeGraph, ResidualAddsAndConcatsReadValuesWrittenEarlier) {
  FileBuilder b({2, 2, 3});
  const float scale[] = {2.0f, -0.5f};
  const uint32_t v1 = b.add_op(op_of(OpKind::kReLU), reads(0));
  OpRecord mul = op_of(OpKind::kMul);
  mul.weight = b.add_tensor(DType::kF32, scale, 2);
  const uint32_t v2 = b.add_op(mul, reads(v1));
  const uint32_t v3 = b.add_op(op_of(OpKind::kAdd), reads(v2, 0));
  const uint32_t v4 = b.add_op(op_of(OpKind::kConcat), reads(v3, v1));
  const uint32_t v5 = b.add_op(op_of(OpKind::kSigmoid), reads(v4));
  b.add_op(op_of(OpKind::kFlatten), reads(v5));
  const std::vector<float> x = random_values(3 * 12, 7);
  const std::vector<float> y = run(b.finish(), x, 3);
  ASSERT_EQ(y.size(), 3u * 24);
  for (int n = 0; n < 3; ++n)
    for (int i = 0; i < 24; ++i) {
      const int ch = i / 6, at = n * 12 + i % 12;
      const float relu = std::max(x[at], 0.0f);
      const float v = ch < 2 ? relu * scale[ch] + x[at] : relu;
      EXPECT_NEAR(y[n * 24 + i], 1.0f / (1.0f + std::exp(-v)), 1e-6f) << n << " " << i;
    }
}

TEST(EdgeGraph, ElementwiseOperatorsAndReshape) {
  FileBuilder b({2, 3, 2});
  OpRecord clip = op_of(OpKind::kClip);
  OpGraph clip_graph = reads(0);
  clip_graph.alpha = -0.25f;
  clip_graph.beta = 0.5f;
  const uint32_t v1 = b.add_op(clip, clip_graph);
  OpGraph hs = reads(0);
  hs.alpha = 0.3f;
  hs.beta = 0.4f;
  const uint32_t v2 = b.add_op(op_of(OpKind::kHardSigmoid), hs);
  const uint32_t v3 = b.add_op(op_of(OpKind::kHardSwish), reads(0));
  OpRecord add = op_of(OpKind::kAdd);
  const float one[] = {0.125f};
  add.weight = b.add_tensor(DType::kF32, one, 1);
  add.flags = kFlagFusedReLU;
  const uint32_t v4 = b.add_op(add, reads(v3));
  const uint32_t v5 = b.add_op(op_of(OpKind::kMul), reads(v1, v2));
  const uint32_t v6 = b.add_op(op_of(OpKind::kAdd), reads(v5, v4));
  OpRecord reshape = op_of(OpKind::kReshape);
  const int32_t shape[] = {3, 2, 2};
  reshape.weight = b.add_tensor(DType::kI32, shape, 3);
  const uint32_t v7 = b.add_op(reshape, reads(v6));
  b.add_op(op_of(OpKind::kSoftmax), reads(b.add_op(op_of(OpKind::kFlatten), reads(v7))));
  const std::vector<float> x = random_values(2 * 12, 9, -4, 4);
  const std::vector<float> y = run(b.finish(), x, 2);
  ASSERT_EQ(y.size(), 24u);
  for (int n = 0; n < 2; ++n) {
    std::vector<double> v(12);
    double sum = 0;
    for (int i = 0; i < 12; ++i) {
      const double xi = x[n * 12 + i];
      const double clipped = std::min(std::max(xi, -0.25), 0.5);
      const double hard_sigmoid = std::max(0.0, std::min(1.0, 0.3 * xi + 0.4));
      const double hard_swish = xi * std::max(0.0, std::min(1.0, xi / 6 + 0.5));
      v[i] = clipped * hard_sigmoid + std::max(hard_swish + 0.125, 0.0);
      sum += std::exp(v[i]);
    }
    for (int i = 0; i < 12; ++i) EXPECT_NEAR(y[n * 12 + i], std::exp(v[i]) / sum, 1e-6);
  }
}

// int8: Quantize -> Sigmoid (table) -> Add of a second int8 value -> Dequantize, against the
// real functions on the dequantized codes, quantized once at the end (within one step).
TEST(EdgeGraph, Int8ElementwiseOperatorsFollowTheirRealFunctions) {
  FileBuilder b({8});
  OpRecord q = op_of(OpKind::kQuantize);
  q.scale = 0.05f;
  q.output_zero_point = -3;
  const uint32_t v1 = b.add_op(q, reads(0));
  OpRecord sig = op_of(OpKind::kSigmoid);
  sig.input_zero_point = -3;
  sig.scale = 1.0f / 255;
  sig.output_zero_point = -128;
  OpGraph sig_graph = reads(v1);
  sig_graph.input_scale = 0.05f;
  const uint32_t v2 = b.add_op(sig, sig_graph);
  OpRecord add = op_of(OpKind::kAdd);
  add.input_zero_point = -128;
  add.scale = 0.06f;
  add.output_zero_point = 10;
  OpGraph add_graph = reads(v2, v1);
  add_graph.input_scale = 1.0f / 255;
  add_graph.input_scale_b = 0.05f;
  add_graph.input_zero_point_b = -3;
  const uint32_t v3 = b.add_op(add, add_graph);
  OpRecord dq = op_of(OpKind::kDequantize);
  dq.scale = 0.06f;
  dq.input_zero_point = 10;
  b.add_op(dq, reads(v3));
  const std::vector<float> x = random_values(4 * 8, 11, -5, 5);
  const std::vector<float> y = run(b.finish(), x, 4);
  ASSERT_EQ(y.size(), x.size());
  auto quantize = [](double v, double s, int z) {
    return std::clamp(static_cast<int>(std::round(v / s)) + z, -128, 127);
  };
  for (size_t i = 0; i < x.size(); ++i) {
    const int qx = quantize(x[i], 0.05, -3);
    const double real_x = 0.05 * (qx + 3);
    const int qs = quantize(1 / (1 + std::exp(-real_x)), 1.0 / 255, -128);
    const double sum = (qs + 128) / 255.0 + real_x;
    EXPECT_NEAR(y[i], 0.06 * (quantize(sum, 0.06, 10) - 10), 0.06 * 1.01) << i;
  }
}

// A MobileNet- and ResNet-like int8 graph: a 3x3 convolution, max pooling, a 1x1 expansion,
// a depthwise 3x3, a 1x1 projection, a residual Add, a per-channel Mul, a Concat, a Clip, average
// and global average pooling, Flatten and QLinear. On the fast sets its values between
// convolutions lie channels last; every set must give the reference's bytes. `mixed` adds a
// reader that takes only (C, H, W) (a rectangular convolution, through im2col rows) to the
// pooled value, so the planner must keep that value and those tied to it in (C, H, W).
std::vector<uint8_t> channels_last_graph(bool mixed) {
  std::mt19937 rng(19);
  FileBuilder b({3, 12, 10});
  const float s_in = 0.04f, s_act = 0.08f;
  const int32_t zp = -5;
  int convolutions = 0;
  auto conv = [&](uint32_t input, int in_c, int out_c, int kernel, int stride, int groups,
                  bool relu, int kernel_w = 0) {
    const int kw = kernel_w ? kernel_w : kernel;
    const int per = in_c / groups * kernel * kw;
    std::vector<int8_t> codes(static_cast<size_t>(out_c * per));
    for (int8_t& v : codes) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    std::vector<int32_t> bias(out_c);
    for (int32_t& v : bias) v = static_cast<int32_t>(rng() % 2001) - 1000;
    std::vector<float> weight_scale(out_c);
    for (float& v : weight_scale) v = 0.002f + 0.0005f * static_cast<float>(rng() % 8);
    OpRecord op = op_of(OpKind::kQConv2d);
    op.in = static_cast<uint32_t>(in_c);
    op.out = static_cast<uint32_t>(out_c);
    op.kernel = static_cast<uint32_t>(kernel);
    op.stride = static_cast<uint32_t>(stride);
    op.padding = static_cast<uint32_t>(kernel / 2);
    op.flags = kFlagWindow | (relu ? kFlagFusedReLU : 0);
    OpGraph g = reads(input);
    g.kernel_w = static_cast<uint32_t>(kw);
    g.stride_w = static_cast<uint32_t>(stride);
    g.pad_left = g.pad_right = static_cast<uint32_t>(kw / 2);
    g.pad_bottom = static_cast<uint32_t>(kernel / 2);
    g.dilation_h = g.dilation_w = 1;
    g.groups = static_cast<uint32_t>(groups);
    // Every other convolution requantizes in float (kFlagFloatRequant), the rest in fixed point.
    b.add_int8_weights(op, codes.data(), codes.size(), bias, weight_scale,
                       input == 1 ? s_in : s_act, s_act, ++convolutions % 2 == 0);
    op.input_zero_point = input == 1 ? -3 : zp;
    op.output_zero_point = zp;
    return b.add_op(op, g);
  };
  auto pool = [&](OpKind kind, uint32_t input, int kernel, int stride) {
    OpRecord op = op_of(kind);
    op.kernel = static_cast<uint32_t>(kernel);
    op.stride = static_cast<uint32_t>(stride);
    op.input_zero_point = op.output_zero_point = zp;
    op.scale = s_act;
    return b.add_op(op, reads(input));
  };
  auto two = [&](OpKind kind, uint32_t a, uint32_t in_b, float scale) {
    OpRecord op = op_of(kind);
    op.input_zero_point = zp;
    op.scale = scale;
    op.output_zero_point = zp;
    OpGraph g = reads(a, in_b);
    g.input_scale = g.input_scale_b = s_act;
    g.input_zero_point_b = zp;
    return b.add_op(op, g);
  };
  OpRecord q = op_of(OpKind::kQuantize);
  q.scale = s_in;
  q.output_zero_point = -3;
  const uint32_t v1 = b.add_op(q, reads(0));
  const uint32_t v2 = conv(v1, 3, 16, 3, 1, 1, true);      // 16 x 12 x 10, planes
  const uint32_t v3 = pool(OpKind::kMaxPool2d, v2, 2, 2);  // 16 x 6 x 5
  const uint32_t v4 = conv(v3, 16, 48, 1, 1, 1, true);     // expansion
  const uint32_t v5 = conv(v4, 48, 48, 3, 1, 48, true);    // depthwise
  const uint32_t v6 = conv(v5, 48, 16, 1, 1, 1, false);    // projection
  const uint32_t v7 = two(OpKind::kAdd, v6, v3, 0.1f);     // residual
  OpRecord mul = op_of(OpKind::kMul);                      // per channel, a constant
  std::vector<int8_t> gains(16);
  for (int8_t& v : gains) v = static_cast<int8_t>(static_cast<int>(rng() % 200) - 100);
  mul.weight = b.add_tensor(DType::kI8, gains.data(), gains.size());
  mul.input_zero_point = zp;
  mul.scale = 0.1f;
  mul.output_zero_point = zp;
  OpGraph mul_graph = reads(v7);
  mul_graph.input_scale = 0.1f;
  mul_graph.input_scale_b = 0.01f;
  const uint32_t v8 = b.add_op(mul, mul_graph);
  uint32_t v9 = two(OpKind::kConcat, v8, v3, 0.1f);  // 32 channels
  if (mixed) {  // (C, H, W) only: a rectangular convolution runs through im2col rows
    const uint32_t side = conv(v3, 16, 16, 3, 1, 1, false, 1);
    v9 = two(OpKind::kConcat, v9, side, 0.1f);  // 48 channels
  }
  OpRecord clip = op_of(OpKind::kClip);
  clip.input_zero_point = zp;
  clip.scale = 0.1f;
  clip.output_zero_point = zp;
  OpGraph clip_graph = reads(v9);
  clip_graph.input_scale = 0.1f;
  clip_graph.alpha = 0.0f;
  clip_graph.beta = 6.0f;
  const uint32_t v10 = b.add_op(clip, clip_graph);
  const uint32_t v11 = pool(OpKind::kAvgPool2d, v10, 2, 1);  // 5 x 4
  const uint32_t v12 = pool(OpKind::kAvgPool2d, v11, 4, 4);  // 1 x 1: global
  (void)v12;
  const uint32_t flat = b.add_op(op_of(OpKind::kFlatten), reads(v12));
  const int features = mixed ? 48 : 32, outputs = 10;
  std::vector<int8_t> lw(static_cast<size_t>(features * outputs));
  for (int8_t& v : lw) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  std::vector<int32_t> lb(outputs, 100);
  OpRecord linear = op_of(OpKind::kQLinear);
  linear.in = static_cast<uint32_t>(features);
  linear.out = outputs;
  b.add_int8_weights(linear, lw.data(), lw.size(), lb, std::vector<float>(outputs, 0.003f), 0.1f,
                     0.2f);
  linear.input_zero_point = zp;
  linear.output_zero_point = 0;
  const uint32_t logits = b.add_op(linear, reads(flat));
  OpRecord dq = op_of(OpKind::kDequantize);
  dq.scale = 0.2f;
  b.add_op(dq, reads(logits));
  return b.finish();
}

TEST(EdgeGraph, ChannelsLastValuesGiveTheReferenceBytesOnEverySet) {
  const std::vector<std::string> sets = runnable_sets();
  const std::vector<float> x = random_values(3 * 3 * 12 * 10, 23, -4, 4);
  for (bool mixed : {false, true}) {
    const std::vector<uint8_t> bytes = channels_last_graph(mixed);
    std::vector<float> expected;
    for (auto it = sets.rbegin(); it != sets.rend(); ++it) {  // the reference first
      ::setenv("GREENAI_EDGE_KERNELS", it->c_str(), 1);
      const std::vector<float> y = run(bytes, x, 3);
      Aligned aligned(bytes);
      auto l = load(aligned, 3);
      ::unsetenv("GREENAI_EDGE_KERNELS");
      ASSERT_EQ(l->status, GREENAI_EDGE_OK) << l->error;
      const greenai_edge_model& m = *l->model;
      int channels_last = 0;
      for (size_t i = 0; i < m.step_count; ++i) channels_last += m.steps[i].hwc_output;
      if (*it == "reference") {
        expected = y;
        EXPECT_EQ(channels_last, 0);
        // Not a degenerate graph: the logits differ from example to example and class to class.
        EXPECT_GT(std::set<float>(y.begin(), y.end()).size(), 10u);
        continue;
      }
      EXPECT_EQ(y, expected) << *it << (mixed ? " (mixed layouts)" : "");
      // Channels last: the first conv, the max pool, expansion, depthwise, projection, Add, Mul,
      // Concat, Clip and the average pool (10 values); mixed: the max pool's value and those
      // tied to it stay (C, H, W).
      if (!mixed) {
        EXPECT_EQ(channels_last, 10) << *it;
      } else {
        EXPECT_FALSE(m.steps[2].hwc_output) << *it;  // the max pool's value
        EXPECT_TRUE(m.steps[3].hwc_output) << *it;   // the expansion's
        EXPECT_TRUE(m.steps[4].hwc_output) << *it;   // the depthwise one's
      }
    }
  }
}

// The fp32 counterpart of channels_last_graph: the same operators in float (a rectangular
// convolution's im2col rows read from (H, W, C) too, and 1x1 ones read it as their rows).
std::vector<uint8_t> fp32_channels_last_graph() {
  FileBuilder b({3, 12, 10});
  uint32_t seed = 40;
  auto conv = [&](uint32_t input, int in_c, int out_c, int kernel, int stride, int groups,
                  bool relu, int kernel_w = 0) {
    const int kw = kernel_w ? kernel_w : kernel;
    const std::vector<float> w = random_values(
        static_cast<size_t>(out_c * (in_c / groups) * kernel * kw), ++seed, -0.5f, 0.5f);
    const std::vector<float> bias = random_values(out_c, ++seed, -0.2f, 0.2f);
    auto [op, g] = conv_records(
        OpKind::kConv2d,
        {kernel, kw, stride, stride, kernel / 2, kw / 2, kernel / 2, kw / 2, 1, 1, groups}, in_c,
        out_c, input);
    op.flags |= relu ? kFlagFusedReLU : 0;
    op.weight = b.add_tensor(DType::kF32, w.data(), w.size());
    op.bias = b.add_tensor(DType::kF32, bias.data(), bias.size());
    return b.add_op(op, g);
  };
  auto pool = [&](OpKind kind, uint32_t input, int kernel, int stride) {
    OpRecord op = op_of(kind);
    op.kernel = static_cast<uint32_t>(kernel);
    op.stride = static_cast<uint32_t>(stride);
    return b.add_op(op, reads(input));
  };
  const uint32_t v1 = conv(0, 3, 16, 3, 1, 1, true);
  const uint32_t v2 = pool(OpKind::kMaxPool2d, v1, 2, 2);   // 16 x 6 x 5
  const uint32_t v3 = conv(v2, 16, 48, 1, 1, 1, true);      // expansion, pointwise
  const uint32_t v4 = conv(v3, 48, 48, 3, 2, 48, true);     // depthwise, stride 2: 3 x 3
  const uint32_t v5 = conv(v4, 48, 16, 3, 1, 1, false, 1);  // rectangular: im2col from (H, W, C)
  OpRecord mul = op_of(OpKind::kMul);
  const std::vector<float> gains = random_values(16, ++seed, -2, 2);
  mul.weight = b.add_tensor(DType::kF32, gains.data(), gains.size());
  const uint32_t v6 = b.add_op(mul, reads(v5));
  const uint32_t v7 = b.add_op(op_of(OpKind::kAdd), reads(v6, v5));
  const uint32_t v8 = b.add_op(op_of(OpKind::kConcat), reads(v7, v4));  // 64 channels
  OpGraph clip = reads(v8);
  clip.alpha = -1.0f;
  clip.beta = 1.5f;
  const uint32_t v9 = b.add_op(op_of(OpKind::kClip), clip);
  const uint32_t v10 = pool(OpKind::kAvgPool2d, v9, 2, 1);   // 2 x 2
  const uint32_t v11 = pool(OpKind::kAvgPool2d, v10, 2, 2);  // 1 x 1
  const uint32_t flat = b.add_op(op_of(OpKind::kFlatten), reads(v11));
  OpRecord fc = op_of(OpKind::kLinear);
  fc.in = 64;
  fc.out = 10;
  const std::vector<float> w = random_values(640, ++seed, -0.3f, 0.3f);
  fc.weight = b.add_tensor(DType::kF32, w.data(), w.size());
  b.add_op(fc, reads(flat));
  return b.finish();
}

TEST(EdgeGraph, Fp32ChannelsLastValuesFollowTheReferenceOnEverySet) {
  const std::vector<std::string> sets = runnable_sets();
  const std::vector<uint8_t> bytes = fp32_channels_last_graph();
  const std::vector<float> x = random_values(2 * 3 * 12 * 10, 29, -2, 2);
  std::vector<float> expected;
  for (auto it = sets.rbegin(); it != sets.rend(); ++it) {  // the reference first
    ::setenv("GREENAI_EDGE_KERNELS", it->c_str(), 1);
    const std::vector<float> y = run(bytes, x, 2);
    Aligned aligned(bytes);
    auto l = load(aligned, 2);
    ::unsetenv("GREENAI_EDGE_KERNELS");
    ASSERT_EQ(l->status, GREENAI_EDGE_OK) << l->error;
    int channels_last = 0;
    for (size_t i = 0; i < l->model->step_count; ++i)
      channels_last += l->model->steps[i].hwc_output;
    if (*it == "reference") {
      expected = y;
      EXPECT_EQ(channels_last, 0);
      EXPECT_GT(std::set<float>(y.begin(), y.end()).size(), 15u);
      continue;
    }
    // Every value of more than one pixel between the first convolution and the last pooling.
    EXPECT_EQ(channels_last, 10) << *it;
    ASSERT_EQ(y.size(), expected.size());
    for (size_t i = 0; i < y.size(); ++i)
      EXPECT_NEAR(y[i], expected[i], 1e-4f * (1 + std::fabs(expected[i]))) << *it << " " << i;
  }
}

// A version 1 file (no OpGraph records) still loads, as the chain it always was.
TEST(EdgeGraph, Version1FilesStillLoad) {
  FileBuilder b({3});
  const float w[] = {1, 2, 3, -1, -2, -3}, bias[] = {0.5f, 1};
  OpRecord linear = op_of(OpKind::kLinear);
  linear.in = 3;
  linear.out = 2;
  linear.weight = b.add_tensor(DType::kF32, w, 6);
  linear.bias = b.add_tensor(DType::kF32, bias, 2);
  b.add_op(linear);
  b.add_op(op_of(OpKind::kReLU));
  const std::vector<uint8_t> v2 = b.finish();
  // The same file in version 1: the OpRecords without their OpGraphs, the data moved up.
  Header h;
  std::memcpy(&h, v2.data(), sizeof h);
  const size_t tensors_at = sizeof(Header) + h.op_count * op_record_bytes(2);
  const size_t records_v1 =
      sizeof(Header) + h.op_count * op_record_bytes(1) + h.tensor_count * sizeof(TensorRecord);
  const uint64_t data_offset = (records_v1 + kAlignment - 1) / kAlignment * kAlignment;
  std::vector<uint8_t> v1(data_offset + (v2.size() - h.data_offset), 0);
  for (uint32_t k = 0; k < h.op_count; ++k)
    std::memcpy(v1.data() + sizeof(Header) + k * sizeof(OpRecord),
                v2.data() + sizeof(Header) + k * op_record_bytes(2), sizeof(OpRecord));
  std::memcpy(v1.data() + sizeof(Header) + h.op_count * sizeof(OpRecord), v2.data() + tensors_at,
              h.tensor_count * sizeof(TensorRecord));
  std::memcpy(v1.data() + data_offset, v2.data() + h.data_offset, v2.size() - h.data_offset);
  h.version = 1;
  h.data_offset = data_offset;
  h.file_bytes = v1.size();
  h.checksum = 0;
  std::memcpy(v1.data(), &h, sizeof h);
  const uint32_t crc = crc32(v1.data(), v1.size());
  std::memcpy(v1.data() + offsetof(Header, checksum), &crc, 4);
  const std::vector<float> x = {1, -1, 0.5f};
  EXPECT_EQ(run(v1, x, 1), run(v2, x, 1));
  EXPECT_EQ(run(v1, x, 1), (std::vector<float>{1, 0.5f}));  // 1 - 2 + 1.5 + 0.5; -1 + 2 - 1.5 + 1
}

TEST(EdgeGraph, RefusesGraphsThatDoNotHold) {
  {  // an input read before it is written
    FileBuilder b({4});
    b.add_op(op_of(OpKind::kReLU), reads(1));
    EXPECT_EQ(load_error(b.finish()), "op 0: an input names a value not written before it");
  }
  {  // a second input that does not broadcast
    FileBuilder b({2, 2, 2});
    const uint32_t v1 = b.add_op(op_of(OpKind::kFlatten), reads(0));
    b.add_op(op_of(OpKind::kAdd), reads(0, v1));
    EXPECT_EQ(load_error(b.finish()),
              "op 1: the second input must match the first, be one per channel, or one");
  }
  {  // one input for a two-input operator named twice
    FileBuilder b({4});
    b.add_op(op_of(OpKind::kReLU), reads(0, 0));
    EXPECT_EQ(load_error(b.finish()), "op 0: takes one input, names two");
  }
  {  // a reshape that changes the count
    FileBuilder b({2, 2, 2});
    OpRecord reshape = op_of(OpKind::kReshape);
    const int32_t shape[] = {3, 1, 2};
    reshape.weight = b.add_tensor(DType::kI32, shape, 3);
    b.add_op(reshape, reads(0));
    EXPECT_EQ(load_error(b.finish()), "op 0: reshape changes the element count");
  }
  {  // groups that do not divide the channels
    FileBuilder b({3, 4, 4});
    OpRecord conv = op_of(OpKind::kConv2d);
    conv.in = 3;
    conv.out = 4;
    conv.kernel = conv.stride = 1;
    const std::vector<float> w(4 * 3, 1.0f);
    conv.weight = b.add_tensor(DType::kF32, w.data(), w.size());
    OpGraph g = reads(0);
    g.groups = 2;
    b.add_op(conv, g);
    EXPECT_EQ(load_error(b.finish()), "op 0: groups must divide the input and output channels");
  }
  {  // a clip whose bounds cross
    FileBuilder b({4});
    OpGraph g = reads(0);
    g.alpha = 1;
    g.beta = 0;
    b.add_op(op_of(OpKind::kClip), g);
    EXPECT_EQ(load_error(b.finish()), "op 0: clip needs min <= max");
  }
}

// Property: mutated graph files load and run, or fail with a message; never crash.
TEST(EdgeGraphFuzz, MutatedGraphsLoadOrFailCleanly) {
  FileBuilder b({2, 3, 3});
  const uint32_t v1 = b.add_op(op_of(OpKind::kReLU), reads(0));
  const uint32_t v2 = b.add_op(op_of(OpKind::kAdd), reads(v1, 0));
  const uint32_t v3 = b.add_op(op_of(OpKind::kConcat), reads(v2, v1));
  b.add_op(op_of(OpKind::kFlatten), reads(v3));
  const std::vector<uint8_t> good = b.finish();
  std::mt19937 rng(23);
  const std::vector<float> x = random_values(2 * 18, 1);
  int loaded = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> bytes = good;
    // Flip bytes among the operator records, then fix the checksum so the graph rules are what
    // the mutation meets.
    for (int m = 0; m < 1 + static_cast<int>(rng() % 3); ++m)
      bytes[sizeof(Header) + rng() % (4 * op_record_bytes(kVersion))] = static_cast<uint8_t>(rng());
    std::memset(bytes.data() + offsetof(Header, checksum), 0, 4);
    const uint32_t crc = crc32(bytes.data(), bytes.size());
    std::memcpy(bytes.data() + offsetof(Header, checksum), &crc, 4);
    Aligned aligned(bytes);
    auto l = load(aligned, 2);
    if (l->status != GREENAI_EDGE_OK) {
      EXPECT_FALSE(l->error.empty());
      continue;
    }
    ++loaded;
    std::vector<float> y(greenai_edge_output_size(l->model) * 2);
    const std::vector<float> input(greenai_edge_input_size(l->model) * 2, 0.5f);
    EXPECT_EQ(greenai_edge_infer(l->model, 2, input.data(), input.size(), y.data(), y.size()),
              GREENAI_EDGE_OK);
  }
  EXPECT_GT(loaded, 0);
}

}  // namespace
}  // namespace greenai::edge
