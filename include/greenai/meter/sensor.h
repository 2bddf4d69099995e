// Energy sensors behind one small interface.
//
// A sensor exposes channels (a RAPL domain, a GPU, a modelled component) and returns the
// cumulative energy of each since it was opened, in microjoules, every time it is sampled.
// Every sensor says whether its figures are measured (hardware counters) or estimated (a model),
// so nothing downstream can present an estimate as a measurement.
//
//   auto sensors = greenai::meter::open_sensors({});
//   std::vector<uint64_t> uj(sensors[0]->channels().size());
//   sensors[0]->sample(greenai::meter::Clock::now(), uj);
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace greenai::meter {

using Clock = std::chrono::steady_clock;

/// Whether a figure comes from a hardware counter or from a model.
enum class Provenance { kMeasured, kEstimated };
/// "measured" or "estimated".
std::string_view to_string(Provenance provenance);

/// The hardware component a channel's energy belongs to.
enum class Component { kCpu, kRam, kGpu };
/// "cpu", "ram" or "gpu".
std::string_view to_string(Component component);
inline constexpr Component kAllComponents[] = {Component::kCpu, Component::kRam, Component::kGpu};

/// One energy channel of a sensor.
struct Channel {
  std::string name;     ///< e.g. "package-0", "dram-0", "gpu0 NVIDIA H100", "cpu model".
  Component component;  ///< Which total it adds to.
  bool counted = true;  ///< False for channels already inside another one (RAPL core, uncore,
                        ///< psys): shown for detail, never added to totals.
};

/// An energy source: hardware counters or a model.
class EnergySensor {
 public:
  virtual ~EnergySensor() = default;

  /// Short identifier: "rapl", "nvml" or "estimator".
  virtual std::string_view name() const = 0;
  /// Human description of how the figures are obtained (shown in reports).
  virtual std::string describe() const = 0;
  /// How the figures of one component are obtained; the whole description by default.
  virtual std::string describe(Component component) const {
    (void)component;
    return describe();
  }
  virtual Provenance provenance() const = 0;
  virtual const std::vector<Channel>& channels() const = 0;

  /// Longest interval between samples that cannot miss a counter wraparound, in seconds
  /// (infinity when the sensor has no wrapping counter).
  virtual double max_poll_interval_s() const = 0;

  /// Reads every channel at monotonic time `now` and writes the cumulative energy since the
  /// sensor was opened into `energy_uj` (size channels().size()). Must be called with
  /// non-decreasing `now`. Integrating sensors use `now` for the time step.
  virtual void sample(Clock::time_point now, std::span<uint64_t> energy_uj) = 0;
};

}  // namespace greenai::meter
