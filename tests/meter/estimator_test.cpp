#include "greenai/meter/estimator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "greenai/meter/system.h"
#include "support/burn_cpu.h"
#include "support/temp_dir.h"

namespace greenai::meter {
namespace {

using greenai::testing::TempDir;
using namespace std::chrono_literals;

const long kTicks = ::sysconf(_SC_CLK_TCK);

// A fake /proc with two CPUs: busy and idle CPU seconds, memory in use.
void write_proc(const TempDir& proc, double busy_s, double idle_s, uint64_t used_kb,
                uint64_t total_kb = 16 * 1024 * 1024) {
  auto ticks = [](double s) { return std::to_string(static_cast<long long>(s * kTicks)); };
  // user nice system idle iowait irq softirq steal: busy split over user and system;
  // iowait and steal must not count as busy.
  proc.write("stat",
             "cpu  " + ticks(busy_s * 0.75) + " 0 " + ticks(busy_s * 0.25) + " " + ticks(idle_s) +
                 " 777 0 0 999 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\ncpu1 1 2 3 4 5 6 7 8 0 0\nintr 1\n");
  proc.write("meminfo", "MemTotal:       " + std::to_string(total_kb) +
                            " kB\nMemFree:  1 kB\nMemAvailable:   " +
                            std::to_string(total_kb - used_kb) + " kB\n");
  proc.write("cpuinfo", "processor\t: 0\nmodel name\t: Test CPU 9000\n");
}

TEST(SystemStats, ReadsCpusModelBusyTimeAndMemory) {
  TempDir proc;
  write_proc(proc, 8.0, 100.0, 4 * 1024 * 1024);
  SystemStats stats(proc.path());
  EXPECT_EQ(stats.cpu_count(), 2);
  EXPECT_EQ(stats.cpu_model(), "Test CPU 9000");
  SystemSnapshot s = stats.read();
  EXPECT_NEAR(s.busy_cpu_s, 8.0, 2.0 / kTicks);
  EXPECT_EQ(s.mem_used_bytes, 4ULL << 30);
  EXPECT_EQ(s.mem_total_bytes, 16ULL << 30);
}

TEST(CpuPowerModel, TdpAndPerCoreOverridesKeepTheIdleRatio) {
  CpuPowerModel tdp = CpuPowerModel::from_tdp(100, 4);
  EXPECT_DOUBLE_EQ(tdp.max_w_per_cpu, 25);
  EXPECT_DOUBLE_EQ(tdp.idle_w_per_cpu, 25 * 0.74 / 3.5);
  EXPECT_NE(tdp.source.find("--cpu-tdp 100.0 W"), std::string::npos);
  CpuPowerModel core = CpuPowerModel::from_watts_per_core(7);
  EXPECT_DOUBLE_EQ(core.max_w_per_cpu, 7);
  EXPECT_DOUBLE_EQ(core.idle_w_per_cpu, 1.48);
}

TEST(EstimatorSensor, LinearCpuModelAndRamInUse) {
  TempDir proc;
  write_proc(proc, 100.0, 0.0, 4 * 1024 * 1024);
  EstimatorSensor sensor(SystemStats(proc.path()), CpuPowerModel{}, RamPowerModel{}, true, true);
  ASSERT_EQ(sensor.channels().size(), 2u);
  EXPECT_EQ(sensor.channels()[0].name, "cpu Test CPU 9000");
  EXPECT_EQ(sensor.provenance(), Provenance::kEstimated);
  std::vector<uint64_t> uj(2);
  Clock::time_point t0{};
  sensor.sample(t0, uj);
  EXPECT_EQ(uj[0], 0u);
  write_proc(proc, 105.0, 15.0, 4 * 1024 * 1024);  // 5 busy CPU-seconds in 10 s on 2 CPUs.
  sensor.sample(t0 + 10s, uj);
  // 2 x 0.74 W x 10 s + (3.5 - 0.74) W x 5 s = 14.8 + 13.8 = 28.6 J
  EXPECT_NEAR(uj[0] / 1e6, 28.6, 1e-5);
  // 4 GiB x 0.392 W/GiB x 10 s = 15.68 J
  EXPECT_NEAR(uj[1] / 1e6, 15.68, 1e-5);
}

TEST(EstimatorSensor, BusyTimeIsCappedByWhatTheCpusCanDeliver) {
  TempDir proc;
  write_proc(proc, 0.0, 0.0, 0);
  EstimatorSensor sensor(SystemStats(proc.path()), CpuPowerModel::from_watts_per_core(10),
                         RamPowerModel{}, true, false);
  std::vector<uint64_t> uj(1);
  Clock::time_point t0{};
  sensor.sample(t0, uj);
  write_proc(proc, 50.0, 0.0, 0);  // 50 s claimed in 1 s on 2 CPUs: at most 2 s.
  sensor.sample(t0 + 1s, uj);
  EXPECT_NEAR(uj[0] / 1e6, 2 * 10.0, 1e-6);
}

TEST(DescendantsUsage, SumsTheWholeTreeAndOnlyIt) {
  TempDir proc;
  const long page = ::sysconf(_SC_PAGESIZE);
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
  // utime stime cutime cstime priority nice threads itreal starttime vsize rss
  auto stat = [&](int pid, const std::string& comm, int ppid, int utime, int stime, int cutime,
                  int rss) {
    proc.write(std::to_string(pid) + "/stat",
               std::to_string(pid) + " (" + comm + ") S " + std::to_string(ppid) +
                   " 1 1 0 -1 0 0 0 0 0 " + std::to_string(utime) + " " + std::to_string(stime) +
                   " " + std::to_string(cutime) + " 0 20 0 1 0 100 1000 " + std::to_string(rss) +
                   " 0\n");
  };
  stat(10, "greenai", 1, 1000, 1000, 0, 999);  // The ancestor itself is not counted.
  stat(11, "sh", 10, 10, 5, 100, 100);
  stat(12, "odd) name (x", 11, 200, 50, 0, 300);
  stat(13, "other", 1, 5000, 0, 0, 5000);
  DescendantsUsage tree(10, proc.path());
  TreeUsage usage = tree.read();
  EXPECT_NEAR(usage.cpu_s, (10 + 5 + 100 + 200 + 50) / double(kTicks), 1e-9);
  EXPECT_EQ(usage.rss_bytes, 400u * page);
  rusage reaped{};
  reaped.ru_utime.tv_sec = 2;
  reaped.ru_stime.tv_usec = 500000;
  tree.add_reaped(reaped);
  EXPECT_NEAR(tree.read().cpu_s, (365.0 / kTicks) + 2.5, 1e-9);
}

TEST(DescendantsUsage, NeverGoesBackwards) {
  TempDir proc;
  proc.write("20/stat", "20 (a) S 10 1 1 0 -1 0 0 0 0 0 500 0 0 0 20 0 1 0 100 1000 1 0\n");
  DescendantsUsage tree(10, proc.path());
  double before = tree.read().cpu_s;
  std::filesystem::remove_all(proc.file("20"));  // Exited, not yet reported as reaped.
  EXPECT_DOUBLE_EQ(tree.read().cpu_s, before);
}

TEST(SelfUsage, CountsThisProcessesCpuTime) {
  SelfUsage self;
  double before = self.read().cpu_s;
  greenai::testing::burn_cpu(0.05);
  TreeUsage after = self.read();
  EXPECT_GT(after.cpu_s, before + 0.02);
  EXPECT_GT(after.rss_bytes, 0u);
}

}  // namespace
}  // namespace greenai::meter
