#include "greenai/nn/precision.h"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

#include "greenai/error.h"

namespace greenai::nn {
namespace {

TEST(LossScaler, FollowsGradScalersRules) {
  LossScaler scaler;
  EXPECT_EQ(scaler.scale_value(), 65536.0);  // 2^16
  for (int i = 0; i < 1999; ++i) scaler.update(false);
  EXPECT_EQ(scaler.scale_value(), 65536.0);
  EXPECT_EQ(scaler.clean_steps(), 1999);
  scaler.update(false);  // the 2000th clean step doubles it
  EXPECT_EQ(scaler.scale_value(), 131072.0);
  EXPECT_EQ(scaler.clean_steps(), 0);
  scaler.update(false);
  scaler.update(true);  // overflow: halve and start counting again
  EXPECT_EQ(scaler.scale_value(), 65536.0);
  EXPECT_EQ(scaler.clean_steps(), 0);
  EXPECT_EQ(scaler.skipped_steps(), 1);
}

TEST(LossScaler, SkipsTheStepOnInfOrNanAndUnscalesOtherwise) {
  LossScaler scaler(LossScaler::Options{.init_scale = 1024, .growth_interval = 3});
  torch::Tensor w = torch::ones({3}, torch::requires_grad());
  torch::optim::SGD sgd({w}, torch::optim::SGDOptions(0.1));
  // Synthetic gradients as a scaled loss would leave them.
  w.mutable_grad() = torch::tensor({1024.0f, 2048.0f, std::numeric_limits<float>::infinity()});
  EXPECT_FALSE(scaler.step(sgd, {w}));
  EXPECT_TRUE(torch::equal(w.detach(), torch::ones({3})));  // untouched
  EXPECT_EQ(scaler.scale_value(), 512.0);
  w.mutable_grad() = torch::tensor({512.0f, 1024.0f, std::nanf("")});
  EXPECT_FALSE(scaler.step(sgd, {w}));
  EXPECT_EQ(scaler.scale_value(), 256.0);
  w.mutable_grad() = torch::tensor({256.0f, 512.0f, -256.0f});  // true gradients 1, 2, -1
  EXPECT_TRUE(scaler.step(sgd, {w}));
  EXPECT_TRUE(torch::allclose(w.detach(), torch::tensor({0.9f, 0.8f, 1.1f})));
  for (int i = 0; i < 2; ++i) {
    w.mutable_grad() = torch::zeros({3});
    scaler.step(sgd, {w});
  }
  EXPECT_EQ(scaler.scale_value(), 512.0);  // three clean steps with growth_interval 3
}

TEST(LossScaler, ScalesTheLoss) {
  LossScaler scaler;
  EXPECT_FLOAT_EQ(scaler.scale(torch::tensor(0.5f)).item<float>(), 32768.0f);
}

TEST(Precision, ParsingAndWhatRunsOnCpu) {
  EXPECT_EQ(parse_precision("bf16"), Precision::kBf16);
  EXPECT_STREQ(to_string(Precision::kFp16), "fp16");
  try {
    parse_precision("fp8");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "cannot use precision (--precision=fp8): unknown precision");
  }
  EXPECT_NO_THROW(check_precision_supported(Precision::kBf16, torch::kCPU));
  try {
    check_precision_supported(Precision::kFp16, torch::kCPU);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot train in fp16 on CPU"), std::string::npos);
    EXPECT_NE(e.hint().find("--precision bf16"), std::string::npos);
  }
}

TEST(AutocastScope, Bf16MatmulsInsideFp32Outside) {
  torch::Tensor a = torch::rand({8, 8}), b = torch::rand({8, 8});
  {
    AutocastScope scope(Precision::kBf16, torch::kCPU);
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);
    EXPECT_EQ(a.scalar_type(), torch::kFloat32);  // master values stay fp32
  }
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat32);
  AutocastScope none(Precision::kFp32, torch::kCPU);
  EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat32);
}

// scripts/setup installs the OpenMP OpenBLAS; without it LibTorch falls back to the reference
// BLAS, some 30 times slower, and every fp32 figure would be unfair.
TEST(Blas, LibTorchUsesOpenBlas) {
  torch::mm(torch::rand({64, 64}), torch::rand({64, 64}));
  EXPECT_NE(loaded_blas().find("openblas"), std::string::npos) << "loaded: " << loaded_blas();
}

}  // namespace
}  // namespace greenai::nn
