// Measuring a model as the CLI's `eval` and `bench` do, as library calls with typed results:
// test accuracy and energy per 1,000 inferences of a checkpoint (LibTorch) or an edge or ONNX
// file (the edge runtime), and latency, throughput and energy of models side by side. Each
// result's to_json is the command's --json output; the pipeline reads them through
// track::EvalSummary and track::BenchRow.
//
//   auto tracker = greenai::track::Tracker::for_this_process();
//   jobs::EdgeEvaluation e = jobs::evaluate_edge("teacher.int8.edge", test, {.batch = 64},
//   *tracker); std::printf("%.2f %%\n", 100 * e.accuracy);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "greenai/hardware/cpu.h"
#include "greenai/nn/dataset.h"
#include "greenai/nn/precision.h"
#include "greenai/track/measurements.h"
#include "greenai/track/tracker.h"
#include "greenai/util/json.h"

namespace greenai::jobs {

struct EvalOptions {
  int64_t batch = 64;  ///< examples per call
  int64_t repeat = 3;  ///< passes over the test set (the energy is divided by all inferences)
  nn::Precision precision = nn::Precision::kFp32;  ///< checkpoints only
  bool keep_outputs = false;  ///< edge and ONNX files: keep every example's outputs (logits)
};

/// An edge or ONNX file evaluated by the edge runtime (one thread, as on a small device).
struct EdgeEvaluation {
  std::string model;         ///< the file
  std::string format;        ///< "edge" or "onnx"
  std::string kernels;       ///< the edge kernel set that ran, e.g. "avx2"
  bool labeled = true;       ///< whether the inputs came with labels (else no accuracy)
  double accuracy = 0;       ///< top-1 on the test set, 0..1
  double top5_accuracy = 0;  ///< top-5 (top-k for fewer than 5 classes: 1)
  int64_t test_examples = 0;
  int64_t outputs_per_example = 0;
  std::vector<float> outputs;  ///< [test_examples, outputs_per_example] with keep_outputs
  double size_bytes = 0, arena_bytes = 0;
  int64_t batch = 0;
  double inferences_per_s = 0;
  track::PerThousandInferences per_1000;
  std::vector<int64_t> predictions;  ///< the predicted class of each test example
  hardware::Hardware hardware;
  track::Provenance provenance;
  /// `greenai eval --json` for an edge or ONNX file.
  util::Json to_json() const;
  /// One line for people: accuracy, size, throughput, energy per 1,000 inferences.
  std::string to_text() const;
};

/// Runs the test set `options.repeat` times through the model, metered as the phase "edge
/// inference" of `tracker` (started and stopped here). Throws greenai::Error naming the file
/// when it cannot be loaded or run, or when its input size is not the data set's.
EdgeEvaluation evaluate_edge(const std::string& path, const nn::Dataset& test,
                             const EvalOptions& options, track::Tracker& tracker);

/// A checkpoint evaluated by LibTorch (its thread count as set).
struct CheckpointEvaluation {
  std::string model, arch, architecture;  ///< the file, its spec's name and description
  double accuracy = 0, loss = 0;
  int64_t test_examples = 0, parameters = 0, nonzero_parameters = 0;
  double size_bytes = 0;
  int64_t macs_per_inference = 0, batch = 0;
  nn::Precision precision = nn::Precision::kFp32;
  int threads = 1;
  double inferences_per_s = 0;
  track::PerThousandInferences per_1000;
  hardware::Hardware hardware;
  track::Provenance provenance;
  /// `greenai eval --json` for a checkpoint.
  util::Json to_json() const;
  /// One line for people: accuracy, loss, parameters, size, throughput, energy.
  std::string to_text() const;
};

/// The same for a checkpoint (FILE + FILE.json).
CheckpointEvaluation evaluate_checkpoint(const std::string& path, const nn::Dataset& test,
                                         const EvalOptions& options, track::Tracker& tracker);

/// Models timed one after the other in one process.
struct BenchReport {
  std::vector<track::BenchRow> rows;  ///< one per model and batch size, in that order
  hardware::Hardware hardware;
  track::Provenance provenance;
  /// `greenai bench --json`: {"results", "hardware", "provenance"}.
  util::Json to_json() const;
  /// A table, one row per model and batch, then the hardware and the energy's provenance.
  std::string to_text() const;
};

/// Each model at each batch size: a warm-up, then `seconds` (and at least 20 calls) of timed
/// calls on fixed pseudo-random inputs in [0, 1), each case a phase of `tracker` (started and
/// stopped here) whose energy is divided by the inferences made. Edge and ONNX files run on the
/// edge runtime (one thread), checkpoints on LibTorch fp32 with its current thread count.
/// `input_shape`, when not empty, is the per-example input shape ONNX files are imported with;
/// `precision` is what checkpoints run in (bf16: under autocast).
BenchReport bench_models(const std::vector<std::string>& paths, const std::vector<int>& batches,
                         double seconds, track::Tracker& tracker,
                         const std::vector<uint32_t>& input_shape = {},
                         nn::Precision precision = nn::Precision::kFp32);

}  // namespace greenai::jobs
