// NVIDIA GPU energy through NVML, loaded at run time with dlopen (no build-time CUDA dependency).
//
// Each GPU is one channel. Where the GPU has a total-energy counter (Volta and later) the sensor
// reads it; otherwise it samples board power and integrates it with the trapezoid rule over the
// sampling times, so sampling must be regular. No NVML library, or no GPU, is a normal case:
// the sensor then has no channels and status() says why.
//
//   greenai::meter::NvmlSensor gpus(greenai::meter::default_nvml_library());
//   for (const auto& c : gpus.channels()) std::puts(c.name.c_str());
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "greenai/meter/sensor.h"

namespace greenai::meter {

/// The NVML library to load: $GREENAI_NVML_LIBRARY, else "libnvidia-ml.so.1".
std::string default_nvml_library();

/// How a GPU's energy is obtained.
enum class GpuEnergyMode { kEnergyCounter, kPowerIntegration };

class NvmlSensor final : public EnergySensor {
 public:
  /// Loads `library` and opens every GPU; never throws for a missing library or GPU.
  explicit NvmlSensor(const std::string& library);
  ~NvmlSensor() override;
  NvmlSensor(const NvmlSensor&) = delete;
  NvmlSensor& operator=(const NvmlSensor&) = delete;

  std::string_view name() const override { return "nvml"; }
  std::string describe() const override;
  Provenance provenance() const override { return Provenance::kMeasured; }
  const std::vector<Channel>& channels() const override { return channels_; }
  double max_poll_interval_s() const override;
  void sample(Clock::time_point now, std::span<uint64_t> energy_uj) override;

  /// Empty when GPUs were opened; otherwise why not (library missing, init failed, no GPU).
  const std::string& status() const { return status_; }
  /// The mode of GPU `index` (same order as channels()).
  GpuEnergyMode mode(size_t index) const;

  /// Sampling interval that keeps the power integration's error small (s).
  static constexpr double kPowerSamplingIntervalS = 0.1;

 private:
  struct Library;
  struct Gpu;
  std::unique_ptr<Library> lib_;
  std::vector<Gpu> gpus_;
  std::vector<Channel> channels_;
  std::string status_;
};

}  // namespace greenai::meter
