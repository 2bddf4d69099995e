#include "greenai/meter/sensors.h"

#include <cmath>

#include "greenai/error.h"

namespace greenai::meter {
namespace {

bool measures(const EnergySensor& sensor, Component component) {
  for (const Channel& c : sensor.channels())
    if (c.counted && c.component == component) return true;
  return false;
}

void check_positive(const std::optional<double>& value, const char* flag) {
  if (value && !(std::isfinite(*value) && *value > 0))
    throw Error(
        std::string("cannot use CPU power model (") + flag + "=" + std::to_string(*value) + ")",
        "must be a positive number of watts");
}

}  // namespace

SensorSet open_sensors(const SensorOptions& options) {
  check_positive(options.cpu_tdp_w, "--cpu-tdp");
  check_positive(options.cpu_watts_per_core, "--cpu-watts-per-core");
  SensorSet set;
  bool cpu_measured = false, ram_measured = false;

  auto rapl = std::make_unique<RaplSensor>(options.powercap_root);
  for (const RaplProblem& p : rapl->problems())
    set.report.push_back({"rapl", false, p.domain + ": " + p.file + ": " + p.reason, p.hint});
  if (rapl->channels().empty()) {
    if (rapl->problems().empty())
      set.report.push_back({"rapl", false, "no intel-rapl:* domains under " + options.powercap_root,
                            "virtual machines and most containers expose no RAPL; on bare metal "
                            "load the intel_rapl_common module (AMD: kernel 5.8 or later)"});
  } else {
    std::string domains;
    for (const Channel& c : rapl->channels())
      domains += (domains.empty() ? "" : ", ") + c.name + (c.counted ? "" : " (detail)");
    set.report.push_back({"rapl", true, "measured: " + domains, ""});
    cpu_measured = measures(*rapl, Component::kCpu);
    ram_measured = measures(*rapl, Component::kRam);
    set.sensors.push_back(std::move(rapl));
  }

  auto nvml = std::make_unique<NvmlSensor>(options.nvml_library);
  if (nvml->channels().empty()) {
    set.report.push_back({"nvml", false, nvml->status(),
                          "GPU energy needs the NVIDIA driver's libnvidia-ml.so.1 (set "
                          "GREENAI_NVML_LIBRARY to load it from elsewhere)"});
  } else {
    set.report.push_back({"nvml", true, "measured: " + nvml->describe(), ""});
    set.sensors.push_back(std::move(nvml));
  }

  if (!cpu_measured || !ram_measured) {
    SystemStats stats(options.proc_root);
    CpuPowerModel cpu_model = options.cpu_tdp_w
                                  ? CpuPowerModel::from_tdp(*options.cpu_tdp_w, stats.cpu_count())
                              : options.cpu_watts_per_core
                                  ? CpuPowerModel::from_watts_per_core(*options.cpu_watts_per_core)
                                  : CpuPowerModel{};
    auto estimator = std::make_unique<EstimatorSensor>(stats, cpu_model, options.ram_model,
                                                       !cpu_measured, !ram_measured);
    set.report.push_back({"estimator", true, "estimated: " + estimator->describe(), ""});
    set.sensors.push_back(std::move(estimator));
  }
  return set;
}

}  // namespace greenai::meter
