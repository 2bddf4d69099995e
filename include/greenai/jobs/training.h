// Training, distillation and pruning as tracked jobs, as `greenai train`, `distill` and `prune`
// run them: the model trained, its checkpoint written with its metadata (architecture,
// hyper-parameters, accuracy, energy and its provenance), and the figures as typed reports.
//
//   jobs::TrainSetup setup{.options = options};
//   jobs::TrainedModel t = jobs::train_model("teacher", nn::teacher_spec(), setup, data, "t.pt",
//                                            *tracker);
//   std::printf("%.2f %%\n", 100 * t.report.final_test.accuracy);
#pragma once

#include <string>

#include "greenai/compress/distill.h"
#include "greenai/dist/process_group.h"
#include "greenai/nn/dataset.h"
#include "greenai/nn/model.h"
#include "greenai/nn/trainer.h"
#include "greenai/track/tracker.h"
#include "greenai/util/json.h"

namespace greenai::jobs {

struct TrainData {
  nn::Dataset train, test;
};

/// The optimiser's settings, and what the precision probe said where it was consulted
/// (nn::PrecisionChoice::note; null otherwise).
struct TrainSetup {
  nn::TrainOptions options;
  util::Json precision_note;
  /// Data-parallel training (null: one process): each rank trains on its shard of the training
  /// set (every world-size-th example from its rank on), gradients averaged over the group
  /// after each backward; rank 0 writes the checkpoint with every rank's energy.
  dist::Group* group = nullptr;
};

/// The batch size an architecture ("student", "teacher", "cnn", ...) trains at by default. The
/// student has so few multiply-adds per example that per-step overhead dominates: it learns more
/// per joule from more, smaller steps (128). The teacher and the cnn use batches large enough for
/// bf16 to pay (512). Measured: docs/training.md.
int64_t default_batch(const std::string& arch);

/// A trained model, written.
struct TrainedModel {
  nn::Net net{nullptr};
  nn::TrainReport report;  ///< empty where nothing was trained (pruning without fine-tuning)
  /// The checkpoint's metadata (FILE.json), with "checkpoint" and "size_bytes" added: what
  /// --json prints.
  util::Json info;
  std::string checkpoint;
  double size_bytes = 0;
  std::string provenance;  ///< how the energy figures were obtained (measured or estimated)
  /// One line for people: what was made, its accuracy, the time and energy it took, the file.
  std::string summary;
  /// One line per epoch: loss, test accuracy, time, throughput, energy.
  std::string epochs_text() const;
};

/// Trains `spec` from scratch (seeded by the options) with cross-entropy, `tracker` started and
/// stopped here; writes `out` and out.json.
TrainedModel train_model(const std::string& model, const nn::ModelSpec& spec,
                         const TrainSetup& setup, const TrainData& data, const std::string& out,
                         track::Tracker& tracker);

struct Distilled : TrainedModel {
  track::Energy teacher_energy;  ///< the teacher's logits, computed once (phase "teacher logits")
  double teacher_kg = 0;
};

/// Trains a student 784-`hidden`-10 from the teacher checkpoint `teacher`.
Distilled distill_model(const std::string& teacher, int64_t hidden,
                        const compress::DistillOptions& distill, const TrainSetup& setup,
                        const TrainData& data, const std::string& out, track::Tracker& tracker);

struct PruneRequest {
  std::string source;  ///< the checkpoint to prune
  double sparsity = 0.9;
  bool structured = false;  ///< whole units (the model shrinks) instead of single weights
};

struct Pruned : TrainedModel {
  std::string source_architecture;
  nn::EvalReport before, right_after;  ///< test accuracy before and right after pruning
  double accuracy = 0;                 ///< after fine-tuning (right_after's without)
  int64_t weights_before = 0, weights_left = 0;
};

/// Prunes, then fine-tunes for setup.options.epochs (0: none) keeping pruned weights at zero,
/// at setup.options.batch_size (0: default_batch of the source's architecture).
Pruned prune_model(const PruneRequest& request, const TrainSetup& setup, const TrainData& data,
                   const std::string& out, track::Tracker& tracker);

}  // namespace greenai::jobs
