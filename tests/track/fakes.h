// Hand-driven sensor, usage and /proc for deterministic tracker tests.
#pragma once

#include <unistd.h>

#include <memory>
#include <string>

#include "greenai/meter/sensor.h"
#include "greenai/meter/system.h"
#include "support/temp_dir.h"

namespace greenai::track::testing {

/// One counted channel per component; the test sets the cumulative joules.
class FakeSensor final : public meter::EnergySensor {
 public:
  explicit FakeSensor(meter::Provenance provenance = meter::Provenance::kMeasured)
      : provenance_(provenance) {
    channels_ = {{"fake-cpu", meter::Component::kCpu, true},
                 {"fake-ram", meter::Component::kRam, true},
                 {"fake-gpu", meter::Component::kGpu, true},
                 {"fake-core", meter::Component::kCpu, false}};
  }
  std::string_view name() const override { return "fake"; }
  std::string describe() const override { return "fake counters"; }
  meter::Provenance provenance() const override { return provenance_; }
  const std::vector<meter::Channel>& channels() const override { return channels_; }
  double max_poll_interval_s() const override { return 1e9; }
  void sample(meter::Clock::time_point, std::span<uint64_t> uj) override {
    for (size_t i = 0; i < 4; ++i) uj[i] = static_cast<uint64_t>(joules[i] * 1e6);
  }
  double joules[4] = {0, 0, 0, 0};

 private:
  meter::Provenance provenance_;
  std::vector<meter::Channel> channels_;
};

class FakeUsage final : public meter::UsageSource {
 public:
  meter::TreeUsage read() override { return usage; }
  std::string describe() const override { return "fake tree"; }
  meter::TreeUsage usage;
};

/// A /proc with stat and meminfo the test rewrites.
class FakeProc {
 public:
  FakeProc() { set(0, 0); }
  void set(double busy_cpu_s, double used_gib) {
    long ticks = static_cast<long>(busy_cpu_s * ::sysconf(_SC_CLK_TCK) + 0.5);
    dir_.write("stat", "cpu  " + std::to_string(ticks) +
                           " 0 0 0 0 0 0 0 0 0\ncpu0 0 0 0 0\ncpu1 0 0 0 0\n");
    long total_kb = 16L * 1024 * 1024;
    long used_kb = static_cast<long>(used_gib * 1024 * 1024);
    dir_.write("meminfo", "MemTotal: " + std::to_string(total_kb) +
                              " kB\nMemAvailable: " + std::to_string(total_kb - used_kb) + " kB\n");
  }
  const std::string& path() const { return dir_.path(); }

 private:
  greenai::testing::TempDir dir_;
};

}  // namespace greenai::track::testing
