// `greenai tune MODEL`: the least-energy way to serve a model on this machine, measured. Builds the
// configurations (the model and its variants; LibTorch thread counts and bf16 where this CPU has
// bf16 instructions; batch sizes), measures each with the meter in the windows of
// tune::tune_inference, and reports the Pareto table and the recommendation against the default
// (the model at all threads, batch 1, fp32).
//
//   jobs::InferenceTuneRequest req{.model = "teacher.pt", .variants = {"teacher.int8.edge"}};
//   req.options.max_p99_ratio = 2;
//   auto tracker = greenai::track::Tracker::for_this_process();
//   jobs::InferenceTuneReport r = jobs::tune_model(req, *tracker);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "greenai/hardware/cpu.h"
#include "greenai/track/measurements.h"
#include "greenai/track/tracker.h"
#include "greenai/tune/inference.h"
#include "greenai/util/json.h"

namespace greenai::jobs {

struct InferenceTuneRequest {
  std::string model;                  ///< a checkpoint, edge or ONNX file: the default's
  std::vector<std::string> variants;  ///< more files of the same task (int8 edge files, ...)
  std::vector<int> batches{1, 8, 64};
  /// LibTorch thread counts; empty: 1 to the logical CPUs here. The edge runtime runs one.
  std::vector<int> threads;
  /// Checkpoints also under bf16 autocast, where the CPU has AVX-512 BF16 or AMX.
  bool bf16 = true;
  std::vector<uint32_t> input_shape;  ///< ONNX files: the per-example input shape
  tune::InferenceTuneOptions options;
};

struct InferenceTuneReport {
  tune::InferenceTuneResult result;
  std::vector<std::string> notes;  ///< what was left out and why (bf16 on this CPU, ...)
  hardware::Hardware hardware;
  track::Provenance provenance;
  /// `greenai tune MODEL --json`: result's fields, "notes", "hardware", "provenance".
  util::Json to_json() const;
  /// The table, the recommendation, the notes, the hardware and the energy's provenance.
  std::string to_text() const;
};

/// Throws greenai::Error naming the file when a model cannot be loaded or run, or when the
/// request is empty or out of range.
InferenceTuneReport tune_model(const InferenceTuneRequest& request, track::Tracker& tracker);

}  // namespace greenai::jobs
