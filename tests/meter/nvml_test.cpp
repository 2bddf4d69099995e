#include "greenai/meter/nvml.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cmath>

namespace greenai::meter {
namespace {

using namespace std::chrono_literals;

// Controls of the fake library, reached through the same dlopen handle the sensor uses.
class FakeNvml {
 public:
  FakeNvml() : handle_(::dlopen(GREENAI_FAKE_NVML, RTLD_NOW | RTLD_LOCAL)) {
    configure =
        reinterpret_cast<void (*)(unsigned, int, int)>(::dlsym(handle_, "fake_nvml_configure"));
    set_energy_mj = reinterpret_cast<void (*)(unsigned, unsigned long long)>(
        ::dlsym(handle_, "fake_nvml_set_energy_mj"));
    set_power_mw =
        reinterpret_cast<void (*)(unsigned, unsigned)>(::dlsym(handle_, "fake_nvml_set_power_mw"));
    initialised = reinterpret_cast<int (*)()>(::dlsym(handle_, "fake_nvml_initialised"));
  }
  ~FakeNvml() { ::dlclose(handle_); }
  void* handle_;
  void (*configure)(unsigned, int, int);
  void (*set_energy_mj)(unsigned, unsigned long long);
  void (*set_power_mw)(unsigned, unsigned);
  int (*initialised)();
};

TEST(NvmlSensor, MissingLibraryIsANormalCase) {
  NvmlSensor sensor("/nonexistent/libnvidia-ml.so.1");
  EXPECT_TRUE(sensor.channels().empty());
  EXPECT_NE(sensor.status().find("cannot load /nonexistent/libnvidia-ml.so.1"), std::string::npos);
}

TEST(NvmlSensor, DefaultLibraryFollowsTheEnvironment) {
  ::setenv("GREENAI_NVML_LIBRARY", GREENAI_FAKE_NVML, 1);
  EXPECT_EQ(default_nvml_library(), GREENAI_FAKE_NVML);
  ::unsetenv("GREENAI_NVML_LIBRARY");
  EXPECT_EQ(default_nvml_library(), "libnvidia-ml.so.1");
}

TEST(NvmlSensor, EnergyCounterModePerGpu) {
  FakeNvml fake;
  ASSERT_NE(fake.handle_, nullptr);
  fake.configure(2, /*has_energy_counter=*/1, /*fail_init=*/0);
  fake.set_energy_mj(0, 1000);
  fake.set_energy_mj(1, 50);
  {
    NvmlSensor sensor(GREENAI_FAKE_NVML);
    ASSERT_EQ(sensor.channels().size(), 2u) << sensor.status();
    EXPECT_EQ(sensor.channels()[0].name, "gpu0 Fake GPU 0");
    EXPECT_EQ(sensor.channels()[1].component, Component::kGpu);
    EXPECT_EQ(sensor.mode(0), GpuEnergyMode::kEnergyCounter);
    EXPECT_TRUE(std::isinf(sensor.max_poll_interval_s()));
    fake.set_energy_mj(0, 3500);          // +2.5 J
    fake.set_energy_mj(1, 50 + 120'000);  // +120 J
    std::vector<uint64_t> uj(2);
    sensor.sample(Clock::now(), uj);
    EXPECT_EQ(uj[0], 2'500'000u);
    EXPECT_EQ(uj[1], 120'000'000u);
    EXPECT_EQ(fake.initialised(), 1);
  }
  EXPECT_EQ(fake.initialised(), 0) << "the sensor must shut NVML down";
}

TEST(NvmlSensor, PowerIntegrationModeUsesTheTrapezoidRule) {
  FakeNvml fake;
  fake.configure(1, /*has_energy_counter=*/0, 0);
  fake.set_power_mw(0, 150'000);
  NvmlSensor sensor(GREENAI_FAKE_NVML);
  ASSERT_EQ(sensor.channels().size(), 1u);
  EXPECT_EQ(sensor.mode(0), GpuEnergyMode::kPowerIntegration);
  EXPECT_DOUBLE_EQ(sensor.max_poll_interval_s(), NvmlSensor::kPowerSamplingIntervalS);
  std::vector<uint64_t> uj(1);
  Clock::time_point t0{};
  sensor.sample(t0, uj);
  EXPECT_EQ(uj[0], 0u);
  fake.set_power_mw(0, 250'000);
  sensor.sample(t0 + 2s, uj);  // (150 W + 250 W) / 2 x 2 s = 400 J
  EXPECT_EQ(uj[0], 400'000'000u);
  sensor.sample(t0 + 2500ms, uj);  // 250 W x 0.5 s = 125 J more
  EXPECT_EQ(uj[0], 525'000'000u);
}

TEST(NvmlSensor, InitFailureIsReported) {
  FakeNvml fake;
  fake.configure(1, 1, /*fail_init=*/1);
  NvmlSensor sensor(GREENAI_FAKE_NVML);
  EXPECT_TRUE(sensor.channels().empty());
  EXPECT_EQ(sensor.status(), "nvmlInit failed: Driver Not Loaded");
}

TEST(NvmlSensor, NoGpuIsReported) {
  FakeNvml fake;
  fake.configure(0, 1, 0);
  NvmlSensor sensor(GREENAI_FAKE_NVML);
  EXPECT_TRUE(sensor.channels().empty());
  EXPECT_NE(sensor.status().find("no GPU"), std::string::npos);
}

}  // namespace
}  // namespace greenai::meter
