#include "greenai/meter/rapl.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "greenai/meter/sensors.h"
#include "support/temp_dir.h"

namespace greenai::meter {
namespace {

using greenai::testing::TempDir;

// A fake powercap tree: <root>/intel-rapl:N[:M]/{name,energy_uj,max_energy_range_uj}.
class FakePowercap {
 public:
  void add(const std::string& entry, const std::string& name, uint64_t energy_uj,
           std::optional<uint64_t> max_range_uj = 262143328850ULL) {
    dir_.write(entry + "/name", name + "\n");
    set(entry, energy_uj);
    if (max_range_uj)
      dir_.write(entry + "/max_energy_range_uj", std::to_string(*max_range_uj) + "\n");
  }
  void set(const std::string& entry, uint64_t energy_uj) {
    dir_.write(entry + "/energy_uj", std::to_string(energy_uj) + "\n");
  }
  std::string energy_file(const std::string& entry) const {
    return dir_.file(entry + "/energy_uj");
  }
  const std::string& root() const { return dir_.path(); }

 private:
  TempDir dir_;
};

std::vector<uint64_t> sample(RaplSensor& sensor) {
  std::vector<uint64_t> uj(sensor.channels().size());
  sensor.sample(Clock::now(), uj);
  return uj;
}

TEST(UnwrapCounterDelta, ForwardAndAcrossTheWrap) {
  EXPECT_EQ(unwrap_counter_delta(100, 350, 1000), 250u);
  // 999000 -> wraps at 1000000 -> 500: 1000 uJ to the top, then 500.
  EXPECT_EQ(unwrap_counter_delta(999000, 500, 1000000), 1500u);
  EXPECT_EQ(unwrap_counter_delta(0, 0, 1000000), 0u);
}

TEST(RaplSensor, TwoSocketsCountPackagesAndDramOnly) {
  FakePowercap fake;
  fake.add("intel-rapl:0", "package-0", 1000);
  fake.add("intel-rapl:0:0", "core", 500);
  fake.add("intel-rapl:0:1", "uncore", 100);
  fake.add("intel-rapl:0:2", "dram", 2000);
  fake.add("intel-rapl:1", "package-1", 7000);
  fake.add("intel-rapl:1:0", "dram", 10);
  fake.add("intel-rapl:2", "psys", 0);
  RaplSensor sensor(fake.root());
  ASSERT_EQ(sensor.channels().size(), 7u);
  EXPECT_TRUE(sensor.problems().empty());

  std::map<std::string, std::pair<Component, bool>> seen;
  for (const Channel& c : sensor.channels()) seen[c.name] = {c.component, c.counted};
  EXPECT_EQ(seen.at("package-0"), std::make_pair(Component::kCpu, true));
  EXPECT_EQ(seen.at("package-1"), std::make_pair(Component::kCpu, true));
  EXPECT_EQ(seen.at("core-0"), std::make_pair(Component::kCpu, false));
  EXPECT_EQ(seen.at("uncore-0"), std::make_pair(Component::kCpu, false));
  EXPECT_EQ(seen.at("dram-0"), std::make_pair(Component::kRam, true));
  EXPECT_EQ(seen.at("dram-1"), std::make_pair(Component::kRam, true));
  EXPECT_EQ(seen.at("psys"), std::make_pair(Component::kCpu, false));

  fake.set("intel-rapl:0", 1000 + 3'000'000);
  fake.set("intel-rapl:1", 7000 + 1'500'000);
  fake.set("intel-rapl:0:2", 2000 + 250'000);
  auto uj = sample(sensor);
  for (size_t i = 0; i < uj.size(); ++i) {
    const std::string& name = sensor.channels()[i].name;
    if (name == "package-0") {
      EXPECT_EQ(uj[i], 3'000'000u);
    } else if (name == "package-1") {
      EXPECT_EQ(uj[i], 1'500'000u);
    } else if (name == "dram-0") {
      EXPECT_EQ(uj[i], 250'000u);
    } else if (name == "psys") {
      EXPECT_EQ(uj[i], 0u);
    }
  }
}

TEST(RaplSensor, ExactJoulesAcrossAWraparound) {
  FakePowercap fake;
  constexpr uint64_t kRange = 65'712'999'613ULL;  // A real package's max_energy_range_uj.
  fake.add("intel-rapl:0", "package-0", kRange - 2'000'000, kRange);
  RaplSensor sensor(fake.root());
  fake.set("intel-rapl:0", kRange - 500'000);
  EXPECT_EQ(sample(sensor)[0], 1'500'000u);
  fake.set("intel-rapl:0", 4'000'000);  // Wrapped: 500000 to the top, then 4000000.
  EXPECT_EQ(sample(sensor)[0], 1'500'000u + 500'000u + 4'000'000u);
  EXPECT_EQ(sensor.unresolved_wraps(), 0u);
}

TEST(RaplSensor, PollIntervalCannotMissAWrap) {
  FakePowercap fake;
  fake.add("intel-rapl:0", "package-0", 0, 262'143'328'850ULL);
  RaplSensor sensor(fake.root());
  // 262143 J at 1000 W wraps in 262 s; half of that.
  EXPECT_NEAR(sensor.max_poll_interval_s(), 131.07, 0.01);
}

TEST(RaplSensor, MissingMaxRangeIsReportedAndAWrapCountsZero) {
  FakePowercap fake;
  fake.add("intel-rapl:0", "package-0", 5000, std::nullopt);
  RaplSensor sensor(fake.root());
  ASSERT_EQ(sensor.channels().size(), 1u);
  ASSERT_EQ(sensor.problems().size(), 1u);
  EXPECT_NE(sensor.problems()[0].file.find("max_energy_range_uj"), std::string::npos);
  EXPECT_TRUE(std::isinf(sensor.max_poll_interval_s()));
  fake.set("intel-rapl:0", 9000);
  EXPECT_EQ(sample(sensor)[0], 4000u);
  fake.set("intel-rapl:0", 100);  // Went backwards: the amount is unknowable.
  EXPECT_EQ(sample(sensor)[0], 4000u);
  EXPECT_EQ(sensor.unresolved_wraps(), 1u);
  fake.set("intel-rapl:0", 600);
  EXPECT_EQ(sample(sensor)[0], 4500u);
}

TEST(RaplSensor, NoPowercapFolderMeansNoChannels) {
  RaplSensor sensor("/nonexistent/powercap");
  EXPECT_TRUE(sensor.channels().empty());
  EXPECT_TRUE(sensor.problems().empty());
}

TEST(RaplSensor, UnreadableDomainIsSkippedWithTheFix) {
  FakePowercap fake;
  fake.add("intel-rapl:0", "package-0", 1000);
  fake.add("intel-rapl:1", "package-1", 1000);
  ::chmod(fake.energy_file("intel-rapl:1").c_str(), 0);
  // Root reads any file, so drop to an unprivileged user in a child to see what users see.
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::geteuid() == 0) {
      std::filesystem::permissions(fake.root(), std::filesystem::perms::all);
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(3);
    }
    RaplSensor sensor(fake.root());
    std::string report = std::to_string(sensor.channels().size()) + "|";
    for (const auto& p : sensor.problems()) report += p.file + "|" + p.reason + "|" + p.hint;
    [[maybe_unused]] ssize_t n = ::write(out[1], report.data(), report.size());
    _exit(0);
  }
  ::close(out[1]);
  std::string report;
  char buffer[4096];
  for (ssize_t n; (n = ::read(out[0], buffer, sizeof buffer)) > 0;) report.append(buffer, n);
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(report.substr(0, 2), "1|");
  EXPECT_NE(report.find(fake.energy_file("intel-rapl:1")), std::string::npos);
  EXPECT_NE(report.find("permission denied"), std::string::npos);
  EXPECT_NE(report.find("chmod a+r"), std::string::npos);
}

TEST(OpenSensors, RaplMeasuresCpuAndRamSoNoEstimatorIsAdded) {
  FakePowercap fake;
  fake.add("intel-rapl:0", "package-0", 0);
  fake.add("intel-rapl:0:0", "dram", 0);
  SensorOptions options;
  options.powercap_root = fake.root();
  options.nvml_library = "/nonexistent/libnvidia-ml.so.1";
  SensorSet set = open_sensors(options);
  ASSERT_EQ(set.sensors.size(), 1u);
  EXPECT_EQ(set.sensors[0]->name(), "rapl");
}

TEST(OpenSensors, EstimatorCoversWhatRaplLacks) {
  FakePowercap fake;
  fake.add("intel-rapl:0", "package-0", 0);  // No dram domain: RAM is estimated.
  SensorOptions options;
  options.powercap_root = fake.root();
  options.nvml_library = "/nonexistent/libnvidia-ml.so.1";
  SensorSet set = open_sensors(options);
  ASSERT_EQ(set.sensors.size(), 2u);
  EXPECT_EQ(set.sensors[1]->name(), "estimator");
  ASSERT_EQ(set.sensors[1]->channels().size(), 1u);
  EXPECT_EQ(set.sensors[1]->channels()[0].component, Component::kRam);
  EXPECT_EQ(set.sensors[1]->provenance(), Provenance::kEstimated);
}

TEST(OpenSensors, RejectsNonPositiveCpuPower) {
  SensorOptions options;
  options.cpu_tdp_w = -5;
  try {
    open_sensors(options);
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_STREQ(
        e.what(),
        "cannot use CPU power model (--cpu-tdp=-5.000000): must be a positive number of watts");
  }
}

}  // namespace
}  // namespace greenai::meter
