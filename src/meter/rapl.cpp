#include "greenai/meter/rapl.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>

#include "meter/internal/sysfs.h"

namespace greenai::meter {
namespace {

namespace fs = std::filesystem;

// Sorts "intel-rapl:10" after "intel-rapl:2" by comparing the numeric parts.
std::vector<int> numeric_parts(const std::string& entry) {
  std::vector<int> parts;
  size_t pos = entry.find(':');
  while (pos != std::string::npos) {
    parts.push_back(std::atoi(entry.c_str() + pos + 1));
    pos = entry.find(':', pos + 1);
  }
  return parts;
}

std::string permission_hint(const std::string& file) {
  return "since Linux 5.10 energy_uj is readable by root only; run as root, or `sudo chmod a+r " +
         file + "` (lost at reboot; a udev rule keeps it), or `sudo setcap " +
         "cap_dac_read_search+ep $(command -v greenai)`";
}

}  // namespace

std::string default_powercap_root() {
  const char* env = std::getenv("GREENAI_POWERCAP_ROOT");
  return env && *env ? env : "/sys/class/powercap";
}

uint64_t unwrap_counter_delta(uint64_t previous_uj, uint64_t current_uj, uint64_t max_range_uj) {
  if (current_uj >= previous_uj) return current_uj - previous_uj;
  // The counter ran up to max_range_uj, restarted at 0 and reached current_uj.
  return (max_range_uj - previous_uj) + current_uj;
}

RaplSensor::RaplSensor(std::string powercap_root) : root_(std::move(powercap_root)) {
  std::error_code ec;
  std::vector<std::string> entries;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("intel-rapl:", 0) == 0) entries.push_back(name);
  }
  std::sort(entries.begin(), entries.end(), [](const std::string& a, const std::string& b) {
    return numeric_parts(a) < numeric_parts(b);
  });

  for (const std::string& entry : entries) {
    const std::string dir = root_ + "/" + entry;
    const bool is_subdomain = std::count(entry.begin(), entry.end(), ':') > 1;
    auto name_read = internal::read_small_file(dir + "/name");
    if (!name_read.text) {
      problems_.push_back({entry, dir + "/name", std::strerror(name_read.error), ""});
      continue;
    }
    const std::string domain_name = internal::trim(*name_read.text);
    const std::string label = entry + " (" + domain_name + ")";

    Channel channel{domain_name, Component::kCpu, false};
    if (domain_name == "dram") {
      channel.component = Component::kRam;
      channel.counted = true;
    } else if (!is_subdomain && domain_name.rfind("package", 0) == 0) {
      channel.counted = true;  // Packages include their core and uncore sub-domains.
    }
    // psys (whole platform), core and uncore stay uncounted: they overlap the counted ones.
    if (is_subdomain || domain_name == "dram") {
      // Make sub-domain names unique across sockets: "dram-0", "core-1".
      auto parts = numeric_parts(entry);
      channel.name = domain_name + "-" + std::to_string(parts.empty() ? 0 : parts.front());
    }

    Domain domain;
    domain.energy_path = dir + "/energy_uj";
    auto energy = internal::read_small_file(domain.energy_path);
    if (!energy.text) {
      problems_.push_back(
          {label, domain.energy_path,
           energy.error == EACCES ? "permission denied" : std::strerror(energy.error),
           energy.error == EACCES ? permission_hint(domain.energy_path) : ""});
      continue;
    }
    auto raw = internal::parse_u64(*energy.text);
    if (!raw) {
      problems_.push_back({label, domain.energy_path, "not an unsigned integer", ""});
      continue;
    }
    domain.last_raw_uj = *raw;
    auto range = internal::read_small_file(dir + "/max_energy_range_uj");
    if (range.text) domain.max_range_uj = internal::parse_u64(*range.text);
    if (!domain.max_range_uj) {
      problems_.push_back({label, dir + "/max_energy_range_uj", "missing or unreadable",
                           "energy is still read, but a counter wraparound cannot be undone and "
                           "is counted as zero"});
    }
    channels_.push_back(std::move(channel));
    domains_.push_back(std::move(domain));
  }
}

std::string RaplSensor::describe() const {
  return "RAPL energy counters via powercap sysfs (" + root_ + ")";
}

double RaplSensor::max_poll_interval_s() const {
  double interval = std::numeric_limits<double>::infinity();
  for (const Domain& d : domains_) {
    if (!d.max_range_uj) continue;
    // Half the time the counter needs to run through its whole range at the highest plausible
    // power: a wrap can then never be missed, let alone two.
    double seconds_to_wrap = static_cast<double>(*d.max_range_uj) / 1e6 / kMaxPlausibleDomainPowerW;
    interval = std::min(interval, seconds_to_wrap / 2);
  }
  return interval;
}

void RaplSensor::sample(Clock::time_point /*now*/, std::span<uint64_t> energy_uj) {
  assert(energy_uj.size() == domains_.size());
  for (size_t i = 0; i < domains_.size(); ++i) {
    Domain& d = domains_[i];
    auto read = internal::read_small_file(d.energy_path);
    std::optional<uint64_t> raw = read.text ? internal::parse_u64(*read.text) : std::nullopt;
    if (raw) {
      if (d.max_range_uj) {
        d.total_uj += unwrap_counter_delta(d.last_raw_uj, *raw, *d.max_range_uj);
      } else if (*raw >= d.last_raw_uj) {
        d.total_uj += *raw - d.last_raw_uj;
      } else {
        ++unresolved_wraps_;
      }
      d.last_raw_uj = *raw;
    }
    // A transient read failure adds nothing now; the next good read catches up.
    energy_uj[i] = d.total_uj;
  }
}

}  // namespace greenai::meter
