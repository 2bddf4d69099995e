// The Tracker: samples the meter's sensors, attributes energy to the tracked workload, turns it
// into carbon, and hands interval records to sinks (CSV, JSON lines, Prometheus).
//
// Energy is kept twice: the machine's (what the sensors see) and the tracked tree's share of it.
// Whole-machine CPU counters are shared by CPU time (tree CPU seconds / machine busy CPU
// seconds in the same step), RAM by resident memory (tree RSS / machine memory in use); GPUs
// are attributed whole (a GPU is normally dedicated to one job). Emissions are computed from
// the tree's share: kWh x PUE x the intensity averaged over the wall-clock span.
//
//   auto tracker = greenai::track::Tracker::for_this_process({.interval_s = 0.5});
//   tracker->start();
//   for (int epoch = 0; epoch < 3; ++epoch) {
//     greenai::track::PhaseScope phase(*tracker, "epoch " + std::to_string(epoch));
//     for (...) { train_step(); auto e = tracker->step(); }  // energy of this step
//   }
//   greenai::track::Record total = tracker->stop();
#pragma once

#include <array>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "greenai/carbon/intensity.h"
#include "greenai/meter/sensors.h"
#include "greenai/meter/system.h"

namespace greenai::track {

using meter::Component;

/// Energy per component, joules.
struct Energy {
  std::array<double, 3> joules{};  ///< Indexed by Component.
  double& operator[](Component c) { return joules[static_cast<size_t>(c)]; }
  double operator[](Component c) const { return joules[static_cast<size_t>(c)]; }
  double total_j() const { return joules[0] + joules[1] + joules[2]; }
  Energy& operator+=(const Energy& other);
};

/// Figures over a span of time: one interval, one phase, or the run so far.
struct Record {
  std::string phase;        ///< The phase active in the span ("" when none).
  double start_unix_s = 0;  ///< Wall-clock start.
  double end_unix_s = 0;
  double duration_s = 0;  ///< Monotonic duration.
  Energy machine;         ///< Whole machine, as the sensors see it.
  Energy tree;            ///< The tracked workload's share.
  double tree_cpu_s = 0;  ///< CPU time of the workload in the span.
  double machine_busy_cpu_s = 0;
  double tree_rss_peak_bytes = 0;  ///< Largest resident memory seen at a sample in the span.
  double machine_mem_used_bytes = 0;
  double emissions_kg = 0;  ///< Of the tree's energy, PUE included.
  /// Mean intensity over the span, weighted by the tree's energy (by time when it is zero).
  double intensity_g_per_kwh = 0;
  /// Adds a later span to this one.
  void extend(const Record& later);
};

/// Where each component's figures come from.
struct ComponentSource {
  bool present = false;  ///< False for a component nothing measures or estimates (no GPU).
  meter::Provenance provenance = meter::Provenance::kEstimated;
  std::string sensor;  ///< "rapl", "nvml" or "estimator".
  std::string detail;  ///< The sensor's describe().
};

/// What does not change during a run; sinks write it beside the figures.
struct RunInfo {
  std::string run_id;  ///< Random UUID (v4).
  std::string project_name, experiment_id;
  std::array<ComponentSource, 3> sources;  ///< Indexed by Component.
  std::string workload;                    ///< How the tracked tree is delimited.
  std::string intensity_source;            ///< carbon::IntensitySource::description().
  std::string country_code, country_name;  ///< When the intensity comes from a country.
  double pue = 1.0;
  int cpu_count = 0;
  std::string cpu_model;
  std::vector<std::string> gpu_names;
  double ram_total_bytes = 0;
  /// "measured", "estimated" or "mixed" over the components present.
  std::string provenance() const;
};

/// Receives records. Called from the sampling thread, one call at a time.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void begin(const RunInfo& info) { (void)info; }
  /// `interval` just closed; `cumulative` is the run so far.
  virtual void interval(const RunInfo& info, const Record& interval, const Record& cumulative) = 0;
  /// The run ended: its total and one record per phase (in order of first use).
  virtual void finish(const RunInfo& info, const Record& total,
                      const std::vector<Record>& phases) = 0;
};

struct TrackerOptions {
  double interval_s = 1.0;         ///< Records per interval; fractions allowed (0.1).
  bool background_sampler = true;  ///< Sample on a thread; else only on step()/poll()/stop().
  double pue = 1.0;                ///< Power usage effectiveness of the data centre, >= 1.
  std::string project_name = "greenai";
  std::string experiment_id;
  carbon::IntensitySource intensity = carbon::resolve_intensity({});
  std::string proc_root = "/proc";  ///< Where machine CPU time and memory are read (tests fake it).
};

/// Energy of one step (between two step() calls, or since start()).
struct StepEnergy {
  Energy tree;
  double emissions_kg = 0;
  double duration_s = 0;
};

class Tracker {
 public:
  /// Throws greenai::Error for a non-positive interval or a PUE below 1.
  Tracker(meter::SensorSet sensors, std::unique_ptr<meter::UsageSource> usage,
          TrackerOptions options);
  /// A tracker of the calling process with the sensors found on this machine.
  static std::unique_ptr<Tracker> for_this_process(TrackerOptions options = {},
                                                   const meter::SensorOptions& sensors = {});
  ~Tracker();
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  /// Adds a sink before start().
  void add_sink(std::shared_ptr<Sink> sink);
  void start();
  /// Starts a named phase (closing the current interval, so intervals never straddle phases).
  void begin_phase(const std::string& name);
  void end_phase();
  /// Samples now and returns the energy since the previous step() or start().
  StepEnergy step();
  /// Samples now (records and sinks as usual); for loops that do their own timing.
  void poll();
  /// Final sample; sends the last interval and the totals to the sinks; returns the total.
  Record stop();

  /// The run so far (thread-safe).
  Record cumulative() const;
  /// Per-phase totals so far, in order of first use.
  std::vector<Record> phases() const;
  const RunInfo& info() const { return info_; }
  /// Seconds between samples: the interval, or less when a counter could wrap in between.
  double poll_interval_s() const { return poll_interval_s_; }

 private:
  struct Sample;
  Sample take_sample();
  Record difference(const Sample& from, const Sample& to) const;
  void sample_locked();
  void close_interval_locked();
  void sampler_loop();

  meter::SensorSet sensors_;
  std::unique_ptr<meter::UsageSource> usage_;
  meter::SystemStats system_;
  TrackerOptions options_;
  RunInfo info_;
  double poll_interval_s_;
  std::vector<std::shared_ptr<Sink>> sinks_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::thread sampler_;
  bool running_ = false, stopping_ = false;
  std::unique_ptr<Sample> last_;
  meter::Clock::time_point interval_started_;
  std::string phase_;
  Record interval_, total_, step_;
  std::vector<Record> phases_;
};

/// Begins a phase on construction and ends it on destruction.
class PhaseScope {
 public:
  PhaseScope(Tracker& tracker, const std::string& name) : tracker_(tracker) {
    tracker_.begin_phase(name);
  }
  ~PhaseScope() { tracker_.end_phase(); }
  PhaseScope(const PhaseScope&) = delete;
  PhaseScope& operator=(const PhaseScope&) = delete;

 private:
  Tracker& tracker_;
};

/// Human summary of a run: duration, energy by component with each source, kg CO2eq.
std::string format_summary(const RunInfo& info, const Record& total,
                           const std::vector<Record>& phases);

/// A random RFC 4122 version 4 UUID.
std::string random_uuid();

}  // namespace greenai::track
