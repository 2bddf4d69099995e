#include "greenai/compress/distill.h"

#include <gtest/gtest.h>

#include <cmath>

#include "greenai/error.h"

namespace greenai::compress {
namespace {

// Float32 arithmetic in LibTorch against double arithmetic here.
constexpr double kTolerance = 1e-5;

std::vector<double> softmax(std::vector<double> z, double T) {
  double m = *std::max_element(z.begin(), z.end()), sum = 0;
  for (double& v : z) sum += (v = std::exp((v - m) / T));
  for (double& v : z) v /= sum;
  return z;
}

// alpha T^2 KL(p_t || p_s) + (1 - alpha) CE, for one example, by hand.
double by_hand(const std::vector<double>& s, const std::vector<double>& t, int label, double T,
               double alpha) {
  auto ps = softmax(s, T), pt = softmax(t, T), p1 = softmax(s, 1);
  double kl = 0;
  for (size_t i = 0; i < s.size(); ++i) kl += pt[i] * (std::log(pt[i]) - std::log(ps[i]));
  return alpha * T * T * kl + (1 - alpha) * -std::log(p1[label]);
}

double loss(const std::vector<double>& s, const std::vector<double>& t, int label, double T,
            double alpha) {
  auto tensor = [](const std::vector<double>& v) {
    return torch::tensor(std::vector<float>(v.begin(), v.end())).unsqueeze(0);
  };
  return distillation_loss(tensor(s), tensor(t), torch::tensor({static_cast<int64_t>(label)}),
                           {T, alpha})
      .item<double>();
}

TEST(DistillationLoss, MatchesHandComputedValues) {
  const std::vector<double> s = {1.0, 2.0, 3.0}, t = {3.0, 2.0, 1.0};
  EXPECT_NEAR(loss(s, t, 0, 1.0, 0.5), by_hand(s, t, 0, 1.0, 0.5), kTolerance);
  EXPECT_NEAR(loss(s, t, 2, 4.0, 0.7), by_hand(s, t, 2, 4.0, 0.7), kTolerance);
  EXPECT_NEAR(loss(s, t, 1, 20.0, 0.9), by_hand(s, t, 1, 20.0, 0.9), kTolerance);
  // A worked value: T = 1, alpha = 0.5, label 0:
  // KL = sum p_t (ln p_t - ln p_s) = 1.1504..., CE = -ln p_s[0] = 2.4076..., loss = 1.7790...
  EXPECT_NEAR(loss(s, t, 0, 1.0, 0.5), 0.5 * 1.1504207652088827 + 0.5 * 2.40760596444438,
              kTolerance);
}

TEST(DistillationLoss, AlphaEdgesAndIdenticalLogits) {
  const std::vector<double> s = {0.5, -1.0, 2.0, 0.0}, t = {1.5, 0.0, -2.0, 0.3};
  double ce = -std::log(softmax(s, 1)[3]);
  EXPECT_NEAR(loss(s, t, 3, 4.0, 0.0), ce, kTolerance);                          // labels only
  EXPECT_NEAR(loss(s, t, 3, 4.0, 1.0), by_hand(s, t, 3, 4.0, 1.0), kTolerance);  // teacher only
  EXPECT_NEAR(loss(s, s, 3, 4.0, 1.0), 0.0, kTolerance);  // KL of identical outputs
  // The soft term grows as T^2 x KL: at a large T the KL shrinks as 1/T^2, so the product
  // stays of the same order instead of vanishing.
  double at_10 = loss(s, t, 3, 10.0, 1.0), at_100 = loss(s, t, 3, 100.0, 1.0);
  EXPECT_GT(at_100, 0.5 * at_10);
  EXPECT_LT(at_100, 2.0 * at_10);
}

TEST(DistillationLoss, KlIsTheBatchMean) {
  torch::Tensor s = torch::tensor({{1.0f, 2.0f, 3.0f}, {0.0f, 0.0f, 0.0f}});
  torch::Tensor t = torch::tensor({{3.0f, 2.0f, 1.0f}, {0.0f, 0.0f, 0.0f}});
  double batch = distillation_loss(s, t, torch::tensor({0L, 1L}), {1.0, 1.0}).item<double>();
  // Row 2 contributes zero KL; the mean over two rows halves row 1's.
  EXPECT_NEAR(batch, by_hand({1, 2, 3}, {3, 2, 1}, 0, 1.0, 1.0) / 2, kTolerance);
}

TEST(DistillationLoss, GradientsReachTheStudentOnly) {
  torch::Tensor s = torch::tensor({{1.0f, 2.0f, 3.0f}}, torch::requires_grad());
  torch::Tensor t = torch::tensor({{3.0f, 2.0f, 1.0f}}, torch::requires_grad());
  distillation_loss(s, t, torch::tensor({0L}), {2.0, 0.5}).backward();
  EXPECT_TRUE(s.grad().defined());
  EXPECT_FALSE(t.grad().defined());
}

TEST(DistillOptions, BadValuesAreRefused) {
  EXPECT_THROW(validate({0.0, 0.5}), Error);
  EXPECT_THROW(validate({2.0, 1.5}), Error);
  try {
    validate({2.0, -0.1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "cannot distill (--alpha=-0.100000): must be between 0 and 1");
  }
}

}  // namespace
}  // namespace greenai::compress
