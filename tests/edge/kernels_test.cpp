// Every fast kernel set the CPU can run against the reference kernels: int8 bit for bit, fp32
// within a bound on reordered float sums. A machine with AVX-512 runs the AVX-VNNI and AVX2 sets
// here too, and an ARM64 build (run under qemu-user in CI) its NEON sets.
#include "edge/internal/kernels.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "edge/internal/fixed_point.h"
#include "edge/test_util.h"
#include "greenai/edge/format.h"
#include "greenai/edge/greenai_edge.h"

namespace greenai::edge {
namespace {

using internal::KernelSet;
using internal::quantize_multiplier;
using testing::Aligned;
using testing::load;

// Fast int8 kernels must match the reference bit for bit.
constexpr int kInt8KernelTolerance = 0;

// Every set this CPU runs but the reference.
std::vector<const KernelSet*> fast_sets() {
  const KernelSet* sets[8];
  const int count = internal::runnable_kernel_sets(sets, 8);
  return std::vector<const KernelSet*>(sets, sets + count - 1);
}

// GREENAI_EDGE_KERNELS set for the life of the object: models loaded meanwhile use that set.
class ForcedKernels {
 public:
  explicit ForcedKernels(const char* name) { ::setenv("GREENAI_EDGE_KERNELS", name, 1); }
  ~ForcedKernels() { ::unsetenv("GREENAI_EDGE_KERNELS"); }
  ForcedKernels(const ForcedKernels&) = delete;
  ForcedKernels& operator=(const ForcedKernels&) = delete;
};

// Runs `batch` examples of `x` through the model loaded with the named kernel set.
std::vector<float> infer_with(const char* set, const Aligned& bytes, int batch,
                              const std::vector<float>& x) {
  ForcedKernels forced(set);
  auto loaded = load(bytes, batch);
  EXPECT_EQ(loaded->status, GREENAI_EDGE_OK) << set << ": " << loaded->error;
  if (loaded->status != GREENAI_EDGE_OK) return {};
  EXPECT_STREQ(greenai_edge_kernels(loaded->model), set);
  std::vector<float> y(greenai_edge_output_size(loaded->model) * batch);
  EXPECT_EQ(greenai_edge_infer(loaded->model, batch, x.data(), x.size(), y.data(), y.size()),
            GREENAI_EDGE_OK);
  return y;
}

// A one-layer float model 3 -> 2, to load.
Aligned tiny_model() {
  FileBuilder b({3});
  const float w[] = {1, 2, 3, -1, -2, -3}, bias[] = {0.5f, 1};
  OpRecord op{.kind = OpKind::kLinear, .in = 3, .out = 2};
  op.weight = b.add_tensor(DType::kF32, w, 6);
  op.bias = b.add_tensor(DType::kF32, bias, 2);
  b.add_op(op);
  return Aligned(b.finish());
}

TEST(KernelSelection, EveryRunnableSetCanBeForcedAndTheReferenceComesLast) {
  const KernelSet* sets[8];
  const int count = internal::runnable_kernel_sets(sets, 8);
  ASSERT_GE(count, 1);
  EXPECT_STREQ(sets[count - 1]->name, "reference");
  Aligned bytes = tiny_model();
  {
    auto best = load(bytes);
    ASSERT_EQ(best->status, GREENAI_EDGE_OK) << best->error;
    EXPECT_STREQ(greenai_edge_kernels(best->model), sets[0]->name);
  }
  for (int i = 0; i < count; ++i) {
    ForcedKernels forced(sets[i]->name);
    auto loaded = load(bytes);
    ASSERT_EQ(loaded->status, GREENAI_EDGE_OK) << loaded->error;
    EXPECT_STREQ(greenai_edge_kernels(loaded->model), sets[i]->name);
  }
}

std::vector<std::string> names_for(const internal::IsaFeatures& isa) {
  const KernelSet* sets[8];
  const int count = internal::kernel_sets_for(isa, sets, 8);
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) names.push_back(sets[i]->name);
  return names;
}

// The choice from masked features: what each CPU class gets, best first.
TEST(KernelSelection, EachCpuClassGetsItsSets) {
  using V = std::vector<std::string>;
  internal::IsaFeatures none;
#if defined(__x86_64__)
  EXPECT_EQ(names_for(none), V({"reference"}));
  internal::IsaFeatures avx2_only{.avx2 = true, .fma = true};
  EXPECT_EQ(names_for(avx2_only), V({"avx2", "reference"}));
  internal::IsaFeatures no_fma{.avx2 = true};  // AVX2 without FMA (VIA, some VMs): reference
  EXPECT_EQ(names_for(no_fma), V({"reference"}));
  internal::IsaFeatures alder_lake = avx2_only;
  alder_lake.avxvnni = true;
  EXPECT_EQ(names_for(alder_lake), V({"avx-vnni", "avx2", "reference"}));
  internal::IsaFeatures ice_lake = avx2_only;
  ice_lake.avx512bw = ice_lake.avx512vl = ice_lake.avx512vnni = true;
  EXPECT_EQ(names_for(ice_lake), V({"avx512-vnni", "avx2", "reference"}));
  internal::IsaFeatures no_vl = ice_lake;
  no_vl.avx512vl = false;
  EXPECT_EQ(names_for(no_vl), V({"avx2", "reference"}));
  internal::IsaFeatures zen5 = ice_lake;
  zen5.avxvnni = true;
  EXPECT_EQ(names_for(zen5), V({"avx512-vnni", "avx-vnni", "avx2", "reference"}));
  // An ARM feature means nothing on x86.
  internal::IsaFeatures arm_bit = avx2_only;
  arm_bit.asimddp = true;
  EXPECT_EQ(names_for(arm_bit), V({"avx2", "reference"}));
#elif defined(__aarch64__)
  EXPECT_EQ(names_for(none), V({"neon", "reference"}));
  internal::IsaFeatures dotprod{.asimddp = true};
  EXPECT_EQ(names_for(dotprod), V({"neon-dotprod", "neon", "reference"}));
  internal::IsaFeatures x86_bits{.avx2 = true, .fma = true, .avxvnni = true};
  EXPECT_EQ(names_for(x86_bits), V({"neon", "reference"}));
#endif
}

TEST(KernelSelection, ANameThisCpuCannotRunIsRefusedWithTheList) {
  ForcedKernels forced("avx1024");
  auto loaded = load(tiny_model());
  EXPECT_EQ(loaded->status, GREENAI_EDGE_ERROR_ARGUMENT);
  EXPECT_NE(loaded->error.find("GREENAI_EDGE_KERNELS=avx1024 is not a kernel set this CPU runs"),
            std::string::npos)
      << loaded->error;
  EXPECT_NE(loaded->error.find("reference"), std::string::npos) << loaded->error;
}

// Random int8 Linear problems, with tails that do not fill a vector.
struct QProblem {
  int batch, in, out;
  std::vector<int8_t> x, w, y_ref, y_fast;
  std::vector<int32_t> bias, multiplier, shift, bias_unsigned, bias_signed;
  std::vector<float> scale;  // float requantization (kFlagFloatRequant), when used
  internal::Requant r{};

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
        bias_signed(out_) {
    for (auto& v : x) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    const int32_t zp_in = static_cast<int32_t>(rng() % 256) - 128;
    for (int c = 0; c < out; ++c) {
      bias[c] = static_cast<int32_t>(rng() % 20001) - 10000;
      quantize_multiplier(
          std::ldexp(0.5 + (rng() % 1000) / 2000.0, -static_cast<int>(6 + rng() % 8)),
          &multiplier[c], &shift[c]);
    }
    const int32_t zp_out = static_cast<int32_t>(rng() % 256) - 128;
    r = {bias.data(), multiplier.data(),    shift.data(),      zp_in, zp_out, relu ? zp_out : -128,
         127,         bias_unsigned.data(), bias_signed.data()};
    derive_biases();
  }

  // Float requantization (kFlagFloatRequant) instead of fixed point: kRandom, scales as
  // calibration makes them; kTies, powers of two (sums land on halves: round half to even
  // decides), scales of 1 or more (the clamp decides) and one too small to move a code; kSmallTies,
  // halves from scales below 1/2 only (the kernels' path for blocks whose scales are all small).
  enum FloatScales { kRandom, kTies, kSmallTies };
  void use_float_requant(FloatScales kind, std::mt19937& rng) {
    scale.resize(out);
    for (int c = 0; c < out; ++c)
      scale[c] = kind == kTies ? (c % 4 == 0   ? 0.5f
                                  : c % 4 == 1 ? 0.25f
                                  : c % 4 == 2 ? 3.0f + static_cast<float>(c)
                                               : 1e-30f)
                 : kind == kSmallTies
                     ? (c % 2 ? 0.25f : 0.125f)
                     : std::ldexp(0.5f + static_cast<float>(rng() % 1000) / 2000.0f,
                                  -static_cast<int>(6 + rng() % 8));
    r.scale = scale.data();
    r.multiplier = nullptr;
    r.shift = nullptr;
  }

  // The load-time biases of the fast kernels, as the runtime derives them (wrapping in int32).
  void derive_biases() {
    for (int c = 0; c < out; ++c) {
      int64_t row_sum = 0;
      for (int i = 0; i < in; ++i) row_sum += w[c * in + i];
      bias_unsigned[c] =
          static_cast<int32_t>(bias[c] - (128 + int64_t{r.input_zero_point}) * row_sum);
      bias_signed[c] = static_cast<int32_t>(bias[c] - int64_t{r.input_zero_point} * row_sum);
    }
  }
};

TEST(FastKernels, Int8LinearMatchesTheReferenceBitForBit) {
  const auto sets = fast_sets();
  if (sets.empty()) GTEST_SKIP() << "no fast kernel set for this CPU";
  std::mt19937 rng(23);
  std::vector<std::tuple<int, int, int>> shapes{{1, 784, 20},  {5, 20, 10},  {64, 200, 33},
                                                {3, 1, 1},     {7, 63, 5},   {4, 65, 3},
                                                {9, 1200, 12}, {65, 37, 19}, {2, 130, 40}};
  for (int batch = 1; batch <= 13; ++batch) shapes.emplace_back(batch, 29, 17);
  for (auto [batch, in, out] : shapes) {
    for (int variant = 0; variant < 11; ++variant) {
      const bool relu = variant == 1 || variant == 8;
      QProblem p(batch, in, out, relu, rng);
      if (variant >= 7)  // random, with ReLU, ties, small ties
        p.use_float_requant(variant == 9    ? QProblem::kTies
                            : variant == 10 ? QProblem::kSmallTies
                                            : QProblem::kRandom,
                            rng);
      if (variant == 3)  // Multipliers of 1 or more (left shifts) and the smallest ones.
        for (int c = 0; c < out; ++c)
          quantize_multiplier(c % 3 == 0   ? 1.5 + c
                              : c % 3 == 1 ? std::ldexp(0.75, -31)
                                           : std::ldexp(0.6, -1),
                              &p.multiplier[c], &p.shift[c]);
      if (variant == 2)  // Biases at the edge of int32: accumulators wrap alike on every kernel.
        for (int c = 0; c < out; ++c)
          p.bias[c] = (c % 2 ? INT32_MAX : INT32_MIN) - (c % 2 ? c : -c);
      if (variant == 4) {  // Extremes: every input -128 or 127, weights +-127 (saturated pairs).
        for (size_t i = 0; i < p.x.size(); ++i) p.x[i] = i % 3 ? -128 : 127;
        for (size_t i = 0; i < p.w.size(); ++i) p.w[i] = i % 5 ? -127 : 127;
        p.r.input_zero_point = 127;
      }
      if (variant >= 5)  // 7-bit weights: random in [-63, 63]; then +-63 against extreme inputs.
        for (size_t i = 0; i < p.w.size(); ++i) {
          p.w[i] = variant == 5 ? static_cast<int8_t>(static_cast<int>(rng() % 127) - 63)
                                : static_cast<int8_t>(i % 5 ? -63 : 63);
          if (variant == 6) p.x[i % p.x.size()] = i % 3 ? 127 : -128;
        }
      p.derive_biases();
      internal::ref::qlinear(p.x.data(), batch, in, out, p.w.data(), p.r, nullptr, p.y_ref.data());
      for (const KernelSet* k : sets) {
        std::fill(p.y_fast.begin(), p.y_fast.end(), 0);
        // Packed weights 64-byte aligned, as the runtime lays them out.
        std::vector<int8_t> storage(k->pack_qlinear(nullptr, in, out, nullptr) + 64);
        auto* packed =
            storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;
        k->pack_qlinear(p.w.data(), in, out, packed);
        std::vector<uint8_t> scratch(internal::kQLinearScratchPerInput * batch * (in + 4));
        // The set's kernel, and its small-weights kernel where the weights allow it.
        std::vector<internal::QLinear> kernels{k->qlinear};
        if (k->qlinear_small_weights && variant >= 5) kernels.push_back(k->qlinear_small_weights);
        for (internal::QLinear kernel : kernels) {
          std::fill(p.y_fast.begin(), p.y_fast.end(), 0);
          kernel(p.x.data(), batch, in, out, packed, p.r, scratch.data(), p.y_fast.data());
          int worst = 0;
          for (size_t i = 0; i < p.y_ref.size(); ++i)
            worst = std::max(worst, std::abs(p.y_ref[i] - p.y_fast[i]));
          EXPECT_EQ(worst, kInt8KernelTolerance)
              << k->name << (kernel == k->qlinear ? "" : " (small weights)") << " batch " << batch
              << " in " << in << " out " << out << " variant " << variant;
        }
      }
    }
  }
}

// A weight of -128 is outside the format's range; a set whose GEMM needs [-127, 127] runs that
// layer on the reference kernels, so the answer is still the reference's.
TEST(FastKernels, AWeightOfMinus128StillGivesTheReferenceAnswer) {
  std::mt19937 rng(7);
  const uint32_t in = 40, out = 9;
  FileBuilder b({in});
  std::vector<int8_t> w(in * out);
  for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  w[3] = -128;
  std::vector<int32_t> bias(out), mult(out), shift(out);
  for (uint32_t o = 0; o < out; ++o) quantize_multiplier(0.0004 * (1 + o), &mult[o], &shift[o]);
  OpRecord linear{.kind = OpKind::kQLinear, .in = in, .out = out};
  linear.weight = b.add_tensor(DType::kI8, w.data(), w.size());
  linear.bias = b.add_tensor(DType::kI32, bias.data(), bias.size());
  linear.multiplier = b.add_tensor(DType::kI32, mult.data(), mult.size());
  linear.shift = b.add_tensor(DType::kI32, shift.data(), shift.size());
  linear.input_zero_point = 0;
  b.add_op({.kind = OpKind::kQuantize, .output_zero_point = 0, .scale = 0.01f});
  b.add_op(linear);
  b.add_op({.kind = OpKind::kDequantize, .scale = 1.0f});
  Aligned bytes(b.finish());
  std::vector<float> x(in * 5);
  std::uniform_real_distribution<float> u(-1.3f, 1.3f);
  for (auto& v : x) v = u(rng);
  const auto y_ref = infer_with("reference", bytes, 5, x);
  for (const KernelSet* k : fast_sets())
    EXPECT_EQ(infer_with(k->name, bytes, 5, x), y_ref) << k->name;
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
    std::vector<float> x(size_t(c.in_c) * c.h * c.w * 3);
    std::uniform_real_distribution<float> u(-1.6f, 1.6f);
    for (auto& v : x) v = u(rng);
    const auto y_ref = infer_with("reference", bytes, 3, x);
    for (const KernelSet* k : fast_sets())
      EXPECT_EQ(infer_with(k->name, bytes, 3, x), y_ref)
          << k->name << " kernel " << c.kernel << " stride " << c.stride << " padding "
          << c.padding;
  }
}

// The direct convolutions (no im2col rows) of every set that has one, called as the runtime
// calls them, against ref::qconv2d: kernel sizes the planner sends there and those it does not,
// strides, paddings, channel counts around the block widths, and the requantization's corners.
TEST(FastKernels, Int8DirectConvMatchesTheReferenceBitForBit) {
  struct Shape {
    int in_c, h, w, out_c, kernel, stride, padding;
  };
  std::vector<const KernelSet*> sets;
  for (const KernelSet* k : fast_sets())
    if (k->qconv2d_direct) sets.push_back(k);
  if (sets.empty()) GTEST_SKIP() << "no direct convolution kernel for this CPU";
  std::mt19937 rng(37);
  for (const Shape& c : std::vector<Shape>{{1, 28, 28, 16, 3, 1, 1},
                                           {3, 9, 7, 5, 3, 2, 1},
                                           {2, 6, 11, 33, 3, 1, 0},
                                           {1, 5, 5, 8, 4, 1, 2},
                                           {2, 8, 9, 17, 7, 3, 3},
                                           {4, 4, 4, 1, 1, 1, 0},
                                           {1, 3, 3, 7, 3, 1, 1},
                                           {8, 6, 5, 20, 1, 1, 0},
                                           {16, 7, 7, 24, 3, 2, 1},
                                           {6, 5, 6, 9, 3, 1, 1}}) {
    internal::Conv2dShape s{c.in_c, c.h, c.w, c.out_c, 0, 0, c.kernel, c.stride, c.padding};
    s.out_h = (c.h + 2 * c.padding - c.kernel) / c.stride + 1;
    s.out_w = (c.w + 2 * c.padding - c.kernel) / c.stride + 1;
    const int row = c.in_c * c.kernel * c.kernel, pixels = s.out_h * s.out_w;
    for (int variant = 0; variant < 9; ++variant) {
      QProblem p(1, row, c.out_c, variant == 1, rng);  // weights and requantization
      if (variant >= 6)
        p.use_float_requant(variant == 7   ? QProblem::kTies
                            : variant == 8 ? QProblem::kSmallTies
                                           : QProblem::kRandom,
                            rng);
      std::vector<int8_t> x(size_t(c.in_c) * c.h * c.w);
      for (auto& v : x) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
      if (variant == 2)  // multipliers of 1 or more (left shifts) and the smallest ones
        for (int o = 0; o < c.out_c; ++o)
          quantize_multiplier(o % 3 == 0   ? 1.5 + o
                              : o % 3 == 1 ? std::ldexp(0.75, -31)
                                           : std::ldexp(0.6, -1),
                              &p.multiplier[o], &p.shift[o]);
      if (variant == 3)  // biases at the edge of int32: sums wrap alike
        for (int o = 0; o < c.out_c; ++o) p.bias[o] = o % 2 ? INT32_MAX - o : INT32_MIN + o;
      if (variant == 4) {  // extremes, and a zero point that pads with 127
        for (size_t i = 0; i < x.size(); ++i) x[i] = i % 3 ? -128 : 127;
        for (size_t i = 0; i < p.w.size(); ++i) p.w[i] = i % 5 ? -127 : 127;
        p.r.input_zero_point = 127;
      }
      if (variant == 5) {  // 7-bit weights (+-63) against extreme inputs: the small-weights kernels
        for (size_t i = 0; i < p.w.size(); ++i) p.w[i] = static_cast<int8_t>(i % 5 ? -63 : 63);
        for (size_t i = 0; i < x.size(); ++i) x[i] = i % 3 ? 127 : -128;
      }
      p.derive_biases();
      std::vector<int8_t> y_ref(size_t(c.out_c) * pixels);
      internal::ref::qconv2d(x.data(), 1, s, p.w.data(), p.r, y_ref.data());
      for (const KernelSet* k : sets) {
        std::vector<int8_t> storage(k->pack_qconv2d(nullptr, s, nullptr) + 64);
        auto* packed =
            storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;
        k->pack_qconv2d(p.w.data(), s, packed);
        std::vector<uint8_t> scratch(internal::conv_image(s).scratch_bytes);
        std::vector<internal::QConv2dDirect> kernels{k->qconv2d_direct};
        if (k->qconv2d_direct_small_weights && variant == 5)
          kernels.push_back(k->qconv2d_direct_small_weights);
        // The input as (C, H, W) and as (H, W, C).
        std::vector<int8_t> x_hwc(x.size());
        for (int ch = 0; ch < c.in_c; ++ch)
          for (int px = 0; px < c.h * c.w; ++px)
            x_hwc[size_t(px) * c.in_c + ch] = x[size_t(ch) * c.h * c.w + px];
        for (int layout = 0; layout < 2; ++layout)
          for (internal::QConv2dDirect kernel : kernels) {
            // [padded pixels, channels]: the rows after the real pixels are the kernel's to use.
            std::vector<int8_t> hwc(size_t(c.out_c) * internal::conv_image(s).padded_pixels);
            internal::Conv2dShape shape = s;
            shape.input_hwc = layout == 1;
            kernel(layout ? x_hwc.data() : x.data(), shape, packed, p.r, scratch.data(),
                   hwc.data());
            int mismatches = 0;
            for (int o = 0; o < c.out_c; ++o)
              for (int px = 0; px < pixels; ++px)
                mismatches += y_ref[size_t(o) * pixels + px] != hwc[size_t(px) * c.out_c + o];
            EXPECT_EQ(mismatches, 0)
                << k->name << (kernel == k->qconv2d_direct ? "" : " (small weights)") << " in "
                << c.in_c << " kernel " << c.kernel << " stride " << c.stride << " padding "
                << c.padding << " out " << c.out_c << " variant " << variant
                << (layout ? " (H, W, C) input" : "");
          }
      }
    }
  }
}

// The depthwise convolutions of every set that has one, as the runtime calls them, against
// ref::qconv2d: 3x3 and 5x5 windows, strides, asymmetric pads, dilations, channel counts around
// the vector widths, both input layouts, and the requantization's corners.
TEST(FastKernels, Int8DepthwiseConvMatchesTheReferenceBitForBit) {
  struct Shape {
    int c, h, w, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
  };
  std::vector<const KernelSet*> sets;
  for (const KernelSet* k : fast_sets())
    if (k->qdepthwise) sets.push_back(k);
  if (sets.empty()) GTEST_SKIP() << "no depthwise kernel for this CPU";
  std::mt19937 rng(41);
  for (const Shape& c : std::vector<Shape>{{16, 9, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
                                           {17, 8, 7, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
                                           {32, 7, 8, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1},
                                           {8, 6, 6, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1},
                                           {40, 5, 9, 3, 1, 1, 2, 1, 0, 1, 0, 2, 1},
                                           {3, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}}) {
    internal::Conv2dShape s{c.c, c.h, c.w, c.c, 0, 0, c.kh, c.sh, c.pt};
    s.kernel_w = c.kw;
    s.stride_w = c.sw;
    s.pad_left = c.pl;
    s.pad_bottom = c.pb;
    s.pad_right = c.pr;
    s.dilation_h = c.dh;
    s.dilation_w = c.dw;
    s.groups = c.c;
    s.out_h = (c.h + c.pt + c.pb - (c.kh - 1) * c.dh - 1) / c.sh + 1;
    s.out_w = (c.w + c.pl + c.pr - (c.kw - 1) * c.dw - 1) / c.sw + 1;
    ASSERT_TRUE(internal::is_depthwise(s));
    const int taps = c.kh * c.kw, pixels = s.out_h * s.out_w;
    for (int variant = 0; variant < 7; ++variant) {
      QProblem p(1, taps, c.c, variant == 1 || variant == 6, rng);  // `taps` weights per channel
      if (variant >= 4)
        p.use_float_requant(variant == 5   ? QProblem::kTies
                            : variant == 6 ? QProblem::kSmallTies
                                           : QProblem::kRandom,
                            rng);
      std::vector<int8_t> x(size_t(c.c) * c.h * c.w);
      for (auto& v : x) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
      if (variant == 2)  // multipliers of 1 or more (left shifts) and the smallest ones
        for (int o = 0; o < c.c; ++o)
          quantize_multiplier(o % 3 == 0   ? 1.5 + o
                              : o % 3 == 1 ? std::ldexp(0.75, -31)
                                           : std::ldexp(0.6, -1),
                              &p.multiplier[o], &p.shift[o]);
      if (variant == 3) {  // extremes, and a zero point that pads with -128
        for (size_t i = 0; i < x.size(); ++i) x[i] = i % 3 ? -128 : 127;
        for (size_t i = 0; i < p.w.size(); ++i) p.w[i] = i % 5 ? -128 : 127;
        p.r.input_zero_point = -128;
      }
      p.derive_biases();
      std::vector<int8_t> y_ref(size_t(c.c) * pixels);
      internal::ref::qconv2d(x.data(), 1, s, p.w.data(), p.r, y_ref.data());
      std::vector<int8_t> x_hwc(x.size());
      for (int ch = 0; ch < c.c; ++ch)
        for (int px = 0; px < c.h * c.w; ++px)
          x_hwc[size_t(px) * c.c + ch] = x[size_t(ch) * c.h * c.w + px];
      for (const KernelSet* k : sets) {
        std::vector<int8_t> packed(internal::pack_qdepthwise(nullptr, s, nullptr));
        internal::pack_qdepthwise(p.w.data(), s, packed.data());
        std::vector<uint8_t> scratch(internal::depthwise_image(s).scratch_bytes);
        for (int layout = 0; layout < 2; ++layout) {
          internal::Conv2dShape shape = s;
          shape.input_hwc = layout == 1;
          std::vector<int8_t> hwc(size_t(c.c) * pixels);
          k->qdepthwise(layout ? x_hwc.data() : x.data(), shape, packed.data(), p.r, scratch.data(),
                        hwc.data());
          int mismatches = 0;
          for (int o = 0; o < c.c; ++o)
            for (int px = 0; px < pixels; ++px)
              mismatches += y_ref[size_t(o) * pixels + px] != hwc[size_t(px) * c.c + o];
          EXPECT_EQ(mismatches, 0)
              << k->name << " channels " << c.c << " window " << c.kh << "x" << c.kw << " stride "
              << c.sh << " variant " << variant << (layout ? " (H, W, C) input" : "");
        }
      }
    }
  }
}

// Every set's int8 Add of same-shape values against ref::add_i8: random scales, ratios that
// overflow to infinity and NaN (clamped to the low bound), halves (ties to even), the ReLU clamp,
// and lengths that leave a partial vector.
TEST(FastKernels, Int8AddMatchesTheReferenceBitForBit) {
  std::vector<const KernelSet*> sets;
  for (const KernelSet* k : fast_sets())
    if (k->add_i8_same) sets.push_back(k);
  if (sets.empty()) GTEST_SKIP() << "no int8 Add kernel for this CPU";
  std::mt19937 rng(43);
  const std::vector<internal::QBinary> cases{
      {0.05f, 0.07f, 0.1f, -3, 5, -1, -128, 127},
      {0.5f, 0.5f, 1.0f, 0, 0, 0, -128, 127},         // halves: ties to even
      {0.02f, 0.03f, 0.04f, 10, -20, -7, -7, 127},    // ReLU fused: clamp at the zero point
      {3e38f, 1.0f, 1e-30f, 0, 0, 0, -128, 127},      // inf x 0 = NaN, and infinities
      {1e-6f, 2e-6f, 1e6f, 127, -128, 3, -128, 127},  // everything rounds to the zero point
  };
  for (const internal::QBinary& q : cases)
    for (long count : {1L, 15L, 16L, 17L, 1000L}) {
      std::vector<int8_t> a(count), b(count), y_ref(count), y(count);
      for (long i = 0; i < count; ++i) {
        a[i] = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
        b[i] = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
      }
      const internal::BinaryShape shape{internal::Broadcast::kSame, count, count, 0};
      internal::ref::add_i8(a.data(), b.data(), 1, shape, false, q, y_ref.data());
      for (const KernelSet* k : sets) {
        k->add_i8_same(a.data(), b.data(), count, q, y.data());
        EXPECT_EQ(y, y_ref) << k->name << " scales " << q.scale_a << " " << q.scale_b << " "
                            << q.scale_out << " count " << count;
      }
    }
}

// The planner sends 3x3 and larger odd kernels, and 1x1 ones on channels in fours, to the
// direct convolution (planes or interleaved, whichever has fewer groups of four), and 2x2 and
// 5x5 ones on few channels (most of each group of four would be padding) to im2col rows.
TEST(FastKernels, DirectConvolutionOnlyWhereItsPaddingIsSmall) {
  auto shape = [](int in_c, int kernel) {
    return internal::Conv2dShape{in_c, 8, 8, 4, 8, 8, kernel, 1, kernel / 2};
  };
  EXPECT_TRUE(internal::direct_conv_pays(shape(1, 3)));
  EXPECT_TRUE(internal::direct_conv_pays(shape(16, 3)));
  EXPECT_TRUE(internal::direct_conv_pays(shape(3, 4)));
  EXPECT_TRUE(internal::direct_conv_pays(shape(3, 7)));
  EXPECT_TRUE(internal::direct_conv_pays(shape(8, 1)));
  EXPECT_TRUE(internal::direct_conv_pays(shape(64, 3)));
  EXPECT_FALSE(internal::conv_image(shape(1, 3)).interleaved);
  EXPECT_TRUE(internal::conv_image(shape(16, 3)).interleaved);
  EXPECT_TRUE(internal::conv_image(shape(8, 1)).interleaved);
  EXPECT_FALSE(internal::direct_conv_pays(shape(2, 2)));
  EXPECT_FALSE(internal::direct_conv_pays(shape(2, 5)));
}

// Every fast set's Quantize, on ties, near-ties, infinities, NaN and out-of-range values.
TEST(FastKernels, QuantizeMatchesTheReferenceBitForBit) {
  const auto sets = fast_sets();
  if (sets.empty()) GTEST_SKIP() << "no fast kernel set for this CPU";
  std::mt19937 rng(41);
  auto expect_same = [&](const std::vector<float>& x, long count, float scale, int32_t zp) {
    std::vector<int8_t> ref(count), fast(count);
    internal::ref::quantize(x.data(), count, scale, zp, ref.data());
    for (const KernelSet* k : sets) {
      k->quantize(x.data(), count, scale, zp, fast.data());
      ASSERT_EQ(fast, ref) << k->name << " scale " << scale << " zero point " << zp << " count "
                           << count;
    }
  };
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
      for (long count : {static_cast<long>(near.size()), 15L, 17L, 1L})
        expect_same(near, count, scale, zp);
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
      expect_same(block, static_cast<long>(block.size()), 0.1f, 5);
    }
}

// DynamicLinear on every fast set (where a set has its own: packed weights, vectorized row
// quantization and epilogue) gives the reference's floats bit for bit: rows of any range, all-zero
// rows, NaN, ReLU, with and without bias.
TEST(FastKernels, DynamicLinearMatchesTheReferenceBitForBit) {
  std::mt19937 rng(53);
  for (auto [in, out] : std::vector<std::pair<int, int>>{{784, 20}, {7, 3}, {64, 33}, {100, 16}})
    for (int variant = 0; variant < 3; ++variant) {
      FileBuilder b({static_cast<uint32_t>(in)});
      std::vector<int8_t> w(static_cast<size_t>(in) * out);
      for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
      if (variant == 0 && in == 7) w[5] = -128;  // the AVX2 GEMM needs [-127, 127]: reference
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
      std::vector<float> x(static_cast<size_t>(in) * 9);
      for (size_t i = 0; i < x.size(); ++i) {
        const size_t example = i / in;
        x[i] = example == 3 ? 0.0f : u(rng) * (example == 5 ? 1000.0f : 2.0f) + (example == 6);
      }
      x[static_cast<size_t>(in) * 7 + 1] = std::numeric_limits<float>::quiet_NaN();
      x[static_cast<size_t>(in) * 8] = -0.0f;
      const auto y_ref = infer_with("reference", bytes, 9, x);
      for (const KernelSet* k : fast_sets()) {
        const auto y_fast = infer_with(k->name, bytes, 9, x);
        ASSERT_EQ(y_fast.size(), y_ref.size());
        EXPECT_EQ(std::memcmp(y_ref.data(), y_fast.data(), y_ref.size() * sizeof(float)), 0)
            << k->name << " in " << in << " out " << out << " variant " << variant;
      }
    }
}

// Reordering a float sum of n terms moves it by at most about n x FLT_EPSILON x the sum of the
// terms' magnitudes; a wrong index or a lost term moves it by the size of a term.
float reorder_bound(int terms, double magnitude) {
  return static_cast<float>(terms * FLT_EPSILON * magnitude);
}

TEST(FastKernels, Fp32LinearWithinTheReorderingBound) {
  const auto sets = fast_sets();
  if (sets.empty()) GTEST_SKIP() << "no fast kernel set for this CPU";
  std::mt19937 rng(29);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<std::tuple<int, int, int>> shapes{
      {6, 103, 17}, {1, 784, 1200}, {64, 120, 10}, {65, 9, 33}, {2, 1, 1}};
  for (int batch = 1; batch <= 13; ++batch) shapes.emplace_back(batch, 31, 23);
  for (auto [batch, in, out] : shapes)
    for (bool relu : {false, true}) {
      std::vector<float> x(batch * in), w(out * in), b(out), y_ref(batch * out),
          y_fast(batch * out);
      for (auto* v : {&x, &w, &b})
        for (float& f : *v) f = u(rng);
      internal::ref::linear_f32(x.data(), batch, in, out, w.data(), b.data(), relu, y_ref.data());
      for (const KernelSet* k : sets) {
        std::vector<float> storage(k->pack_linear_f32(nullptr, in, out, nullptr) / sizeof(float) +
                                   16);
        float* packed = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) %
                                             64 / sizeof(float);
        k->pack_linear_f32(w.data(), in, out, packed);
        k->linear_f32(x.data(), batch, in, out, packed, b.data(), relu, y_fast.data());
        for (int n = 0; n < batch; ++n)
          for (int o = 0; o < out; ++o) {
            double magnitude = std::fabs(b[o]);
            for (int i = 0; i < in; ++i) magnitude += std::fabs(w[o * in + i] * x[n * in + i]);
            ASSERT_NEAR(y_fast[n * out + o], y_ref[n * out + o], reorder_bound(in + 1, magnitude))
                << k->name << " batch " << batch << " in " << in << " out " << out;
          }
      }
    }
}

// Conv2d in fp32 runs as im2col and the set's GEMM: within the same bound of the textbook loops.
TEST(FastKernels, Fp32ConvWithinTheReorderingBound) {
  std::mt19937 rng(37);
  std::uniform_real_distribution<float> u(-1, 1);
  struct Shape {
    uint32_t in_c, h, w, out_c, kernel, stride, padding;
  };
  for (const Shape& c : std::vector<Shape>{{1, 28, 28, 16, 3, 1, 1},
                                           {3, 9, 7, 5, 3, 2, 1},
                                           {2, 8, 8, 20, 5, 1, 2},
                                           {4, 6, 6, 3, 1, 1, 0}}) {
    FileBuilder b({c.in_c, c.h, c.w});
    std::vector<float> w(size_t(c.out_c) * c.in_c * c.kernel * c.kernel), bias(c.out_c);
    for (auto* v : {&w, &bias})
      for (float& f : *v) f = u(rng);
    OpRecord conv{.kind = OpKind::kConv2d,
                  .flags = static_cast<uint32_t>(c.out_c % 2 ? kFlagFusedReLU : 0),
                  .in = c.in_c,
                  .out = c.out_c,
                  .kernel = c.kernel,
                  .stride = c.stride,
                  .padding = c.padding};
    conv.weight = b.add_tensor(DType::kF32, w.data(), w.size());
    conv.bias = b.add_tensor(DType::kF32, bias.data(), bias.size());
    b.add_op(conv);
    const int terms = static_cast<int>(c.in_c * c.kernel * c.kernel) + 1;
    int features_in_chain = 0;
    const bool chain =
        c.in_c != 2;  // then Flatten and a Linear: the conv leaves [pixels, channels]
    std::vector<float> lw, lb;
    if (chain) {
      const uint32_t oh = (c.h + 2 * c.padding - c.kernel) / c.stride + 1;
      const uint32_t ow = (c.w + 2 * c.padding - c.kernel) / c.stride + 1;
      const uint32_t features = c.out_c * oh * ow, outputs = 5;
      lw.resize(size_t(features) * outputs);
      lb.resize(outputs);
      for (auto* v : {&lw, &lb})
        for (float& f : *v) f = u(rng);
      OpRecord linear{.kind = OpKind::kLinear, .in = features, .out = outputs};
      linear.weight = b.add_tensor(DType::kF32, lw.data(), lw.size());
      linear.bias = b.add_tensor(DType::kF32, lb.data(), lb.size());
      b.add_op({.kind = OpKind::kFlatten});
      b.add_op(linear);
      features_in_chain = static_cast<int>(features);
    }
    Aligned bytes(b.finish());
    std::vector<float> x(size_t(c.in_c) * c.h * c.w * 3);
    for (auto& v : x) v = u(rng);
    const auto y_ref = infer_with("reference", bytes, 3, x);
    for (const KernelSet* k : fast_sets()) {
      const auto y_fast = infer_with(k->name, bytes, 3, x);
      ASSERT_EQ(y_fast.size(), y_ref.size());
      // |w|, |x|, |b| <= 1: the terms' magnitudes sum to at most `terms`.
      // The conv's outputs lie within `terms` of 0 and within reorder_bound(terms, terms) of the
      // reference; a Linear after it (|w|, |b| <= 1) adds its own reordering over its sum of at
      // most features x terms + 1 and carries the conv's error, at most features x that.
      const int f = features_in_chain;
      const float bound =
          f ? reorder_bound(f + 1, double(f) * terms + 1) + f * reorder_bound(terms, terms)
            : reorder_bound(terms, terms);
      for (size_t i = 0; i < y_ref.size(); ++i)
        ASSERT_NEAR(y_fast[i], y_ref[i], bound) << k->name << " at " << i;
    }
  }
}

}  // namespace
}  // namespace greenai::edge
