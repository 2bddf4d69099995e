// What a measured model run reports, as typed results: the accuracy of an evaluation and the
// latency and energy of a benchmark. These are the JSON of `greenai eval --json` and
// `greenai bench --json`, owned here so that the commands that write them and the pipeline that
// reads them share one schema (docs/pipeline.md).
//
//   track::BenchRow row{.model = path, .runtime = "LibTorch fp32", .batch = 64};
//   row.energy = track::per_thousand_inferences(phase_record, inferences);
//   json.push(row.to_json());
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "greenai/track/tracker.h"
#include "greenai/util/json.h"

namespace greenai::track {

/// How the energy and carbon figures were obtained.
struct Provenance {
  std::string energy;  ///< "measured (RAPL)", "estimated (...)", ...
  /// Per component ("cpu", "ram", "gpu"): the sensor and how it reads.
  std::vector<std::pair<std::string, std::string>> sources;
  std::string intensity;  ///< where the carbon intensity came from
  double pue = 1;
  /// A tracker's, from what it found at start.
  static Provenance of(const RunInfo& info);
  util::Json to_json() const;
  static Provenance from_json(const util::Json& json);
};

/// Energy (joules, per component) and emissions (kg CO2eq) per 1,000 inferences.
struct PerThousandInferences {
  Energy energy;
  double emissions_kg = 0;
  /// {"cpu_j", "ram_j", "gpu_j", "total_j", "emissions_kg"}
  util::Json to_json() const;
  /// Throws greenai::Error on a missing or mistyped field.
  static PerThousandInferences from_json(const util::Json& json);
};

/// {"cpu_j", "ram_j", "gpu_j", "total_j", "emissions_kg"}: energy and emissions as every JSON
/// result of greenai writes them.
util::Json energy_to_json(const Energy& energy, double emissions_kg);

/// "12.3 J, 4.56e-06 kg CO2eq (estimated ...)": energy and emissions as every line of text of
/// greenai says them, with where they came from.
std::string energy_text(const Energy& energy, double emissions_kg, const std::string& provenance);

/// Energy and emissions spent on `inferences` inferences, per 1,000 of them (all zero when
/// `inferences` is not positive).
PerThousandInferences per_thousand_inferences(const Energy& energy, double emissions_kg,
                                              double inferences);
/// The same for the tracked tree over a span.
PerThousandInferences per_thousand_inferences(const Record& span, double inferences);

/// Latencies of timed calls.
struct CallTimes {
  std::vector<double> micros;  ///< one per call, sorted ascending
  double seconds = 0;          ///< the timed loop's wall time
  /// The p-quantile (0..1) of the latencies: the value at rank floor(p x calls), the last for
  /// p = 1. Requires at least one call.
  double percentile(double p) const;
};

/// Calls `call` for a warm-up of `warm_up_s`, then times it call by call for at least `seconds`
/// and at least `min_calls` calls.
CallTimes time_calls(const std::function<void()>& call, double seconds, size_t min_calls = 20,
                     double warm_up_s = 0.2);

/// What an evaluation of a model file reports (`greenai eval --json`), the fields every kind of
/// model has.
struct EvalSummary {
  std::string model;         ///< the file evaluated
  double accuracy = 0;       ///< test accuracy, 0..1
  double test_examples = 0;  ///< how many test examples it was measured on
  double size_bytes = 0;     ///< the file's size
  double parameters = 0;     ///< parameter count; 0 where the file does not say (edge files)
  /// Throws greenai::Error on a missing or mistyped field.
  static EvalSummary from_json(const util::Json& json);
};

/// One row of a benchmark (`greenai bench --json`): one model at one batch size.
struct BenchRow {
  std::string model;    ///< the file benchmarked
  std::string runtime;  ///< what ran it, e.g. "greenai edge (avx2)"
  int batch = 1;
  double calls = 0;               ///< timed calls
  double p50_us = 0, p99_us = 0;  ///< latency of one call (one batch), microseconds
  double inferences_per_s = 0;
  PerThousandInferences energy;
  util::Json to_json() const;
  /// Throws greenai::Error on a missing or mistyped field.
  static BenchRow from_json(const util::Json& json);
};

}  // namespace greenai::track
