#include "greenai/meter/estimator.h"

#include <algorithm>
#include <cassert>
#include <cstdio>

namespace greenai::meter {

CpuPowerModel CpuPowerModel::from_tdp(double tdp_w, int cpus) {
  CpuPowerModel model = from_watts_per_core(tdp_w / std::max(cpus, 1));
  char text[160];
  std::snprintf(text, sizeof text,
                "--cpu-tdp %.1f W over %d logical CPUs (%.2f W each at full load)", tdp_w, cpus,
                model.max_w_per_cpu);
  model.source = text;
  return model;
}

CpuPowerModel CpuPowerModel::from_watts_per_core(double watts) {
  CpuPowerModel model;
  model.max_w_per_cpu = watts;
  model.idle_w_per_cpu = watts * kIdleToMaxRatio;
  char text[120];
  std::snprintf(text, sizeof text, "--cpu-watts-per-core %.2f W at full load", watts);
  model.source = text;
  return model;
}

EstimatorSensor::EstimatorSensor(SystemStats stats, CpuPowerModel cpu, RamPowerModel ram,
                                 bool estimate_cpu, bool estimate_ram)
    : stats_(std::move(stats)),
      cpu_(std::move(cpu)),
      ram_(std::move(ram)),
      estimate_cpu_(estimate_cpu),
      estimate_ram_(estimate_ram) {
  if (estimate_cpu_) channels_.push_back({"cpu " + stats_.cpu_model(), Component::kCpu, true});
  if (estimate_ram_) channels_.push_back({"ram", Component::kRam, true});
}

std::string EstimatorSensor::describe(Component component) const {
  if (component == Component::kCpu)
    return "CPU time x linear power model (" + std::to_string(stats_.cpu_count()) +
           " logical CPUs; " + cpu_.source + ")";
  if (component == Component::kRam) return "memory in use x " + ram_.source;
  return "";
}

std::string EstimatorSensor::describe() const {
  std::string text;
  if (estimate_cpu_) text += describe(Component::kCpu);
  if (estimate_cpu_ && estimate_ram_) text += "; ";
  if (estimate_ram_) text += describe(Component::kRam);
  return text;
}

double EstimatorSensor::max_poll_interval_s() const { return kMaxRamStepS; }

void EstimatorSensor::sample(Clock::time_point now, std::span<uint64_t> energy_uj) {
  assert(energy_uj.size() == channels_.size());
  SystemSnapshot snapshot = stats_.read();
  if (has_last_) {
    double dt_s = std::max(0.0, std::chrono::duration<double>(now - last_time_).count());
    const double cpus = stats_.cpu_count();
    // Busy CPU-seconds in the step, bounded by what the CPUs can deliver.
    double busy_s = std::clamp(snapshot.busy_cpu_s - last_.busy_cpu_s, 0.0, cpus * dt_s);
    cpu_uj_ +=
        (cpus * cpu_.idle_w_per_cpu * dt_s + (cpu_.max_w_per_cpu - cpu_.idle_w_per_cpu) * busy_s) *
        1e6;
    // Memory in use: mean of both ends of the step.
    double used_gib = (snapshot.mem_used_bytes + last_.mem_used_bytes) / 2.0 / (1ULL << 30);
    ram_uj_ += used_gib * ram_.w_per_gib * dt_s * 1e6;
  }
  has_last_ = true;
  last_time_ = now;
  last_ = snapshot;
  size_t i = 0;
  if (estimate_cpu_) energy_uj[i++] = static_cast<uint64_t>(cpu_uj_);
  if (estimate_ram_) energy_uj[i++] = static_cast<uint64_t>(ram_uj_);
}

}  // namespace greenai::meter
