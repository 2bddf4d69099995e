// greenai tune --knob ... -- CMD, in the library: a stand-in job (step_child.c) reports its steps
// through the C API's greenai_step(); the threads knob reaches it as greenai_step()'s answer, the
// power cap as a file it can read; the choice is cached and held on the next run; the files are
// put back at the end, also when the job is killed mid-profile.
#include "greenai/tune/command_tuner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "greenai/error.h"
#include "greenai/meter/estimator.h"
#include "greenai/meter/sensors.h"

namespace greenai::tune {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<std::string> lines(const fs::path& p) {
  std::vector<std::string> out;
  std::istringstream in(read_text(p));
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

class CommandTuner : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("greenai_command_tuner_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "powercap/intel-rapl:0");
    std::ofstream(dir_ / "powercap/intel-rapl:0/constraint_0_power_limit_uw") << "100000000\n";
    std::ofstream(dir_ / "powercap/intel-rapl:0/constraint_0_max_power_uw") << "200000000\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A tracker of this process's descendants on the estimator alone (no counters here).
  CommandTuneResult run(CommandTuneRequest r) {
    meter::SensorOptions sensors;
    sensors.powercap_root = "/nonexistent";
    sensors.nvml_library = "/nonexistent/libnvidia-ml.so.1";
    auto usage = std::make_unique<meter::DescendantsUsage>(::getpid());
    meter::DescendantsUsage* tree = usage.get();
    track::TrackerOptions options;
    options.background_sampler = false;
    track::Tracker tracker(meter::open_sensors(sensors), std::move(usage), options);
    return tune_command(r, tracker, *tree);
  }
  CommandTuneRequest request(const std::string& knob, int steps) {
    CommandTuneRequest r;
    r.argv = {STEP_CHILD, std::to_string(steps), "2", (dir_ / "steps.txt").string(),
              (dir_ / "powercap/intel-rapl:0/constraint_0_power_limit_uw").string()};
    r.knob = knob;
    r.profile.warmup_steps = 3;
    r.profile.settle_steps = 1;
    r.profile.steps_per_value = 4;
    r.powercap_root = (dir_ / "powercap").string();
    r.logical_cpus = 4;
    r.cpu_identity = "test cpu";
    return r;
  }
  fs::path dir_;
};

TEST_F(CommandTuner, ThreadsReachTheJobThroughGreenaiStep) {
  CommandTuneRequest r = request("threads", 40);
  const CommandTuneResult result = run(r);
  EXPECT_EQ(result.exit_status, 0);
  EXPECT_EQ(result.steps, 40);
  ASSERT_EQ(result.profile.size(), 4u);  // 4, 3, 2, 1 threads
  EXPECT_EQ(result.profile[0].value, 4);
  EXPECT_EQ(result.profile[3].value, 1);
  EXPECT_EQ(result.profiling_steps, 4 * (1 + 4));
  ASSERT_TRUE(result.chosen.has_value());
  // What the job saw: 4 threads through warm-up (greenai_step() answers after the first step's
  // advice arrives), then 3, 2, 1 in turn, then the choice.
  const std::vector<std::string> seen = lines(dir_ / "steps.txt");
  ASSERT_EQ(seen.size(), 40u);
  EXPECT_EQ(seen[0].substr(0, 2), "4 ");
  bool saw_one = false;
  for (const std::string& l : seen) saw_one = saw_one || l.rfind("1 ", 0) == 0;
  EXPECT_TRUE(saw_one);
  EXPECT_EQ(std::stoi(seen.back()), static_cast<int>(*result.chosen));
  EXPECT_GT(result.energy_j, 0);
  EXPECT_TRUE(result.cache_file.empty());  // no cache asked for
}

TEST_F(CommandTuner, PowerCapIsSetDuringTheRunAndPutBackAfter) {
  CommandTuneRequest r = request("power-cap", 30);
  r.values = {100, 80, 60};
  const CommandTuneResult result = run(r);
  EXPECT_EQ(result.exit_status, 0);
  EXPECT_TRUE(result.restore_failures.empty());
  bool saw_80 = false, saw_60 = false;
  for (const std::string& l : lines(dir_ / "steps.txt")) {
    saw_80 = saw_80 || l.find(" 80000000") != std::string::npos;
    saw_60 = saw_60 || l.find(" 60000000") != std::string::npos;
  }
  EXPECT_TRUE(saw_80);
  EXPECT_TRUE(saw_60);
  EXPECT_EQ(read_text(dir_ / "powercap/intel-rapl:0/constraint_0_power_limit_uw"), "100000000");
}

TEST_F(CommandTuner, TheChoiceIsCachedAndHeldFromTheStartNextTime) {
  CommandTuneRequest r = request("threads", 30);
  r.cache_dir = (dir_ / "cache").string();
  const CommandTuneResult first = run(r);
  ASSERT_TRUE(first.chosen.has_value());
  EXPECT_FALSE(first.from_cache);
  EXPECT_TRUE(fs::exists(first.cache_file));
  const CommandTuneResult second = run(r);
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(second.chosen, first.chosen);
  EXPECT_EQ(second.profiling_steps, 0);
  for (const std::string& l : lines(dir_ / "steps.txt"))
    EXPECT_EQ(std::stoi(l), static_cast<int>(*first.chosen));
  // Another command is another key.
  CommandTuneRequest other = r;
  other.argv[1] = "31";
  EXPECT_NE(cache_file(other, {4, 3, 2, 1}), first.cache_file);
  // A damaged cache is profiled again, not trusted.
  std::ofstream(first.cache_file) << "{ not json";
  EXPECT_FALSE(run(r).from_cache);
}

TEST_F(CommandTuner, AKnobTheMachineLacksIsRefusedBeforeTheCommandRuns) {
  CommandTuneRequest r = request("power-cap", 5);
  r.powercap_root = (dir_ / "nothing").string();
  try {
    run(r);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no RAPL package domain"), std::string::npos);
    EXPECT_NE(e.hint().find("intel_rapl"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(dir_ / "steps.txt"));
  r.knob = "gpu-clock";
  EXPECT_THROW(run(r), Error);
  r.knob = "threads";
  r.argv[0] = "/nonexistent/job";
  EXPECT_THROW(run(r), Error);
}

TEST_F(CommandTuner, AJobKilledMidProfileLeavesTheCapPutBack) {
  // The job ends (SIGTERM to itself, as a user's ^C reaches it) during the profile.
  fs::path script = dir_ / "job.sh";
  std::ofstream(script) << "#!/bin/sh\n"
                        << STEP_CHILD << " 6 2 " << (dir_ / "steps.txt").string()
                        << "\nkill -TERM $$\n";
  fs::permissions(script, fs::perms::owner_all);
  CommandTuneRequest r = request("power-cap", 0);
  r.argv = {script.string()};
  r.values = {100, 80};
  r.profile.warmup_steps = 1;
  const CommandTuneResult result = run(r);
  EXPECT_EQ(result.exit_status, 128 + SIGTERM);
  EXPECT_FALSE(result.chosen.has_value());
  EXPECT_EQ(read_text(dir_ / "powercap/intel-rapl:0/constraint_0_power_limit_uw"), "100000000");
}

}  // namespace
}  // namespace greenai::tune
