#include "greenai/rl/dqn.h"

#include <gtest/gtest.h>

#include "greenai/error.h"
#include "support/errors.h"
#include "support/temp_dir.h"

namespace greenai::rl {
namespace {

// A pole left alone, or pushed at random, falls within some 20 steps; a few thousand steps of
// DQN must do far better.
constexpr double kRandomPolicySteps = 22;

DqnOptions short_run(nn::Precision precision) {
  DqnOptions o;
  o.hidden = {64};
  o.steps = 6000;
  o.learning_rate = 1e-3;
  o.learning_starts = 500;
  o.target_update_every = 200;
  o.validate_every = 1000;
  o.precision = precision;
  o.seed = 2;
  return o;
}

TEST(Dqn, LearnsToBalanceInAFewThousandSteps) {
  const CartPoleConfig config = CartPole::config_for("cartpole", 0);
  DqnReport report;
  auto agent = train_dqn(config, short_run(nn::Precision::kFp32), &report);
  EXPECT_EQ(report.steps, 6000);
  EXPECT_EQ(report.updates, 5500);
  EXPECT_EQ(report.curve.size(), 6u);
  const EvalReport e = evaluate_policy(*agent, config, 20, kEvaluationSeed);
  EXPECT_GT(e.mean_steps, 4 * kRandomPolicySteps);
}

TEST(Dqn, TrainsInBf16AndSavesAndLoads) {
  const CartPoleConfig config = CartPole::config_for("cartpole-energy", 1);
  DqnOptions o = short_run(nn::Precision::kBf16);
  o.steps = 1500;
  auto agent = train_dqn(config, o);
  EXPECT_EQ(agent->actions(), 3);
  testing::TempDir dir;
  const std::string path = dir.file("agent.pt");
  AgentContext context;
  context.env = "cartpole-energy";
  context.energy_penalty = 1;
  agent->save(path, context);
  const LoadedAgent loaded = load_agent(path, DqnAgent::load_agent);
  EXPECT_EQ(loaded.agent->kind(), "dqn");
  EXPECT_EQ(loaded.context.env, "cartpole-energy");
  EXPECT_EQ(loaded.config.energy_penalty, 1);
  const Agent* back = loaded.agent.get();
  CartPole env(config);
  State s = env.reset(4);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(back->act(s), agent->act(s));
    const StepResult r = env.step(agent->act(s));
    if (r.terminated) break;
    s = r.state;
  }
  const std::string junk = dir.write("junk.pt", "not an archive");
  EXPECT_NE(testing::error_of([&] { DqnAgent::load(junk); }).find("not a LibTorch archive"),
            std::string::npos);
}

TEST(Dqn, RefusesWhatCannotRunHere) {
  const CartPoleConfig config = CartPole::config_for("cartpole", 0);
  DqnOptions bad = short_run(nn::Precision::kFp32);
  bad.learning_starts = 10;  // fewer than a batch
  EXPECT_NE(testing::error_of([&] { train_dqn(config, bad); }).find("cannot train DQN"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] { train_dqn(config, short_run(nn::Precision::kFp16)); }),
            "no error");
}

}  // namespace
}  // namespace greenai::rl
