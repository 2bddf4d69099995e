// The just-in-time profiler against a simulated job whose time and power per step depend on the
// knob's value, worked out by hand.
#include "greenai/tune/jit_profiler.h"

#include <gtest/gtest.h>

#include <map>

#include "greenai/error.h"

namespace greenai::tune {
namespace {

// A job whose step takes `seconds` at `watts` for each knob value; it reports each step's end.
struct SimulatedJob {
  std::map<double, std::pair<double, double>> per_value;  // value -> (s per step, W)
  double value = 0, t = 0, e = 0;
  std::vector<double> set_calls;
  void run(JitProfiler& p, int steps) {
    value = p.initial_value();
    for (int i = 0; i < steps; ++i) {
      const auto [s, w] = per_value.at(value);
      t += s;
      e += s * w;
      if (auto v = p.on_step(t, e)) {
        value = *v;
        set_calls.push_back(*v);
      }
    }
  }
};

// Power caps 100, 80, 60 W: 0.1 s at 100 W (10 J a step), 0.11 s at 80 W (8.8 J),
// 0.15 s at 60 W (9 J). Zeus's cost at eta 0.5 with a 100 W maximum:
// 100: 0.5 x 10 + 0.5 x 100 x 0.1 = 10; 80: 4.4 + 5.5 = 9.9; 60: 4.5 + 7.5 = 12.
SimulatedJob caps() { return {{{100, {0.1, 100}}, {80, {0.11, 80}}, {60, {0.15, 60}}}}; }

TEST(JitProfiler, WarmsUpProfilesEachValueThenHoldsTheCheapest) {
  JitProfiler p({.values = {100, 80, 60},
                 .warmup_steps = 5,
                 .settle_steps = 1,
                 .steps_per_value = 4,
                 .eta = 0.5});
  SimulatedJob job = caps();
  job.run(p, 5);
  EXPECT_EQ(p.phase(), JitProfiler::Phase::kProfiling);
  job.run(p, 3 * (1 + 4));
  EXPECT_EQ(p.phase(), JitProfiler::Phase::kHolding);
  EXPECT_EQ(job.set_calls, (std::vector<double>{80, 60, 80}));  // each value, then the choice
  ASSERT_EQ(p.profile().size(), 3u);
  EXPECT_EQ(p.profile()[1].steps, 4);
  EXPECT_NEAR(p.profile()[1].time_per_step_s(), 0.11, 1e-12);
  EXPECT_NEAR(p.profile()[1].energy_per_step_j(), 8.8, 1e-9);
  EXPECT_NEAR(p.profile()[2].average_power_w(), 60, 1e-9);
  EXPECT_NEAR(p.cost_per_step(p.profile()[0]), 10, 1e-9);
  EXPECT_NEAR(p.cost_per_step(p.profile()[1]), 9.9, 1e-9);
  EXPECT_NEAR(p.cost_per_step(p.profile()[2]), 12, 1e-9);
  EXPECT_EQ(p.chosen(), 80);
  EXPECT_EQ(p.profiling_steps(), 15);
  job.run(p, 100);  // holding: no more changes
  EXPECT_EQ(job.set_calls.size(), 3u);
  EXPECT_EQ(p.steps(), 120);
}

TEST(JitProfiler, EtaOneIsEnergyAloneAndASlowdownBoundCapsIt) {
  SimulatedJob job = caps();
  JitProfiler energy({.values = {100, 80, 60}, .warmup_steps = 1, .steps_per_value = 3, .eta = 1});
  job.run(energy, 40);
  EXPECT_EQ(energy.chosen(), 80);  // 8.8 J beats 9 and 10
  // 60 W is 1.5x slower: out of a 1.2 bound; 80 W (1.1x) within it.
  SimulatedJob job2 = caps();
  JitProfiler bounded(
      {.values = {100, 80, 60}, .warmup_steps = 1, .steps_per_value = 3, .max_slowdown = 1.2});
  job2.run(bounded, 40);
  EXPECT_EQ(bounded.chosen(), 80);
  SimulatedJob job3 = caps();
  JitProfiler tight(
      {.values = {100, 80, 60}, .warmup_steps = 1, .steps_per_value = 3, .max_slowdown = 1.05});
  job3.run(tight, 40);
  EXPECT_EQ(tight.chosen(), 100);         // nothing cheaper is fast enough
  EXPECT_EQ(job3.set_calls.back(), 100);  // set back from 60 to the baseline
}

TEST(JitProfiler, ACachedChoiceIsHeldFromTheStart) {
  JitProfiler p = JitProfiler::holding(80);
  SimulatedJob job = caps();
  job.run(p, 10);
  EXPECT_TRUE(job.set_calls.empty());
  EXPECT_EQ(p.initial_value(), 80);
  EXPECT_EQ(p.phase(), JitProfiler::Phase::kHolding);
  EXPECT_EQ(p.profiling_steps(), 0);
}

TEST(JitProfiler, AJobShorterThanTheProfileNeverChooses) {
  JitProfiler p({.values = {100, 80}, .warmup_steps = 5, .steps_per_value = 10});
  SimulatedJob job = caps();
  job.run(p, 12);
  EXPECT_EQ(p.phase(), JitProfiler::Phase::kProfiling);
  EXPECT_FALSE(p.chosen().has_value());
}

TEST(JitProfiler, BadOptionsAreRefused) {
  EXPECT_THROW(JitProfiler(JitProfileOptions{}), Error);
  EXPECT_THROW(JitProfiler({.values = {1}, .steps_per_value = 0}), Error);
  EXPECT_THROW(JitProfiler({.values = {1}, .eta = 2}), Error);
  EXPECT_THROW(JitProfiler({.values = {1}, .max_slowdown = 0.5}), Error);
  try {
    JitProfiler({.values = {1}, .warmup_steps = 0, .settle_steps = 0});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("give a warm-up or settle step"), std::string::npos);
  }
}

}  // namespace
}  // namespace greenai::tune
