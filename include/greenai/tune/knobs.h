// Settings a tuner may change, each read before it is changed and put back afterwards: on
// return, on error, and on SIGINT or SIGTERM. The sysfs knobs write the kernel's files
// (RAPL package power cap under the powercap root, cpufreq's scaling_max_freq); a file that
// does not exist or may not be written gives a greenai::Error with the fix.
//
//   tune::KnobRestorer restorer;                      // restores whatever the knobs changed
//   tune::PowerCapKnob cap("/sys/class/powercap", restorer);
//   cap.set(80);                                     // watts
//   ...                                              // restored here, or on a signal
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace greenai::tune {

/// Puts back, in reverse order, every file a knob wrote through it: when it is destroyed, and,
/// while it exists, from SIGINT and SIGTERM handlers (which then re-raise the signal). At most
/// one restorer exists at a time in a process; a second throws greenai::Error.
class KnobRestorer {
 public:
  KnobRestorer();
  ~KnobRestorer();
  KnobRestorer(const KnobRestorer&) = delete;
  KnobRestorer& operator=(const KnobRestorer&) = delete;

  /// Writes `text` to `path` after saving what the file holds (once per path: the first value
  /// is the one restored). Throws greenai::Error naming the path and the fix when it cannot.
  void write(const std::string& path, const std::string& text);
  /// Writes every saved value back now (also what the destructor does); returns the paths that
  /// could not be restored.
  std::vector<std::string> restore_all();
  /// The files changed and not yet restored.
  size_t pending() const;
  /// Registers a setting that is not a file (a GPU's power limit through NVML): `undo` puts it
  /// back and returns "" or why it could not. Undone by restore_all() and the destructor, after
  /// the files; not from a signal handler (NVML is not async-signal-safe): `greenai tune` passes
  /// SIGINT/SIGTERM on to the command and restores once it has ended.
  void on_restore(std::string what, std::function<std::string()> undo);
};

/// A knob: a name, its current value as text, and a setter.
class Knob {
 public:
  virtual ~Knob() = default;
  virtual std::string name() const = 0;
  /// The value now, with its unit ("80 W", "2200000 kHz").
  virtual std::string read() const = 0;
  /// Sets it (in the knob's unit: watts, kilohertz); throws greenai::Error with the fix.
  virtual void set(double value) = 0;
  /// The values a just-in-time profile tries, the baseline (the most power) first.
  virtual std::vector<double> profile_values() const = 0;
};

/// The RAPL package power cap of every package domain (intel-rapl:N, N a package) under
/// `powercap_root`: constraint_0_power_limit_uw, in watts here. Throws greenai::Error when there
/// is none ("no RAPL package domain under ...: this machine has no RAPL, or the powercap driver is
/// not loaded").
class PowerCapKnob : public Knob {
 public:
  PowerCapKnob(std::string powercap_root, KnobRestorer& restorer);
  std::string name() const override { return "power-cap"; }
  std::string read() const override;
  void set(double watts) override;
  /// The first package's cap now, then 90 % ... 50 % of it.
  std::vector<double> profile_values() const override;

 private:
  std::vector<std::string> files_;
  KnobRestorer& restorer_;
};

/// cpufreq's scaling_max_freq of every CPU under `cpu_root` (/sys/devices/system/cpu), in kHz.
class CpuFreqKnob : public Knob {
 public:
  CpuFreqKnob(std::string cpu_root, KnobRestorer& restorer);
  std::string name() const override { return "cpu-freq"; }
  std::string read() const override;
  void set(double khz) override;
  /// cpuinfo_max_freq of the first CPU, then 90 % ... 50 % of it, none below cpuinfo_min_freq.
  std::vector<double> profile_values() const override;

 private:
  std::vector<std::string> files_;
  KnobRestorer& restorer_;
};

/// The power limit of every NVIDIA GPU through NVML (`library`, dlopen'd as the meter does), in
/// watts: nvmlDeviceSetPowerManagementLimit, within the GPU's constraints. Throws greenai::Error
/// when NVML or a GPU is missing, and when setting needs root ("Insufficient Permissions").
class GpuPowerLimitKnob : public Knob {
 public:
  GpuPowerLimitKnob(const std::string& library, KnobRestorer& restorer);
  ~GpuPowerLimitKnob() override;
  std::string name() const override { return "gpu-power-limit"; }
  std::string read() const override;
  void set(double watts) override;
  /// The largest maximum constraint of the GPUs down to the smallest minimum, in 25 W steps
  /// (Zeus's profile).
  std::vector<double> profile_values() const override;

 private:
  struct Nvml;
  std::shared_ptr<Nvml> nvml_;  // shared with the restorer's undo, which may outlive us
  KnobRestorer& restorer_;
  bool registered_ = false;
};

}  // namespace greenai::tune
