// Energy estimated from CPU time and memory in use, for machines without energy counters
// (VMs, containers, most clouds). Every figure it gives is labelled estimated.
//
// CPU: the linear utilisation model P = n x (P_idle + (P_max - P_idle) x u), per logical CPU,
// with u from /proc/stat. The default coefficients are Cloud Carbon Footprint's averages over
// AWS instance types, derived from SPECpower_ssj2008 results: 0.74 W idle and 3.5 W at full
// load per vCPU. --cpu-tdp sets P_max = TDP / n; --cpu-watts-per-core sets P_max directly; the
// idle share keeps the same 0.74 / 3.5 ratio. See docs/meter.md for why this is better founded
// than a flat per-thread figure.
// RAM: 0.392 W per GiB of memory in use (Cloud Carbon Footprint's memory coefficient), so an
// idle 24 GiB machine is not charged for memory nobody uses.
//
//   greenai::meter::EstimatorSensor est(greenai::meter::SystemStats(), {}, {}, true, true);
#pragma once

#include <string>
#include <vector>

#include "greenai/meter/sensor.h"
#include "greenai/meter/system.h"

namespace greenai::meter {

/// Per-logical-CPU power at idle and at full load.
struct CpuPowerModel {
  double idle_w_per_cpu = 0.74;  ///< W at 0 % utilisation.
  double max_w_per_cpu = 3.5;    ///< W at 100 % utilisation.
  std::string source = "Cloud Carbon Footprint vCPU average (0.74-3.5 W, SPECpower-derived)";

  /// Idle over full-load power of the default model, kept when only the peak is given.
  static constexpr double kIdleToMaxRatio = 0.74 / 3.5;
  /// The whole package draws `tdp_w` at full load over `cpus` logical CPUs.
  static CpuPowerModel from_tdp(double tdp_w, int cpus);
  /// Each logical CPU draws `watts` at full load.
  static CpuPowerModel from_watts_per_core(double watts);
};

/// Power per GiB of memory in use.
struct RamPowerModel {
  double w_per_gib = 0.392;
  std::string source = "Cloud Carbon Footprint memory coefficient (0.392 W/GiB in use)";
};

class EstimatorSensor final : public EnergySensor {
 public:
  /// Channels "cpu" and/or "ram", for the components no counter measures.
  EstimatorSensor(SystemStats stats, CpuPowerModel cpu, RamPowerModel ram, bool estimate_cpu,
                  bool estimate_ram);

  std::string_view name() const override { return "estimator"; }
  std::string describe() const override;
  std::string describe(Component component) const override;
  Provenance provenance() const override { return Provenance::kEstimated; }
  const std::vector<Channel>& channels() const override { return channels_; }
  double max_poll_interval_s() const override;
  void sample(Clock::time_point now, std::span<uint64_t> energy_uj) override;

  const CpuPowerModel& cpu_model() const { return cpu_; }
  const RamPowerModel& ram_model() const { return ram_; }

  /// Longest step over which memory in use is assumed constant (s).
  static constexpr double kMaxRamStepS = 10.0;

 private:
  SystemStats stats_;
  CpuPowerModel cpu_;
  RamPowerModel ram_;
  bool estimate_cpu_, estimate_ram_;
  std::vector<Channel> channels_;
  bool has_last_ = false;
  Clock::time_point last_time_{};
  SystemSnapshot last_{};
  double cpu_uj_ = 0, ram_uj_ = 0;
};

}  // namespace greenai::meter
