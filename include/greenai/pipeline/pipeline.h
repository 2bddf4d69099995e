// The green pipeline (docs/pipeline.md): train a teacher (fp32, and bf16 where it pays), distill
// a student, prune, quantize each to int8, evaluate and benchmark every variant, each stage a
// metered child process, cached by content; the results as a PipelineResults.
//
//   track::Supervisor supervisor(tree, {SIGINT, SIGTERM, SIGHUP});
//   PipelineResults r = pipeline::run(options, tracker, supervisor, print_progress);
#pragma once

#include <string>
#include <vector>

#include "greenai/pipeline/results.h"
#include "greenai/pipeline/stage_runner.h"
#include "greenai/track/tracker.h"

namespace greenai::pipeline {

struct PipelineOptions {
  std::string out = "greenai-pipeline";    ///< results.json, report.html and stages/ go here
  bool quick = false;                      ///< 10,000 training and 2,000 test examples, few epochs
  bool fresh = false;                      ///< ignore the stage cache
  double budget_points = 1.0;              ///< the accuracy budget of the recommendation
  std::string limit_train, limit_test;     ///< the data slice ("" = quick's, or the whole set)
  std::string program;                     ///< the program that runs the stages (greenai-torch)
  std::vector<std::string> tracking_args;  ///< carbon-intensity flags passed to the stages
  /// Bring your own model: an ONNX file, its calibration inputs and labelled evaluation data
  /// (NumPy files). The recipe then imports, quantizes and measures that model (fp32, int8,
  /// int8 with an automatic fp32 fallback) instead of training Fashion-MNIST ones.
  std::string model, calibration, eval_data, labels;
};

/// A model the recipe makes: the stage that writes it, and the variant it was made from (whose
/// production energy it inherits, and whose parameter count an edge file reports).
struct VariantSpec {
  std::string name, technique, runtime;
  std::string stage;      ///< the stage that writes it
  std::string file;       ///< "{stage:NAME}/model.pt"
  std::string made_from;  ///< a variant's name, or ""
};

/// A stage, and the bar of the per-stage chart its cost goes to (stages may share a bar).
struct RecipeStage {
  StageSpec spec;
  std::string chart_label;
};

/// Every stage after the hardware probe, in order, and the variants they make.
struct Recipe {
  std::string baseline = "teacher";  ///< the variant the others are compared with
  std::vector<RecipeStage> stages;
  std::vector<VariantSpec> variants;
  std::vector<SkippedVariant> skipped;
};

/// The hardware probe, the first stage, whose decision shapes the recipe.
StageSpec probe_stage();

/// The recipe for these options, on a CPU where bf16 training is (or is not) accelerated.
Recipe make_recipe(const PipelineOptions& options, const PrecisionDecision& precision);

/// The variants' results from the stages' outputs: evaluations ("eval-NAME") and the benchmark
/// ("bench"), ratios against the teacher, in the recipe's order. Throws greenai::Error when an
/// output lacks a field or a variant lacks a benchmark row at batch 1 or 64.
std::vector<VariantResult> variant_results(const Recipe& recipe, const StageRunner& runner);

/// Runs the whole pipeline. `progress` sees every stage (cached, started, finished). Starts and
/// stops `tracker` (its phases are the stages). Throws Stopped when a forwarded signal came
/// (the stages before are cached), greenai::Error when a stage fails.
PipelineResults run(const PipelineOptions& options, track::Tracker& tracker,
                    track::Supervisor& supervisor, const Progress& progress);

}  // namespace greenai::pipeline
