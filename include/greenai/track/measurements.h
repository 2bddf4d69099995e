// What a measured model run reports, as typed results: the accuracy of an evaluation and the
// latency and energy of a benchmark. These are the JSON of `greenai eval --json` and
// `greenai bench --json`, owned here so that the commands that write them and the pipeline that
// reads them share one schema (docs/pipeline.md).
//
//   track::BenchRow row{.model = path, .runtime = "LibTorch fp32", .batch = 64};
//   row.energy = track::per_thousand_inferences(phase_record, inferences);
//   json.push(row.to_json());
#pragma once

#include <string>

#include "greenai/track/tracker.h"
#include "greenai/util/json.h"

namespace greenai::track {

/// Energy (joules, per component) and emissions (kg CO2eq) per 1,000 inferences.
struct PerThousandInferences {
  Energy energy;
  double emissions_kg = 0;
  /// {"cpu_j", "ram_j", "gpu_j", "total_j", "emissions_kg"}
  util::Json to_json() const;
  /// Throws greenai::Error on a missing or mistyped field.
  static PerThousandInferences from_json(const util::Json& json);
};

/// The tracked tree's energy and emissions over a span in which `inferences` inferences were
/// made, per 1,000 of them (all zero when `inferences` is not positive).
PerThousandInferences per_thousand_inferences(const Record& span, double inferences);

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
