// Knobs on fake sysfs trees: set, read, restored on return, on error and on SIGTERM.
#include "greenai/tune/knobs.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "greenai/error.h"

namespace greenai::tune {
namespace {

namespace fs = std::filesystem;

void put(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text << "\n";
}

std::string get(const fs::path& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  std::string text = s.str();
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

// A powercap tree: two packages at 150 W (maximum 200 W) and a subzone of package 0.
class FakeSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("greenai_knobs_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    for (const char* package : {"intel-rapl:0", "intel-rapl:1"}) {
      put(root_ / "powercap" / package / "constraint_0_power_limit_uw", "150000000");
      put(root_ / "powercap" / package / "constraint_0_max_power_uw", "200000000");
    }
    put(root_ / "powercap/intel-rapl:0:0/constraint_0_power_limit_uw", "20000000");
    for (const char* cpu : {"cpu0", "cpu1"}) {
      put(root_ / "cpu" / cpu / "cpufreq/scaling_max_freq", "3000000");
      put(root_ / "cpu" / cpu / "cpufreq/cpuinfo_min_freq", "1000000");
      put(root_ / "cpu" / cpu / "cpufreq/cpuinfo_max_freq", "3500000");
    }
    fs::create_directories(root_ / "cpu/cpuidle");
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string cap(const char* domain) const {
    return get(root_ / "powercap" / domain / "constraint_0_power_limit_uw");
  }
  fs::path root_;
};

TEST_F(FakeSysfs, PowerCapSetsEveryPackageAndIsRestoredOnReturn) {
  {
    KnobRestorer restorer;
    PowerCapKnob knob((root_ / "powercap").string(), restorer);
    EXPECT_EQ(knob.read(), "150 W");
    knob.set(80);
    EXPECT_EQ(cap("intel-rapl:0"), "80000000");
    EXPECT_EQ(cap("intel-rapl:1"), "80000000");
    EXPECT_EQ(cap("intel-rapl:0:0"), "20000000");  // a subzone is not a package
    EXPECT_EQ(knob.read(), "80 W");
    knob.set(90);  // the first value is the one kept
    EXPECT_EQ(restorer.pending(), 2u);
    try {
      knob.set(250);
      ADD_FAILURE() << "above the maximum";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()),
                "cannot set the power cap (watts=250.000000): above the package's maximum of "
                "200.000000 W");
    }
  }
  EXPECT_EQ(cap("intel-rapl:0"), "150000000");
  EXPECT_EQ(cap("intel-rapl:1"), "150000000");
}

TEST_F(FakeSysfs, CpuFrequencyStaysInsideTheCpusRangeAndIsRestored) {
  {
    KnobRestorer restorer;
    CpuFreqKnob knob((root_ / "cpu").string(), restorer);
    knob.set(2000000);
    EXPECT_EQ(get(root_ / "cpu/cpu1/cpufreq/scaling_max_freq"), "2000000");
    EXPECT_EQ(knob.read(), "2e+06 kHz");
    EXPECT_THROW(knob.set(500000), Error);
    EXPECT_EQ(restorer.restore_all(), std::vector<std::string>{});
    EXPECT_EQ(get(root_ / "cpu/cpu0/cpufreq/scaling_max_freq"), "3000000");
    knob.set(2500000);
  }
  EXPECT_EQ(get(root_ / "cpu/cpu0/cpufreq/scaling_max_freq"), "3000000");
}

TEST_F(FakeSysfs, MissingOrUnwritableSettingsSayWhatToDo) {
  KnobRestorer restorer;
  try {
    PowerCapKnob knob((root_ / "nothing").string(), restorer);
    ADD_FAILURE() << "no RAPL";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot use the power-cap knob (powercap root=" + (root_ / "nothing").string() +
                  "): no RAPL package domain with "
                  "constraint_0_power_limit_uw");
    EXPECT_EQ(e.hint(),
              "this machine has no RAPL, or the intel_rapl (powercap) driver is not loaded");
  }
  try {
    restorer.write((root_ / "absent").string(), "1");
    ADD_FAILURE() << "no such file";
  } catch (const Error& e) {
    EXPECT_EQ(e.hint(), "this machine does not have that setting");
  }
  // A file that cannot be written (a directory here: root may write any file): refused, and
  // nothing is left to restore.
  fs::create_directories(root_ / "locked");
  EXPECT_THROW(restorer.write((root_ / "locked").string(), "1"), Error);
  EXPECT_EQ(restorer.pending(), 0u);
  EXPECT_THROW(KnobRestorer(), Error);  // one restorer at a time
}

TEST_F(FakeSysfs, ASignalMidwayRestoresBeforeTheProcessEnds) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    KnobRestorer restorer;
    PowerCapKnob knob((root_ / "powercap").string(), restorer);
    knob.set(60);
    ::raise(SIGTERM);
    ::_exit(0);  // not reached: SIGTERM ends the process after the restore
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_EQ(cap("intel-rapl:0"), "150000000");
  EXPECT_EQ(cap("intel-rapl:1"), "150000000");
}

}  // namespace
}  // namespace greenai::tune

namespace greenai::tune {
namespace {

// The fake libnvidia-ml.so.1 (tests/meter/fake_nvml.c), reached through the same dlopen handle
// the knob uses.
class FakeNvmlLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    handle_ = ::dlopen(GREENAI_FAKE_NVML, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr);
    reinterpret_cast<void (*)(unsigned, int, int)>(::dlsym(handle_, "fake_nvml_configure"))(2, 1,
                                                                                            0);
    configure_limits_ = reinterpret_cast<void (*)(unsigned, unsigned, unsigned, int)>(
        ::dlsym(handle_, "fake_nvml_configure_limits"));
    limit_mw_ = reinterpret_cast<unsigned (*)(unsigned)>(::dlsym(handle_, "fake_nvml_limit_mw"));
    configure_limits_(100000, 300000, 250000, 0);
  }
  void TearDown() override { ::dlclose(handle_); }
  void* handle_ = nullptr;
  void (*configure_limits_)(unsigned, unsigned, unsigned, int) = nullptr;
  unsigned (*limit_mw_)(unsigned) = nullptr;
};

TEST_F(FakeNvmlLimits, SetsEveryGpuWithinItsRangeAndPutsItBack) {
  {
    KnobRestorer restorer;
    GpuPowerLimitKnob knob(GREENAI_FAKE_NVML, restorer);
    EXPECT_EQ(knob.read(), "250 W");
    // Zeus's profile: the maximum down to the minimum in 25 W steps.
    EXPECT_EQ(knob.profile_values(),
              (std::vector<double>{300, 275, 250, 225, 200, 175, 150, 125, 100}));
    knob.set(175);
    EXPECT_EQ(limit_mw_(0), 175000u);
    EXPECT_EQ(limit_mw_(1), 175000u);
    EXPECT_EQ(restorer.pending(), 1u);
    try {
      knob.set(350);
      ADD_FAILURE();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("outside GPU 0's range 100 to 300 W"),
                std::string::npos);
    }
  }
  EXPECT_EQ(limit_mw_(0), 250000u);  // put back when the restorer went
  EXPECT_EQ(limit_mw_(1), 250000u);
}

TEST_F(FakeNvmlLimits, WithoutRootTheFixIsSaid) {
  configure_limits_(100000, 300000, 250000, /*needs_root=*/1);
  KnobRestorer restorer;
  GpuPowerLimitKnob knob(GREENAI_FAKE_NVML, restorer);
  try {
    knob.set(200);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Insufficient Permissions"), std::string::npos);
    EXPECT_NE(e.hint().find("needs root"), std::string::npos);
  }
  EXPECT_EQ(limit_mw_(0), 250000u);
}

TEST(GpuPowerLimitKnob, NoNvmlIsAnErrorWithTheFix) {
  KnobRestorer restorer;
  try {
    GpuPowerLimitKnob knob("/nonexistent/libnvidia-ml.so.1", restorer);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("NVML cannot be loaded"), std::string::npos);
    EXPECT_EQ(e.hint(), "this machine has no NVIDIA driver");
  }
}

}  // namespace
}  // namespace greenai::tune
