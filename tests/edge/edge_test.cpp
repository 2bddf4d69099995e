#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <tuple>

#include "edge/internal/fixed_point.h"
#include "edge/internal/kernels.h"
#include "edge/test_util.h"
#include "greenai/edge/format.h"
#include "greenai/edge/greenai_edge.h"

namespace greenai::edge {
namespace {

using internal::multiply_by_quantized_multiplier;
using internal::quantize_multiplier;
using internal::rounding_divide_by_pot;
using internal::saturating_rounding_doubling_high_mul;
using testing::Aligned;
using testing::load;

// fp32 kernels add in a fixed order; the reference matches a plain double sum to this.
constexpr float kF32Tolerance = 1e-5f;

// y = relu(W x + b) then a second layer: 3 -> 2 -> 2, fp32.
std::vector<uint8_t> tiny_f32_model() {
  FileBuilder b({3});
  const float w1[] = {1, 2, 3, -1, -2, -3}, b1[] = {0.5f, 1}, w2[] = {1, 0, 2, -1},
              b2[] = {0, 0.25f};
  uint32_t tw1 = b.add_tensor(DType::kF32, w1, 6), tb1 = b.add_tensor(DType::kF32, b1, 2);
  uint32_t tw2 = b.add_tensor(DType::kF32, w2, 4), tb2 = b.add_tensor(DType::kF32, b2, 2);
  b.add_op({.kind = OpKind::kLinear,
            .flags = kFlagFusedReLU,
            .in = 3,
            .out = 2,
            .weight = tw1,
            .bias = tb1});
  b.add_op({.kind = OpKind::kLinear, .in = 2, .out = 2, .weight = tw2, .bias = tb2});
  return b.finish();
}

TEST(FixedPoint, MultiplierRoundTripsAndRoundsLikeGemmlowp) {
  int32_t q, shift;
  quantize_multiplier(0.5, &q, &shift);
  EXPECT_EQ(q, 1 << 30);
  EXPECT_EQ(shift, 0);
  quantize_multiplier(0.1, &q, &shift);
  EXPECT_EQ(shift, -3);      // 0.1 = 0.8 x 2^-3
  EXPECT_EQ(q, 1717986918);  // round(0.8 x 2^31)
  EXPECT_EQ(multiply_by_quantized_multiplier(1000, q, shift), 100);
  EXPECT_EQ(multiply_by_quantized_multiplier(-1000, q, shift), -100);
  EXPECT_EQ(multiply_by_quantized_multiplier(15, q, shift), 2);  // 1.5 rounds away from zero
  EXPECT_EQ(multiply_by_quantized_multiplier(-15, q, shift), -2);
  EXPECT_EQ(rounding_divide_by_pot(5, 1), 3);    // 2.5 -> 3
  EXPECT_EQ(rounding_divide_by_pot(-5, 1), -3);  // -2.5 -> -3
  EXPECT_EQ(rounding_divide_by_pot(-4, 2), -1);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN), INT32_MAX);
}

// The high multiply rounds, then the shift rounds again: off by at most one step from the
// exactly rounded product, and only when the product sits near a half.
TEST(FixedPoint, AgreesWithRealArithmeticWithinOneStep) {
  std::mt19937 rng(5);
  int exact_matches = 0;
  constexpr int kCases = 20000;
  for (int i = 0; i < kCases; ++i) {
    double m = std::ldexp(0.5 + (rng() % 1000000) / 2000000.0, -static_cast<int>(rng() % 20));
    int32_t acc = static_cast<int32_t>(rng() % 2000001) - 1000000, q, shift;
    quantize_multiplier(m, &q, &shift);
    double exact = acc * (q / 2147483648.0) * std::ldexp(1.0, shift);
    int32_t got = multiply_by_quantized_multiplier(acc, q, shift);
    ASSERT_LE(std::fabs(got - exact), 1.0) << m << " " << acc;
    exact_matches += got == static_cast<int32_t>(std::lround(exact));
  }
  EXPECT_GT(exact_matches, kCases * 0.97);
}

TEST(EdgeRuntime, RunsAFloatModel) {
  Aligned bytes(tiny_f32_model());
  auto l = load(bytes);
  ASSERT_EQ(l->status, GREENAI_EDGE_OK) << l->error;
  EXPECT_EQ(greenai_edge_input_size(l->model), 3u);
  EXPECT_EQ(greenai_edge_output_size(l->model), 2u);
  EXPECT_NE(std::string(greenai_edge_kernels(l->model)), "");
  const float x[] = {1, 1, 1, -1, 0, 2};  // two examples
  float y[4];
  ASSERT_EQ(greenai_edge_infer(l->model, 2, x, 6, y, 4), GREENAI_EDGE_OK);
  // Example 1: h = relu(6.5, -5) = (6.5, 0); y = (6.5, 13 + 0.25). Example 2: h = relu(5.5, -4).
  EXPECT_NEAR(y[0], 6.5f, kF32Tolerance);
  EXPECT_NEAR(y[1], 13.25f, kF32Tolerance);
  EXPECT_NEAR(y[2], 5.5f, kF32Tolerance);
  EXPECT_NEAR(y[3], 11.25f, kF32Tolerance);
}

TEST(EdgeRuntime, WrongCallsAreArgumentErrors) {
  Aligned bytes(tiny_f32_model());
  auto l = load(bytes, 2);
  ASSERT_EQ(l->status, GREENAI_EDGE_OK);
  float x[9] = {}, y[6];
  EXPECT_EQ(greenai_edge_infer(l->model, 3, x, 9, y, 6), GREENAI_EDGE_ERROR_ARGUMENT);
  EXPECT_STREQ(greenai_edge_last_error(l->model), "batch outside 1..max_batch given at load");
  EXPECT_EQ(greenai_edge_infer(l->model, 2, x, 6, y, 3), GREENAI_EDGE_ERROR_ARGUMENT);
  EXPECT_STREQ(greenai_edge_last_error(l->model), "output buffer too small");
  // The wrong input size: one example of 3 floats given 4 (a 2x2 image for a 3-feature model).
  EXPECT_EQ(greenai_edge_infer(l->model, 1, x, 4, y, 6), GREENAI_EDGE_ERROR_ARGUMENT);
  EXPECT_STREQ(greenai_edge_last_error(l->model),
               "input holds 4 floats; 1 example(s) of 3 floats need 3");
  EXPECT_EQ(greenai_edge_infer(l->model, 2, x, 3, y, 6), GREENAI_EDGE_ERROR_ARGUMENT);
  EXPECT_EQ(greenai_edge_infer(l->model, 1, nullptr, 3, y, 2), GREENAI_EDGE_ERROR_ARGUMENT);
}

// An int8 Linear with hand-picked quantization: checks the reference kernel's arithmetic.
TEST(EdgeRuntime, QuantizedLinearMatchesHandComputation) {
  FileBuilder b({2});
  const int8_t w[] = {10, -20, 30, 40};  // 2 outputs x 2 inputs
  const int32_t bias[] = {100, -50};
  int32_t q, shift;
  quantize_multiplier(0.01, &q, &shift);  // s_in x s_w / s_out
  const int32_t mult[] = {q, q}, shifts[] = {shift, shift};
  uint32_t tw = b.add_tensor(DType::kI8, w, 4), tb = b.add_tensor(DType::kI32, bias, 2);
  uint32_t tm = b.add_tensor(DType::kI32, mult, 2), ts = b.add_tensor(DType::kI32, shifts, 2);
  b.add_op({.kind = OpKind::kQuantize, .output_zero_point = 3, .scale = 0.5f});
  b.add_op({.kind = OpKind::kQLinear,
            .in = 2,
            .out = 2,
            .weight = tw,
            .bias = tb,
            .multiplier = tm,
            .shift = ts,
            .input_zero_point = 3,
            .output_zero_point = -5});
  b.add_op({.kind = OpKind::kDequantize, .input_zero_point = -5, .scale = 2.0f});
  Aligned bytes(b.finish());
  auto l = load(bytes);
  ASSERT_EQ(l->status, GREENAI_EDGE_OK) << l->error;
  const float x[] = {10.0f, -4.0f};  // q = round(x / 0.5) + 3 = 23, -5
  float y[2];
  ASSERT_EQ(greenai_edge_infer(l->model, 1, x, 2, y, 2), GREENAI_EDGE_OK);
  // acc0 = 100 + (23-3)*10 + (-5-3)*(-20) = 100 + 200 + 160 = 460 -> 4.6 -> 5 -> q = 0 -> 2*(0+5) =
  // 10 acc1 = -50 + 20*30 + (-8)*40 = 230 -> 2.3 -> 2 -> q = -3 -> 2*(-3+5) = 4
  EXPECT_FLOAT_EQ(y[0], 10.0f);
  EXPECT_FLOAT_EQ(y[1], 4.0f);
}

TEST(EdgeRuntime, DynamicLinearQuantizesEachExampleOnItsOwn) {
  // 4 -> 2, weights int8 with per-channel scales; the input is quantized per example at run time.
  FileBuilder b({4});
  const int8_t w[] = {127, -64, 0, 32, -127, 127, 1, 0};
  const float w_scale[] = {0.01f, 0.02f}, bias[] = {0.5f, -0.25f};
  OpRecord op{.kind = OpKind::kDynamicLinear, .in = 4, .out = 2};
  op.weight = b.add_tensor(DType::kI8, w, 8);
  op.bias = b.add_tensor(DType::kF32, bias, 2);
  op.weight_scale = b.add_tensor(DType::kF32, w_scale, 2);
  op.multiplier = op.shift = kNoTensor;
  b.add_op(op);
  Aligned bytes(b.finish());
  auto l = load(bytes);
  ASSERT_EQ(l->status, GREENAI_EDGE_OK) << l->error;
  // Example 1 spans [-1, 2.4]; example 2 is 100 times larger: each gets its own scale, so both
  // come out within half a step of the fp32 result. Example 3 is all zeros: the bias alone.
  const float x[] = {-1.0f, 0.5f, 2.4f, 0.0f, -100.0f, 50.0f, 240.0f, 0.0f, 0, 0, 0, 0};
  float y[6];
  ASSERT_EQ(greenai_edge_infer(l->model, 3, x, 12, y, 6), GREENAI_EDGE_OK);
  for (int n = 0; n < 2; ++n) {
    const float* row = x + 4 * n;
    float lo = 0, hi = 0;
    for (int i = 0; i < 4; ++i) lo = std::min(lo, row[i]), hi = std::max(hi, row[i]);
    const float step = (hi - lo) / 255;
    for (int c = 0; c < 2; ++c) {
      float exact = bias[c], bound = 0;
      for (int i = 0; i < 4; ++i) {
        exact += w_scale[c] * w[c * 4 + i] * row[i];
        bound += std::fabs(w_scale[c] * w[c * 4 + i]) * step / 2;
      }
      EXPECT_NEAR(y[2 * n + c], exact, bound + 1e-5f) << n << " " << c;
      EXPECT_NE(y[2 * n + c], exact);  // quantized, not a float fallback
    }
  }
  EXPECT_FLOAT_EQ(y[4], 0.5f);
  EXPECT_FLOAT_EQ(y[5], -0.25f);
}

TEST(EdgeLoader, DynamicLinearNeedsItsWeightScales) {
  FileBuilder b({4});
  const int8_t w[] = {1, 2, 3, 4};
  OpRecord op{.kind = OpKind::kDynamicLinear, .in = 4, .out = 1};
  op.weight = b.add_tensor(DType::kI8, w, 4);
  op.bias = op.multiplier = op.shift = op.weight_scale = kNoTensor;
  b.add_op(op);
  Aligned bytes(b.finish());
  auto l = load(bytes);
  EXPECT_EQ(l->status, GREENAI_EDGE_ERROR_FORMAT);
  EXPECT_EQ(l->error, "op 0: weight scale tensor missing");
}

TEST(EdgeRuntime, ConvPoolAndSoftmaxRun) {
  FileBuilder b({1, 4, 4});
  const float w[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};  // identity 3x3 kernel
  uint32_t tw = b.add_tensor(DType::kF32, w, 9);
  b.add_op({.kind = OpKind::kConv2d,
            .in = 1,
            .out = 1,
            .kernel = 3,
            .stride = 1,
            .padding = 1,
            .weight = tw,
            .bias = kNoTensor});
  b.add_op({.kind = OpKind::kMaxPool2d, .kernel = 2, .stride = 2});
  b.add_op({.kind = OpKind::kFlatten});
  b.add_op({.kind = OpKind::kSoftmax});
  Aligned bytes(b.finish());
  auto l = load(bytes);
  ASSERT_EQ(l->status, GREENAI_EDGE_OK) << l->error;
  float x[16];
  for (int i = 0; i < 16; ++i) x[i] = static_cast<float>(i) / 10;
  float y[4];
  ASSERT_EQ(greenai_edge_infer(l->model, 1, x, 16, y, 4), GREENAI_EDGE_OK);
  // Max of each 2x2 block: 0.5, 0.7, 1.3, 1.5; then softmax.
  const double m[4] = {0.5, 0.7, 1.3, 1.5};
  double sum = 0;
  for (double v : m) sum += std::exp(v);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[i], std::exp(m[i]) / sum, kF32Tolerance);
}

std::string load_error(std::vector<uint8_t> bytes, bool fix_checksum,
                       greenai_edge_status expected) {
  if (fix_checksum && bytes.size() >= sizeof(Header)) {
    std::memset(bytes.data() + offsetof(Header, checksum), 0, 4);
    uint32_t crc = crc32(bytes.data(), bytes.size());
    std::memcpy(bytes.data() + offsetof(Header, checksum), &crc, 4);
  }
  Aligned aligned(bytes);
  auto l = load(aligned);
  EXPECT_EQ(l->status, expected) << l->error;
  return l->error;
}

TEST(EdgeLoader, RefusesMalformedFilesWithTheReason) {
  const std::vector<uint8_t> good = tiny_f32_model();
  auto truncated = good;
  truncated.resize(good.size() - 8);
  EXPECT_EQ(load_error(truncated, false, GREENAI_EDGE_ERROR_FORMAT),
            "truncated or padded: header says " + std::to_string(good.size()) +
                " bytes, file has " + std::to_string(good.size() - 8));
  EXPECT_EQ(load_error({1, 2, 3}, false, GREENAI_EDGE_ERROR_FORMAT),
            "truncated: shorter than the 64-byte header");
  auto magic = good;
  magic[0] = 'X';
  EXPECT_EQ(load_error(magic, false, GREENAI_EDGE_ERROR_FORMAT),
            "wrong magic: not a GreenAI edge file");
  auto version = good;
  version[8] = 9;
  EXPECT_EQ(load_error(version, true, GREENAI_EDGE_ERROR_VERSION),
            "format version 9, this runtime reads 1 to 3");
  auto flipped = good;
  flipped.back() ^= 1;
  EXPECT_EQ(load_error(flipped, false, GREENAI_EDGE_ERROR_CHECKSUM),
            "checksum mismatch: the file is corrupted");
  // Second layer made to expect 3 inputs: shapes do not chain.
  auto chain = good;
  OpRecord op;
  const size_t second_op = sizeof(Header) + op_record_bytes(kVersion);
  std::memcpy(&op, chain.data() + second_op, sizeof op);
  op.in = 3;
  std::memcpy(chain.data() + second_op, &op, sizeof op);
  EXPECT_EQ(load_error(chain, true, GREENAI_EDGE_ERROR_SHAPE), "op 1: expects 3 features, gets 2");
  // A tensor whose offset points past the end.
  auto offset = good;
  TensorRecord t;
  const size_t tensor_at = sizeof(Header) + 2 * op_record_bytes(kVersion);
  std::memcpy(&t, offset.data() + tensor_at, sizeof t);
  t.offset = 1 << 20;
  std::memcpy(offset.data() + tensor_at, &t, sizeof t);
  EXPECT_EQ(load_error(offset, true, GREENAI_EDGE_ERROR_FORMAT),
            "tensor 0: bad type, size or offset past the end");
}

// Quantize -> QLinear 4 -> 3 requantizing in float (kFlagFloatRequant) -> Dequantize, with the
// given multipliers (and a shift tensor when `with_shift`).
std::vector<uint8_t> float_requant_model(const std::vector<float>& multiplier,
                                         bool with_shift = false) {
  FileBuilder b({4});
  b.add_op({.kind = OpKind::kQuantize, .output_zero_point = 3, .scale = 0.1f});
  const int8_t w[] = {1, -2, 3, 4, 5, 6, -7, 8, 9, 10, 11, -12};
  const int32_t bias[] = {5, -8, 9}, shift[] = {0, 0, 0};
  OpRecord op{.kind = OpKind::kQLinear, .flags = kFlagFloatRequant, .in = 4, .out = 3};
  op.weight = b.add_tensor(DType::kI8, w, 12);
  op.bias = b.add_tensor(DType::kI32, bias, 3);
  op.multiplier = b.add_tensor(DType::kF32, multiplier.data(), multiplier.size());
  op.shift = with_shift ? b.add_tensor(DType::kI32, shift, 3) : kNoTensor;
  op.input_zero_point = 3;
  op.output_zero_point = -4;
  b.add_op(op);
  b.add_op({.kind = OpKind::kDequantize, .input_zero_point = -4, .scale = 1.0f});
  return b.finish();
}

// The float requantization: float(acc) x M, clamped, rounded half to even, plus the zero point;
// and the files that must not load.
TEST(EdgeLoader, FloatRequantizationRoundsHalfToEvenAndIsChecked) {
  const std::vector<float> m = {0.5f, 0.25f, 100.0f};
  Aligned bytes(float_requant_model(m));
  auto l = load(bytes);
  ASSERT_EQ(l->status, GREENAI_EDGE_OK) << l->error;
  const float x[] = {0.1f, 0.2f, -0.3f, 0.5f};  // codes 4, 5, 0, 8: q - zp = 1, 2, -3, 5
  float y[3];
  ASSERT_EQ(greenai_edge_infer(l->model, 1, x, 4, y, 3), GREENAI_EDGE_OK);
  const int q[] = {1, 2, -3, 5};
  const int8_t w[] = {1, -2, 3, 4, 5, 6, -7, 8, 9, 10, 11, -12};
  const int32_t bias[] = {5, -8, 9};
  for (int c = 0; c < 3; ++c) {
    int acc = bias[c];
    for (int i = 0; i < 4; ++i) acc += q[i] * w[c * 4 + i];
    // code = round(clamp(acc M, -128 + 4, 127 + 4)) - 4; Dequantize gives (code + 4) x 1.
    const float v = std::clamp(static_cast<float>(acc) * m[c], -124.0f, 131.0f);
    EXPECT_EQ(y[c], std::nearbyint(v)) << c;
  }
  EXPECT_EQ(y[0], 6.0f);     // acc 13 x 0.5 = 6.5: to even, not away from zero
  EXPECT_EQ(y[2], -124.0f);  // acc -55 x 100: clamped to code -128
  auto version2 = float_requant_model(m);
  version2[8] = 2;
  EXPECT_EQ(load_error(version2, true, GREENAI_EDGE_ERROR_FORMAT),
            "op 1: float requantization needs format version 3");
  EXPECT_EQ(load_error(float_requant_model(m, true), false, GREENAI_EDGE_ERROR_FORMAT),
            "op 1: a float requantization has no shift");
  for (float bad : {0.0f, -1.0f, std::nanf(""), INFINITY})
    EXPECT_EQ(load_error(float_requant_model({0.5f, bad, 1.0f}), false, GREENAI_EDGE_ERROR_FORMAT),
              "op 1: bad requantization");
  EXPECT_NE(load_error(float_requant_model({0.5f, 1.0f}), false, GREENAI_EDGE_ERROR_FORMAT)
                .find("multiplier"),
            std::string::npos);  // one multiplier short
}

TEST(EdgeLoader, FileErrorsAndAlignment) {
  greenai_edge_model* m = nullptr;
  char error[256];
  EXPECT_EQ(greenai_edge_load_file("/nonexistent.edge", 1, &m, error, sizeof error),
            GREENAI_EDGE_ERROR_IO);
  EXPECT_STREQ(error, "cannot open /nonexistent.edge: No such file or directory");
  Aligned bytes(tiny_f32_model());
  EXPECT_EQ(greenai_edge_load_memory(bytes.data + 1, bytes.size - 1, 1, &m, error, sizeof error),
            GREENAI_EDGE_ERROR_ARGUMENT);
  EXPECT_EQ(greenai_edge_load_memory(bytes.data, bytes.size, 0, &m, error, sizeof error),
            GREENAI_EDGE_ERROR_ARGUMENT);
}

TEST(EdgeLoaderFuzz, MutatedFilesLoadOrFailCleanly) {
  std::mt19937 rng(17);
  const std::vector<uint8_t> good = tiny_f32_model();
  for (int i = 0; i < 4000; ++i) {
    auto bytes = good;
    for (int m = 0; m < 1 + static_cast<int>(rng() % 4); ++m)
      bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
    if (rng() % 4 == 0) bytes.resize(rng() % bytes.size() + 1);
    // Half the time repair the checksum so the mutation reaches the structural checks.
    const bool fix = rng() % 2 && bytes.size() >= sizeof(Header);
    if (fix) {
      Header h;
      std::memcpy(&h, bytes.data(), sizeof h);
      h.file_bytes = bytes.size();
      std::memcpy(bytes.data(), &h, sizeof h);
      std::memset(bytes.data() + offsetof(Header, checksum), 0, 4);
      uint32_t crc = crc32(bytes.data(), bytes.size());
      std::memcpy(bytes.data() + offsetof(Header, checksum), &crc, 4);
    }
    Aligned aligned(bytes);
    auto l = load(aligned);
    if (l->status == GREENAI_EDGE_OK) {
      std::vector<float> x(greenai_edge_input_size(l->model), 0.5f),
          y(greenai_edge_output_size(l->model));
      ASSERT_EQ(greenai_edge_infer(l->model, 1, x.data(), x.size(), y.data(), y.size()),
                GREENAI_EDGE_OK);
    } else {
      ASSERT_FALSE(l->error.empty());
    }
  }
}

}  // namespace
}  // namespace greenai::edge
