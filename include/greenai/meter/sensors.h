// Opening every sensor this machine offers, and a report of what can and cannot be read.
//
// Counters are preferred; the estimator covers each component (CPU, RAM) that no counter
// measures here. GPU energy is only ever measured (NVML) or absent.
//
//   greenai::meter::SensorSet set = greenai::meter::open_sensors({});
//   for (const auto& line : set.report) std::printf("%s: %s\n", line.sensor.c_str(), ...);
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "greenai/meter/estimator.h"
#include "greenai/meter/nvml.h"
#include "greenai/meter/rapl.h"
#include "greenai/meter/sensor.h"

namespace greenai::meter {

struct SensorOptions {
  std::string powercap_root = default_powercap_root();
  std::string nvml_library = default_nvml_library();
  std::string proc_root = "/proc";
  std::optional<double> cpu_tdp_w;           ///< --cpu-tdp: package power at full load.
  std::optional<double> cpu_watts_per_core;  ///< --cpu-watts-per-core: per logical CPU.
  RamPowerModel ram_model;
};

/// One line of `greenai sensors`.
struct SensorReport {
  std::string sensor;  ///< "rapl", "nvml", "estimator".
  bool usable = false;
  std::string detail;  ///< What it reads, or why it cannot.
  std::string hint;    ///< How to make it work, if it does not.
};

/// The sensors that will be sampled, with the report of everything that was probed.
struct SensorSet {
  std::vector<std::unique_ptr<EnergySensor>> sensors;
  std::vector<SensorReport> report;
};

/// Probes RAPL, NVML, then adds the estimator for what is left unmeasured. Throws
/// greenai::Error for a non-positive --cpu-tdp or --cpu-watts-per-core.
SensorSet open_sensors(const SensorOptions& options);

}  // namespace greenai::meter
