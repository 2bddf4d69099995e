#include "greenai/rl/cartpole.h"

#include <gtest/gtest.h>

#include <cmath>

#include "greenai/error.h"
#include "greenai/rl/agent.h"
#include "support/errors.h"

namespace greenai::rl {
namespace {

// Exact terms of one Euler step: double rounding only.
constexpr double kStepTolerance = 1e-12;
// The hand-worked values below carry 12 significant digits.
constexpr double kHandTolerance = 1e-11;

// From x = 0, v = 0, theta = 0.1 rad, omega = 0, pushing right with 10 N (worked term by
// term to 12 digits):
//   sin = 0.0998334166468, cos = 0.995004165278, temp = 10 / 1.1 = 9.09090909091
//   theta_acc = (9.8 sin - cos temp) / (0.5 (4/3 - 0.1 cos^2 / 1.1))
//             = (0.978367483139 - 9.04549241162) / 0.621665153573 = -12.976640049
//   x_acc = temp - 0.05 theta_acc cos / 1.1 = 9.677809586
// then Euler: x' = x + tau v = 0, v' = tau x_acc, theta' = 0.1, omega' = tau theta_acc.
TEST(CartPole, OneStepByHand) {
  const State next = CartPole::dynamics({0, 0, 0.1, 0}, 10);
  EXPECT_NEAR(next[0], 0, kStepTolerance);
  EXPECT_NEAR(next[1], 0.193556191727, kHandTolerance);
  EXPECT_NEAR(next[2], 0.1, kStepTolerance);
  EXPECT_NEAR(next[3], -0.259532800982, kHandTolerance);
  // Without force an upright, still pole stays put.
  EXPECT_EQ(CartPole::dynamics({0, 0, 0, 0}, 0), (State{0, 0, 0, 0}));
}

TEST(CartPole, ResetIsSeededAndWithinBounds) {
  CartPole a, b;
  EXPECT_EQ(a.reset(7), b.reset(7));
  EXPECT_NE(a.reset(7), a.reset(8));
  for (uint64_t seed = 0; seed < 1000; ++seed)
    for (double v : a.reset(seed)) {
      EXPECT_GE(v, -CartPole::kResetBound);
      EXPECT_LT(v, CartPole::kResetBound);
    }
}

TEST(CartPole, TerminatesAtTwelveDegreesAndTruncatesAt500) {
  CartPole env;
  env.reset(1);
  int steps = 0;
  StepResult r;
  do {
    r = env.step(CartPole::kPushRight);  // always right: the pole falls left within a second
    ++steps;
    EXPECT_EQ(r.reward, 1);
  } while (!r.terminated && !r.truncated);
  EXPECT_TRUE(r.terminated);
  EXPECT_LT(steps, 50);
  EXPECT_TRUE(std::abs(r.state[2]) > CartPole::kThetaLimit || std::abs(r.state[0]) > 2.4);
  EXPECT_NE(testing::error_of([&] { env.step(0); }).find("the episode has ended"),
            std::string::npos);

  // A hand-made balancer (push against the pole's lean and swing) reaches the time limit.
  CartPole limit({.max_steps = 500});
  State s = limit.reset(3);
  for (;;) {
    r = limit.step(s[2] + 0.5 * s[3] > 0 ? CartPole::kPushRight : CartPole::kPushLeft);
    s = r.state;
    if (r.terminated || r.truncated) break;
  }
  EXPECT_TRUE(r.truncated);
  EXPECT_FALSE(r.terminated);
  EXPECT_EQ(limit.steps(), 500);
}

TEST(CartPole, EnergyVariantChargesMechanicalWork) {
  CartPole env({.coast_action = true, .energy_penalty = 2});
  EXPECT_EQ(env.num_actions(), 3);
  env.reset(5);
  const double v = env.state()[1];
  StepResult r = env.step(CartPole::kPushLeft);
  EXPECT_DOUBLE_EQ(r.work_j, std::abs(-10 * v) * 0.02);
  EXPECT_DOUBLE_EQ(r.reward, 1 - 2 * r.work_j);
  const State before = r.state;
  r = env.step(CartPole::kCoast);
  EXPECT_EQ(r.work_j, 0);
  EXPECT_EQ(r.reward, 1);
  EXPECT_EQ(r.state, CartPole::dynamics(before, 0));
  CartPole two;
  two.reset(1);
  EXPECT_NE(testing::error_of([&] { two.step(2); }).find("the environment has 2 actions"),
            std::string::npos);
  EXPECT_NE(
      testing::error_of([] { CartPole::config_for("mountaincar", 0); }).find("unknown environment"),
      std::string::npos);
  EXPECT_NE(testing::error_of([] {
              CartPole c({.energy_penalty = -1});
            }).find("the energy penalty must be zero or positive"),
            std::string::npos);
}

// A fixed policy for the evaluator: always coast.
class Coaster final : public Policy {
 public:
  int act(const State&) const override { return CartPole::kCoast; }
};

TEST(EvaluatePolicy, CountsStepsWorkAndCoasting) {
  const EvalReport r = evaluate_policy(Coaster(), {.coast_action = true}, 10, 1);
  EXPECT_EQ(r.episodes, 10);
  EXPECT_EQ(r.work_per_step_j, 0);
  EXPECT_EQ(r.coast_fraction, 1);
  EXPECT_EQ(r.mean_return, r.mean_steps);  // no penalty, +1 per step
  EXPECT_LT(r.mean_steps, 500);            // an unattended pole falls
  EXPECT_EQ(r.balanced_fraction, 0);
  EXPECT_NE(episode_seed(1, 0), episode_seed(1, 1));
  EXPECT_NE(episode_seed(1, 0), episode_seed(2, 0));
}

}  // namespace
}  // namespace greenai::rl
