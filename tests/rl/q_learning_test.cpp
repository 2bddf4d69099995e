#include "greenai/rl/q_learning.h"

#include <gtest/gtest.h>

#include <random>

#include "greenai/error.h"
#include "support/errors.h"

namespace greenai::rl {
namespace {

TEST(Discretiser, BinsClipAndIndexRowMajor) {
  Discretiser d{.bins = {1, 1, 4, 2}, .limits = {2.4, 3, 0.2, 1}};
  EXPECT_EQ(d.states(), 8u);
  EXPECT_EQ(d.index({0, 0, -0.2, -1}), 0u);
  EXPECT_EQ(d.index({0, 0, -0.2, 0.5}), 1u);
  EXPECT_EQ(d.index({0, 0, 0.05, -1}), 4u);  // theta bin 2 of 4
  EXPECT_EQ(d.index({9, -9, 5, 5}), 7u);     // clipped to the last bins
}

// Q-learning on CartPole-v1 solves it: mean return >= 475 over 100 evaluation episodes.
TEST(QLearning, SolvesCartPole) {
  const CartPoleConfig config = CartPole::config_for("cartpole", 0);
  TrainReport report;
  const QTable q = train_q_learning(config, {.episodes = 3000, .seed = 0}, &report);
  EXPECT_EQ(report.episodes, 3000);
  EXPECT_EQ(report.curve.size(), 15u);
  const EvalReport e = evaluate_policy(q, config, 100, kEvaluationSeed);
  EXPECT_GE(e.mean_return, kSolvedReturn);
}

// With a penalty on work, the agent balances as long with far less work per step than one
// trained without it on the same three-action environment.
TEST(QLearning, EnergyPenaltyCutsWork) {
  const QLearningOptions o{.episodes = 3000, .seed = 0};
  const CartPoleConfig free = CartPole::config_for("cartpole-energy", 0);
  const CartPoleConfig penalised = CartPole::config_for("cartpole-energy", 2);
  const EvalReport a = evaluate_policy(train_q_learning(free, o), free, 50, kEvaluationSeed);
  const EvalReport b =
      evaluate_policy(train_q_learning(penalised, o), penalised, 50, kEvaluationSeed);
  EXPECT_GE(b.mean_steps, 0.95 * a.mean_steps);
  EXPECT_LT(b.work_per_step_j, 0.7 * a.work_per_step_j);
}

TEST(QTable, JsonRoundTripAndMalformedFiles) {
  QTable q({.bins = {1, 2, 3, 1}}, 3);
  q.at(4, 2) = 1.5;
  const QTable back = QTable::from_json(util::Json::parse(q.to_json().dump()), "q.json");
  EXPECT_EQ(back.values(), q.values());
  EXPECT_EQ(back.discretiser().bins, q.discretiser().bins);
  EXPECT_EQ(back.act({0, 0, 0, 0}), q.act({0, 0, 0, 0}));
  auto error = [](const std::string& text) {
    return testing::error_of([&] { QTable::from_json(util::Json::parse(text), "q.json"); });
  };
  const std::string a = "cannot read Q-table (path=q.json): ";
  EXPECT_EQ(error("{}"), a + "not a greenai Q-table");
  EXPECT_EQ(error(R"({"format":"greenai-q-table-1","bins":[1,2],"limits":[1,1,1,1]})"),
            a + "bins and limits must list four numbers");
  EXPECT_EQ(error(R"({"format":"greenai-q-table-1","bins":[1,2,0,1],"limits":[1,1,1,1]})"),
            a + "bins[2] must be a whole number of 1 to 1000");
  EXPECT_EQ(error(R"({"format":"greenai-q-table-1","bins":[1,1,1,1],"limits":[1,1,1,1],
                      "actions":4})"),
            a + "actions must be 2 or 3");
  EXPECT_EQ(error(R"({"format":"greenai-q-table-1","bins":[1,1,1,2],"limits":[1,1,1,1],
                      "actions":2,"q":[0,0,0]})"),
            a + "q must hold 4 values (states x actions)");
  EXPECT_EQ(error(R"({"format":"greenai-q-table-1","bins":[1,1,1,1],"limits":[1,1,1,"x"],
                      "actions":2,"q":[0,0]})"),
            a + "limits[3] is missing or not a number");
}

// Property: mutated table files load or fail with greenai::Error, never crash.
TEST(QTable, MutatedFilesLoadOrFailCleanly) {
  QTable q({.bins = {1, 1, 2, 2}}, 2);
  const std::string good = q.to_json().dump();
  std::mt19937 rng(17);
  const std::string alphabet = "0123456789.-e,[]{}\":x ";
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text = good;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k)
      text[rng() % text.size()] = alphabet[rng() % alphabet.size()];
    try {
      const QTable t = QTable::from_json(util::Json::parse(text), "fuzz");
      EXPECT_EQ(t.values().size(), t.discretiser().states() * static_cast<size_t>(t.actions()));
      t.act({0, 0, 0, 0});
    } catch (const Error&) {
    }
  }
}

TEST(QLearning, RefusesBadOptions) {
  EXPECT_NE(testing::error_of([] {
              train_q_learning(CartPole::config_for("cartpole", 0), {.episodes = 0});
            }).find("episodes and validation counts must be positive"),
            std::string::npos);
  EXPECT_NE(testing::error_of([] {
              QTable({.bins = {0, 1, 1, 1}}, 2);
            }).find("every variable needs 1 to 1000 bins"),
            std::string::npos);
}

}  // namespace
}  // namespace greenai::rl
