// Tuning an inference job: which model variant (fp32, bf16, an int8 edge file), thread count and
// batch size does the work with the least energy under a latency bound. The search measures
// every configuration in a short window, drops those another beats clearly on both energy and
// p99 latency, measures the rest in longer windows, and recommends from the Pareto front of
// energy per 1,000 inferences against p99 latency. Measuring is the caller's (a function), so
// the search runs the same on the meter (jobs/tune.h) and on numbers a test makes up.
//
//   std::vector<tune::InferenceConfig> configs = ...;  // configs[0]: the default
//   tune::InferenceTuneResult r = tune::tune_inference(configs, 0, measure, {});
//   const tune::InferenceRow& best = r.rows[r.recommended];
#pragma once

#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "greenai/util/json.h"

namespace greenai::tune {

/// One way to run an inference job.
struct InferenceConfig {
  std::string model;      ///< the file
  std::string precision;  ///< "fp32", "bf16", "int8"
  std::string runtime;    ///< "libtorch" or "edge" (one thread)
  int threads = 1;
  int batch = 1;
  /// "fp32 libtorch x2 b1": precision, runtime, threads, batch.
  std::string label() const;
  bool operator==(const InferenceConfig&) const = default;
  /// {"model", "precision", "runtime", "threads", "batch"}: the file `greenai tune --write`
  /// saves and `greenai bench --config` and greenai_tuned_config_load() read.
  util::Json to_json() const;
  /// Throws greenai::Error naming `source` and the field when one is missing or out of range.
  static InferenceConfig from_json(const util::Json& json, const std::string& source);
};

/// What one window of measurement gave.
struct InferenceSample {
  double energy_j_per_1000 = 0;   ///< joules per 1,000 inferences
  double p50_ms = 0, p99_ms = 0;  ///< latency of one call (a whole batch)
  double inferences_per_s = 0;
  double average_power_w = 0;  ///< over the window
  double seconds = 0;          ///< the window's length
};

/// What to minimise among the configurations within the latency bound.
struct Objective {
  enum class Kind { kEnergy, kEdp, kCost };
  Kind kind = Kind::kEnergy;
  double eta = 0.5;  ///< kCost: Zeus's weight of energy against time
  /// "energy", "edp" or "cost:ETA" (ETA in [0, 1]); throws greenai::Error otherwise.
  static Objective parse(const std::string& text);
  std::string to_string() const;
  /// energy: J per 1,000 inferences; edp: that x seconds per inference (energy-delay product);
  /// cost: eta x energy + (1 - eta) x max_power_w x time, per 1,000 inferences (Zeus's cost,
  /// max_power_w the highest average power of any configuration measured).
  double value(const InferenceSample& s, double max_power_w) const;
};

struct InferenceTuneOptions {
  double first_window_s = 0.25;  ///< the first round's window per configuration
  int rounds = 3;                ///< each round's window is 3 x the last's
  /// A configuration is dropped when another has both energy and p99 lower by this fraction
  /// (measurement noise is not a verdict) or its p99 passes the bound by this fraction.
  double margin = 0.15;
  double max_p99_ms = std::numeric_limits<double>::infinity();
  /// When > 0: the bound is this times the lowest p99 measured (the fastest configuration).
  double max_p99_ratio = 0;
  Objective objective;
};

/// One configuration's outcome.
struct InferenceRow {
  InferenceConfig config;
  InferenceSample sample;  ///< from the last round it was measured in
  int rounds = 0;          ///< rounds measured
  bool pareto = false;     ///< on the front of energy against p99 among those never dropped
  bool within_bound = false;
  std::string dropped;  ///< why it was dropped early ("" when it ran every round)
};

struct InferenceTuneResult {
  std::vector<InferenceRow> rows;  ///< in the order of the configurations given
  int default_row = 0;
  int recommended = -1;  ///< the least objective within the bound; -1 when none is
  double p99_bound_ms = std::numeric_limits<double>::infinity();
  Objective objective;
  double max_power_w = 0;
  /// 1 - recommended's energy / default's (both per inference).
  double energy_saving() const;
  /// {"objective", "p99_bound_ms", "default", "recommended", "energy_saving", "rows": [...]}.
  util::Json to_json() const;
  /// The table (J per 1,000 inferences, p50/p99 ms, inferences/s, front, dropped) and the
  /// recommendation against the default.
  std::string to_text() const;
};

/// Measures one configuration for about `seconds` (it may run longer to reach enough calls).
using MeasureInference =
    std::function<InferenceSample(const InferenceConfig& config, double seconds)>;

/// The search above over `configs` (configs[default_index] is the default, always measured in
/// every round so that the saving is measured side by side). Throws greenai::Error when
/// `configs` is empty or the options are out of range.
InferenceTuneResult tune_inference(const std::vector<InferenceConfig>& configs, int default_index,
                                   const MeasureInference& measure,
                                   const InferenceTuneOptions& options);

/// Reads a configuration file `greenai tune --write` saved; throws greenai::Error with the path
/// and the fix when it is missing or malformed.
InferenceConfig load_inference_config(const std::string& path);
/// Writes it (JSON); throws greenai::Error when the file cannot be written.
void save_inference_config(const InferenceConfig& config, const std::string& path);

}  // namespace greenai::tune
