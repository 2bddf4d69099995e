#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <tuple>

#include "edge/internal/fixed_point.h"
#include "edge/internal/kernels.h"
#include "greenai/edge/format.h"
#include "greenai/edge/greenai_edge.h"

namespace greenai::edge {
namespace {

using internal::multiply_by_quantized_multiplier;
using internal::quantize_multiplier;
using internal::rounding_divide_by_pot;
using internal::saturating_rounding_doubling_high_mul;

// fp32 kernels add in a fixed order; the reference matches a plain double sum to this.
constexpr float kF32Tolerance = 1e-5f;

// A buffer with 64-byte alignment, as greenai_edge_load_memory requires.
struct Aligned {
  explicit Aligned(const std::vector<uint8_t>& bytes) : storage(bytes.size() + 64) {
    auto p = reinterpret_cast<uintptr_t>(storage.data());
    data = storage.data() + (64 - p % 64) % 64;
    std::memcpy(data, bytes.data(), bytes.size());
    size = bytes.size();
  }
  std::vector<uint8_t> storage;
  uint8_t* data;
  size_t size;
};

struct Loaded {
  greenai_edge_status status;
  std::string error;
  greenai_edge_model* model = nullptr;
  ~Loaded() { greenai_edge_free(model); }
};

std::unique_ptr<Loaded> load(const Aligned& bytes, int max_batch = 4) {
  auto l = std::make_unique<Loaded>();
  char error[256] = "";
  l->status =
      greenai_edge_load_memory(bytes.data, bytes.size, max_batch, &l->model, error, sizeof error);
  l->error = error;
  return l;
}

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
            "format version 9, this runtime reads 1");
  auto flipped = good;
  flipped.back() ^= 1;
  EXPECT_EQ(load_error(flipped, false, GREENAI_EDGE_ERROR_CHECKSUM),
            "checksum mismatch: the file is corrupted");
  // Second layer made to expect 3 inputs: shapes do not chain.
  auto chain = good;
  OpRecord op;
  std::memcpy(&op, chain.data() + sizeof(Header) + sizeof(OpRecord), sizeof op);
  op.in = 3;
  std::memcpy(chain.data() + sizeof(Header) + sizeof(OpRecord), &op, sizeof op);
  EXPECT_EQ(load_error(chain, true, GREENAI_EDGE_ERROR_SHAPE), "op 1: expects 3 features, gets 2");
  // A tensor whose offset points past the end.
  auto offset = good;
  TensorRecord t;
  const size_t tensor_at = sizeof(Header) + 2 * sizeof(OpRecord);
  std::memcpy(&t, offset.data() + tensor_at, sizeof t);
  t.offset = 1 << 20;
  std::memcpy(offset.data() + tensor_at, &t, sizeof t);
  EXPECT_EQ(load_error(offset, true, GREENAI_EDGE_ERROR_FORMAT),
            "tensor 0: bad type, size or offset past the end");
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

namespace greenai::edge {
namespace {

// Random int8 Linear problems, with tails that do not fill a vector.
struct QProblem {
  int batch, in, out;
  std::vector<int8_t> x, w, y_ref, y_fast;
  std::vector<int32_t> bias, multiplier, shift, bias_unsigned;
  internal::Requant r{};
  std::vector<uint8_t> scratch;

  QProblem(int batch_, int in_, int out_, bool relu, std::mt19937& rng)
      : batch(batch_),
        in(in_),
        out(out_),
        x(batch_ * in_),
        w(out_ * in_),
        y_ref(batch_ * out_),
        y_fast(batch_ * out_),
        bias(out_),
        multiplier(out_),
        shift(out_),
        bias_unsigned(out_),
        scratch(batch_ * in_) {
    for (auto& v : x) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    const int32_t zp_in = static_cast<int32_t>(rng() % 256) - 128;
    for (int c = 0; c < out; ++c) {
      bias[c] = static_cast<int32_t>(rng() % 20001) - 10000;
      internal::quantize_multiplier(
          std::ldexp(0.5 + (rng() % 1000) / 2000.0, -static_cast<int>(6 + rng() % 8)),
          &multiplier[c], &shift[c]);
      int64_t row_sum = 0;
      for (int i = 0; i < in; ++i) row_sum += w[c * in + i];
      bias_unsigned[c] = static_cast<int32_t>(bias[c] - (128 + int64_t{zp_in}) * row_sum);
    }
    const int32_t zp_out = static_cast<int32_t>(rng() % 256) - 128;
    r = {bias.data(), multiplier.data(),    shift.data(), zp_in,
         zp_out,      relu ? zp_out : -128, 127,          bias_unsigned.data()};
  }
};

// Fast int8 kernels must match the reference bit for bit.
constexpr int kInt8KernelTolerance = 0;

TEST(FastKernels, Int8LinearMatchesTheReferenceBitForBit) {
  struct Kernel {
    const char* name;
    internal::QLinear run;
    internal::PackQLinear pack;
  };
  std::vector<Kernel> kernels;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2"))
    kernels.push_back({"avx2", internal::x86::qlinear_avx2, nullptr});
  if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw")) {
    kernels.push_back({"avx512-vnni", internal::x86::qlinear_avx512_vnni, nullptr});
    kernels.push_back({"avx512-vnni packed", internal::x86::qlinear_avx512_vnni_packed,
                       internal::x86::pack_qlinear_vnni});
  }
#endif
  if (kernels.empty()) GTEST_SKIP() << "no fast kernel for this CPU";
  std::mt19937 rng(23);
  for (auto [batch, in, out] : std::vector<std::tuple<int, int, int>>{{1, 784, 20},
                                                                      {5, 20, 10},
                                                                      {64, 200, 33},
                                                                      {3, 1, 1},
                                                                      {7, 63, 5},
                                                                      {4, 65, 3},
                                                                      {9, 1200, 12}}) {
    for (int variant = 0; variant < 4; ++variant) {
      const bool relu = variant == 1;
      QProblem p(batch, in, out, relu, rng);
      if (variant == 3)  // Multipliers of 1 or more (left shifts) and the smallest ones.
        for (int c = 0; c < out; ++c)
          internal::quantize_multiplier(c % 3 == 0   ? 1.5 + c
                                        : c % 3 == 1 ? std::ldexp(0.75, -31)
                                                     : std::ldexp(0.6, -1),
                                        &p.multiplier[c], &p.shift[c]);
      if (variant == 2) {  // Biases at the edge of int32: accumulators wrap alike on every kernel.
        for (int c = 0; c < out; ++c) {
          p.bias[c] = (c % 2 ? INT32_MAX : INT32_MIN) - (c % 2 ? c : -c);
          int64_t row_sum = 0;
          for (int i = 0; i < in; ++i) row_sum += p.w[c * in + i];
          p.bias_unsigned[c] =
              static_cast<int32_t>(p.bias[c] - (128 + int64_t{p.r.input_zero_point}) * row_sum);
        }
      }
      internal::ref::qlinear(p.x.data(), batch, in, out, p.w.data(), p.r, nullptr, p.y_ref.data());
      for (const Kernel& k : kernels) {
        std::fill(p.y_fast.begin(), p.y_fast.end(), 0);
        std::vector<int8_t> weights = p.w;
        if (k.pack) {
          weights.resize(k.pack(nullptr, in, out, nullptr));
          k.pack(p.w.data(), in, out, weights.data());
        }
        std::vector<uint8_t> scratch(static_cast<size_t>(batch) * (in + 3));
        k.run(p.x.data(), batch, in, out, weights.data(), p.r, scratch.data(), p.y_fast.data());
        const char* name = k.name;
        int worst = 0;
        for (size_t i = 0; i < p.y_ref.size(); ++i)
          worst = std::max(worst, std::abs(p.y_ref[i] - p.y_fast[i]));
        EXPECT_EQ(worst, kInt8KernelTolerance)
            << name << " batch " << batch << " in " << in << " out " << out;
      }
    }
  }
}

// QConv2d runs as im2col + the fast int8 GEMM on fast kernel sets: the same integers as the
// reference's textbook loops, for strides, paddings, kernel sizes and zero points.
TEST(FastKernels, Int8ConvMatchesTheReferenceBitForBit) {
  struct Shape {
    int in_c, h, w, out_c, kernel, stride, padding, zp_in;
  };
  std::mt19937 rng(31);
  for (const Shape& c : std::vector<Shape>{{1, 28, 28, 16, 3, 1, 1, -128},
                                           {3, 9, 7, 5, 3, 2, 1, 17},
                                           {2, 8, 8, 20, 5, 1, 2, -3},
                                           {4, 6, 6, 3, 1, 1, 0, 100},
                                           {2, 5, 5, 33, 2, 2, 0, 0}}) {
    FileBuilder b(
        {static_cast<uint32_t>(c.in_c), static_cast<uint32_t>(c.h), static_cast<uint32_t>(c.w)});
    const size_t count = size_t(c.out_c) * c.in_c * c.kernel * c.kernel;
    std::vector<int8_t> w(count);
    for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    std::vector<int32_t> bias(c.out_c), mult(c.out_c), shift(c.out_c);
    for (int o = 0; o < c.out_c; ++o) {
      bias[o] = static_cast<int32_t>(rng() % 20001) - 10000;
      quantize_multiplier(0.0005 * (1 + rng() % 20), &mult[o], &shift[o]);
    }
    OpRecord q{.kind = OpKind::kQuantize, .output_zero_point = c.zp_in, .scale = 0.01f};
    OpRecord conv{.kind = OpKind::kQConv2d,
                  .flags = static_cast<uint32_t>(c.out_c % 2 ? kFlagFusedReLU : 0),
                  .in = static_cast<uint32_t>(c.in_c),
                  .out = static_cast<uint32_t>(c.out_c),
                  .kernel = static_cast<uint32_t>(c.kernel),
                  .stride = static_cast<uint32_t>(c.stride),
                  .padding = static_cast<uint32_t>(c.padding)};
    conv.weight = b.add_tensor(DType::kI8, w.data(), w.size());
    conv.bias = b.add_tensor(DType::kI32, bias.data(), bias.size());
    conv.multiplier = b.add_tensor(DType::kI32, mult.data(), mult.size());
    conv.shift = b.add_tensor(DType::kI32, shift.data(), shift.size());
    conv.input_zero_point = c.zp_in;
    conv.output_zero_point = -7;
    b.add_op(q);
    b.add_op(conv);
    if (c.out_c % 2) {  // then Flatten and a QLinear: the conv's output stays [pixels, channels]
      const int oh = (c.h + 2 * c.padding - c.kernel) / c.stride + 1;
      const int ow = (c.w + 2 * c.padding - c.kernel) / c.stride + 1;
      const uint32_t features = static_cast<uint32_t>(c.out_c * oh * ow), outputs = 7;
      std::vector<int8_t> lw(features * outputs);
      for (auto& v : lw) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
      std::vector<int32_t> lb(outputs), lm(outputs), ls(outputs);
      for (uint32_t o = 0; o < outputs; ++o) {
        lb[o] = static_cast<int32_t>(rng() % 2001) - 1000;
        quantize_multiplier(0.0001 * (1 + rng() % 20), &lm[o], &ls[o]);
      }
      OpRecord linear{.kind = OpKind::kQLinear, .in = features, .out = outputs};
      linear.weight = b.add_tensor(DType::kI8, lw.data(), lw.size());
      linear.bias = b.add_tensor(DType::kI32, lb.data(), lb.size());
      linear.multiplier = b.add_tensor(DType::kI32, lm.data(), lm.size());
      linear.shift = b.add_tensor(DType::kI32, ls.data(), ls.size());
      linear.input_zero_point = -7;
      linear.output_zero_point = -7;
      b.add_op({.kind = OpKind::kFlatten});
      b.add_op(linear);
    }
    b.add_op({.kind = OpKind::kDequantize, .input_zero_point = -7, .scale = 1.0f});
    Aligned bytes(b.finish());
    ::setenv("GREENAI_EDGE_KERNELS", "reference", 1);
    auto reference = load(bytes, 3);
    ::unsetenv("GREENAI_EDGE_KERNELS");
    auto fast = load(bytes, 3);
    ASSERT_EQ(reference->status, GREENAI_EDGE_OK) << reference->error;
    ASSERT_EQ(fast->status, GREENAI_EDGE_OK) << fast->error;
    ASSERT_STREQ(greenai_edge_kernels(reference->model), "reference");
    std::vector<float> x(greenai_edge_input_size(fast->model) * 3);
    std::uniform_real_distribution<float> u(-1.6f, 1.6f);
    for (auto& v : x) v = u(rng);
    const size_t outputs = greenai_edge_output_size(fast->model) * 3;
    std::vector<float> y_ref(outputs), y_fast(outputs);
    ASSERT_EQ(greenai_edge_infer(reference->model, 3, x.data(), x.size(), y_ref.data(), outputs),
              GREENAI_EDGE_OK);
    ASSERT_EQ(greenai_edge_infer(fast->model, 3, x.data(), x.size(), y_fast.data(), outputs),
              GREENAI_EDGE_OK);
    EXPECT_EQ(y_fast, y_ref) << greenai_edge_kernels(fast->model) << " kernel " << c.kernel
                             << " stride " << c.stride << " padding " << c.padding;
  }
}

TEST(FastKernels, QuantizeMatchesTheReferenceBitForBit) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512bw") || !__builtin_cpu_supports("avx512vl"))
    GTEST_SKIP() << "no AVX-512 here";
  std::mt19937 rng(41);
  std::vector<float> x;
  // Ties, values a hair under a tie, huge values, infinities, NaN, signed zeros.
  for (float v : {0.5f, -0.5f, 1.5f, -2.5f, 0.49999997f, -0.49999997f, 2.4999998f, 1e30f, -1e30f,
                  std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::quiet_NaN(), 0.0f, -0.0f, 8388609.0f, -8388607.5f})
    x.push_back(v);
  std::uniform_real_distribution<float> u(-300, 300);
  for (int i = 0; i < 1000; ++i) x.push_back(u(rng));
  for (int i = -600; i <= 600; ++i) x.push_back(static_cast<float>(i) * 0.25f);  // exact ties
  // Values whose quotient lands on or a few ulps from a tie for each scale: where a kernel that
  // multiplies by 1 / scale must fall back to dividing.
  std::vector<float> scales{1.0f, 0.5f, 0.1f, 1.0f / 255, 3.7f, 1e-30f, 1e30f};
  std::uniform_real_distribution<float> log_scale(-12, 4);
  for (int i = 0; i < 20; ++i) scales.push_back(std::exp2(log_scale(rng)));
  for (float scale : scales) {
    std::vector<float> near = x;
    for (int k = -300; k <= 300; ++k) {
      float v = (static_cast<float>(k) + 0.5f) * scale;
      for (int step = 0; step < 3; ++step) {
        near.push_back(v);
        near.push_back(std::nextafter(v, 0.0f));
        v = std::nextafter(v, 1e38f);
      }
    }
    for (int32_t zp : {-128, -3, 0, 50, 127})
      for (long count : {static_cast<long>(near.size()), 15L, 17L, 1L}) {
        std::vector<int8_t> ref(count), fast(count);
        internal::ref::quantize(near.data(), count, scale, zp, ref.data());
        internal::x86::quantize_avx512(near.data(), count, scale, zp, fast.data());
        ASSERT_EQ(fast, ref) << "scale " << scale << " zero point " << zp << " count " << count;
      }
  }
  // Infinities and NaN alone among ordinary values (no tie nearby to send the block down the
  // careful path for another reason), at every position of a 64-value block.
  for (int at = 0; at < 64; ++at)
    for (float special :
         {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
          std::numeric_limits<float>::quiet_NaN(), 1e38f, -1e38f}) {
      std::vector<float> block(128, 0.3f);
      block[at] = special;
      block[64 + (at * 7) % 64] = special;
      std::vector<int8_t> ref(block.size()), fast(block.size());
      internal::ref::quantize(block.data(), static_cast<long>(block.size()), 0.1f, 5, ref.data());
      internal::x86::quantize_avx512(block.data(), static_cast<long>(block.size()), 0.1f, 5,
                                     fast.data());
      ASSERT_EQ(fast, ref) << special << " at " << at;
    }
  for (float scale : {1.0f, 0.5f, 0.1f, 1.0f / 255, 3.7f})
    for (int32_t zp : {-128, -3, 0, 50, 127})
      for (long count : {static_cast<long>(x.size()), 15L, 17L, 1L}) {
        std::vector<int8_t> ref(count), fast(count);
        internal::ref::quantize(x.data(), count, scale, zp, ref.data());
        internal::x86::quantize_avx512(x.data(), count, scale, zp, fast.data());
        ASSERT_EQ(fast, ref) << "scale " << scale << " zero point " << zp << " count " << count;
      }
#else
  GTEST_SKIP() << "x86 only";
#endif
}

// DynamicLinear on the fast set (packed weights, vectorized row quantization and epilogue)
// gives the reference's floats bit for bit: rows of any range, all-zero rows, NaN, ReLU, with
// and without bias.
TEST(FastKernels, DynamicLinearMatchesTheReferenceBitForBit) {
  std::mt19937 rng(53);
  for (auto [in, out] : std::vector<std::pair<int, int>>{{784, 20}, {7, 3}, {64, 33}, {100, 16}})
    for (int variant = 0; variant < 3; ++variant) {
      FileBuilder b({static_cast<uint32_t>(in)});
      std::vector<int8_t> w(static_cast<size_t>(in) * out);
      for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
      std::vector<float> w_scale(out), bias(out);
      std::uniform_real_distribution<float> u(-1, 1);
      for (int c = 0; c < out; ++c) w_scale[c] = 0.001f + (u(rng) + 1) * 0.01f, bias[c] = u(rng);
      OpRecord op{.kind = OpKind::kDynamicLinear,
                  .flags = variant == 1 ? kFlagFusedReLU : 0u,
                  .in = static_cast<uint32_t>(in),
                  .out = static_cast<uint32_t>(out)};
      op.weight = b.add_tensor(DType::kI8, w.data(), w.size());
      op.bias = variant == 2 ? kNoTensor : b.add_tensor(DType::kF32, bias.data(), bias.size());
      op.weight_scale = b.add_tensor(DType::kF32, w_scale.data(), w_scale.size());
      op.multiplier = op.shift = kNoTensor;
      b.add_op(op);
      Aligned bytes(b.finish());
      ::setenv("GREENAI_EDGE_KERNELS", "reference", 1);
      auto reference = load(bytes, 9);
      ::unsetenv("GREENAI_EDGE_KERNELS");
      auto fast = load(bytes, 9);
      ASSERT_EQ(fast->status, GREENAI_EDGE_OK) << fast->error;
      std::vector<float> x(static_cast<size_t>(in) * 9);
      for (size_t i = 0; i < x.size(); ++i) {
        const size_t example = i / in;
        x[i] = example == 3 ? 0.0f : u(rng) * (example == 5 ? 1000.0f : 2.0f) + (example == 6);
      }
      x[static_cast<size_t>(in) * 7 + 1] = std::numeric_limits<float>::quiet_NaN();
      x[static_cast<size_t>(in) * 8] = -0.0f;
      std::vector<float> y_ref(static_cast<size_t>(out) * 9), y_fast(y_ref.size());
      ASSERT_EQ(
          greenai_edge_infer(reference->model, 9, x.data(), x.size(), y_ref.data(), y_ref.size()),
          GREENAI_EDGE_OK);
      ASSERT_EQ(
          greenai_edge_infer(fast->model, 9, x.data(), x.size(), y_fast.data(), y_fast.size()),
          GREENAI_EDGE_OK);
      for (size_t i = 0; i < y_ref.size(); ++i)
        if (std::memcmp(&y_ref[i], &y_fast[i], sizeof(float)) != 0)
          ADD_FAILURE() << "example " << i / out << " channel " << i % out << ": " << y_ref[i]
                        << " vs " << y_fast[i];
      EXPECT_EQ(std::memcmp(y_ref.data(), y_fast.data(), y_ref.size() * sizeof(float)), 0)
          << greenai_edge_kernels(fast->model) << " in " << in << " out " << out << " variant "
          << variant;
    }
}

TEST(FastKernels, Fp32LinearWithinTolerance) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) GTEST_SKIP();
  std::mt19937 rng(29);
  std::uniform_real_distribution<float> u(-1, 1);
  const int batch = 6, in = 103, out = 17;
  std::vector<float> x(batch * in), w(out * in), b(out), y_ref(batch * out), y_fast(batch * out);
  for (auto* v : {&x, &w, &b})
    for (float& f : *v) f = u(rng);
  internal::ref::linear_f32(x.data(), batch, in, out, w.data(), b.data(), true, y_ref.data());
  internal::x86::linear_f32_avx2(x.data(), batch, in, out, w.data(), b.data(), true, y_fast.data());
  for (size_t i = 0; i < y_ref.size(); ++i) EXPECT_NEAR(y_ref[i], y_fast[i], 1e-4f);
#else
  GTEST_SKIP();
#endif
}

}  // namespace
}  // namespace greenai::edge
