// RAPL energy counters (Intel and AMD) through the Linux powercap sysfs interface.
//
// Layout read: <root>/intel-rapl:N (a socket's "package-N", or "psys", or a top-level "dram")
// and <root>/intel-rapl:N:M (sub-domains "core", "uncore", "dram"). Package energy already
// includes core and uncore, and psys covers the whole platform, so only packages and dram are
// counted; the rest are reported for detail. Counters wrap at max_energy_range_uj; the sensor
// unwraps them as long as it is sampled at least every max_poll_interval_s().
//
//   greenai::meter::RaplSensor rapl(greenai::meter::default_powercap_root());
//   if (!rapl.channels().empty()) { ... }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "greenai/meter/sensor.h"

namespace greenai::meter {

/// The folder holding the intel-rapl:* entries: $GREENAI_POWERCAP_ROOT, else /sys/class/powercap.
std::string default_powercap_root();

/// A RAPL domain that exists but cannot be used, and how to fix it.
struct RaplProblem {
  std::string domain;  ///< e.g. "intel-rapl:0 (package-0)".
  std::string file;    ///< The file that failed.
  std::string reason;  ///< e.g. "permission denied".
  std::string hint;    ///< The fix.
};

class RaplSensor final : public EnergySensor {
 public:
  /// Scans `powercap_root`. Unreadable domains are skipped and listed in problems().
  explicit RaplSensor(std::string powercap_root);

  std::string_view name() const override { return "rapl"; }
  std::string describe() const override;
  Provenance provenance() const override { return Provenance::kMeasured; }
  const std::vector<Channel>& channels() const override { return channels_; }
  double max_poll_interval_s() const override;
  void sample(Clock::time_point now, std::span<uint64_t> energy_uj) override;

  /// Domains found but not usable (no read permission, malformed files).
  const std::vector<RaplProblem>& problems() const { return problems_; }
  /// Number of backward counter steps seen on domains without max_energy_range_uj; each was
  /// counted as zero energy since the true amount cannot be known.
  uint64_t unresolved_wraps() const { return unresolved_wraps_; }

  /// Power no RAPL domain is assumed to exceed, used to derive the safe poll interval (W).
  static constexpr double kMaxPlausibleDomainPowerW = 1000.0;

 private:
  struct Domain {
    std::string energy_path;
    std::optional<uint64_t> max_range_uj;  // Absent when max_energy_range_uj is missing.
    uint64_t last_raw_uj = 0;
    uint64_t total_uj = 0;
  };
  std::string root_;
  std::vector<Channel> channels_;
  std::vector<Domain> domains_;
  std::vector<RaplProblem> problems_;
  uint64_t unresolved_wraps_ = 0;
};

/// Energy elapsed between two raw readings of a counter that wraps after `max_range_uj`
/// (the counter runs 0..max_range_uj). Exposed for tests.
uint64_t unwrap_counter_delta(uint64_t previous_uj, uint64_t current_uj, uint64_t max_range_uj);

}  // namespace greenai::meter
