// The pipeline's results as a type: what `greenai pipeline` writes as results.json
// (schema "greenai.pipeline/1", docs/pipeline.md) and what its report and table are drawn from.
// This file is the one owner of that schema: to_json writes it, from_json reads it back.
//
//   PipelineResults r = PipelineResults::from_json(util::Json::parse(text));
//   if (r.recommendation) std::cout << r.recommendation->variant;
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "greenai/track/measurements.h"
#include "greenai/util/json.h"

namespace greenai::pipeline {

/// The CPU the figures were measured on, as `greenai hardware --json` described it.
struct MeasuredOn {
  std::string architecture;  ///< "x86_64", "aarch64"
  std::string cpu_model;
  double logical_cpus = 0;
  std::vector<std::string> features;          ///< the ISA features that matter, present
  std::vector<std::string> missing_features;  ///< the same, absent
  std::string edge_kernels;                   ///< the kernel set the edge runtime picked
  std::vector<std::string> edge_kernels_runnable;
  /// Environment caps in force (GREENAI_EDGE_KERNELS, ONEDNN_MAX_CPU_ISA, ...): name, value.
  std::vector<std::pair<std::string, std::string>> caps;
  /// As hardware::Hardware::summary says it: "MODEL (ARCH; FEATURES; edge kernels SET)".
  std::string summary() const;
  util::Json to_json() const;
  static MeasuredOn from_json(const util::Json& json);
};

/// Whether bf16 training pays on this CPU, from the measured probe.
struct PrecisionDecision {
  std::string fastest = "fp32";  ///< "fp32" or "bf16"
  bool bf16_accelerated = false;
  double bf16_speedup = 0;  ///< fp32 step time / bf16 step time
  std::string reason;
  util::Json to_json() const;
  static PrecisionDecision from_json(const util::Json& json);
};

using track::Provenance;

/// One model the pipeline made, measured.
struct VariantResult {
  std::string name;       ///< "teacher", "pruned-int8", ...
  std::string technique;  ///< "int8 post-training quantization", ...
  std::string runtime;    ///< what runs it: "LibTorch fp32", "greenai edge runtime int8"
  std::string file;
  double accuracy = 0;  ///< test accuracy, 0..1
  double parameters = 0;
  double size_bytes = 0;
  double batch1_p50_us = 0, batch1_p99_us = 0, batch64_p50_us = 0, batch64_p99_us = 0;
  double energy_per_1000_j = 0;  ///< at batch 64
  double kg_per_million = 0;     ///< kg CO2eq per 10^6 inferences, at batch 64
  double produce_energy_j = 0;   ///< the stages that made it and the models it came from
  double produce_kg = 0;
  double energy_ratio = 0;          ///< the teacher's energy per inference / this one's
  double size_ratio = 0;            ///< the teacher's file size / this one's
  double accuracy_drop_points = 0;  ///< 100 x (teacher accuracy - this accuracy)
  util::Json to_json() const;
  static VariantResult from_json(const util::Json& json);
};

/// A variant the pipeline did not make on this machine, and why.
struct SkippedVariant {
  std::string name, technique, reason;
  double bf16_speedup = 0;  ///< the measured ratio behind the decision
  util::Json to_json() const;
  static SkippedVariant from_json(const util::Json& json);
};

/// One stage's cost (from this run, or from the run that made it when cached).
struct StageCost {
  std::string label;
  double seconds = 0, energy_j = 0, kg = 0;
  bool cached = false;
  util::Json to_json() const;
  static StageCost from_json(const util::Json& json);
};

struct Recommendation {
  std::string variant;
  double budget_points = 1;
};

struct PipelineResults {
  static constexpr const char* kSchema = "greenai.pipeline/1";
  std::string version, created, dataset;
  bool quick = false;
  double test_examples = 0;
  std::string teacher = "teacher";  ///< the variant the others are compared with
  MeasuredOn hardware;
  PrecisionDecision precision_advice;
  std::vector<VariantResult> variants;
  std::vector<SkippedVariant> skipped;
  std::vector<StageCost> stages;
  std::optional<Recommendation> recommendation;
  double total_j = 0, emissions_kg = 0, seconds = 0;  ///< the whole pipeline
  Provenance provenance;

  /// The variant of that name, or nullptr.
  const VariantResult* variant(const std::string& name) const;
  util::Json to_json() const;
  /// Throws greenai::Error naming the field when one is missing, mistyped, or the schema is not
  /// kSchema.
  static PipelineResults from_json(const util::Json& json);
};

/// The variant with the least energy per inference whose accuracy is within `budget_points`
/// points of the teacher's (accuracy_drop_points <= budget), or nullopt when none is. Ties go
/// to the earlier variant.
std::optional<std::string> least_energy_within(const std::vector<VariantResult>& variants,
                                               double budget_points);

/// Fills each variant's ratios against the teacher (energy, size, accuracy drop). Throws
/// greenai::Error when there is no variant named `teacher`.
void compare_with_teacher(std::vector<VariantResult>& variants, const std::string& teacher);

}  // namespace greenai::pipeline
