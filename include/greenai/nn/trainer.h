// A generic training loop on LibTorch: mini-batches, Adam or SGD, fp32/bf16/fp16, per-epoch
// evaluation, and the energy of every epoch from the Tracker.
//
// The loss is a function of the logits and the batch, so the same loop trains with plain
// cross-entropy, with a distillation loss (teacher logits looked up by example index), or
// anything else. An after-step hook lets pruning keep its masks during fine-tuning.
//
//   greenai::nn::TrainOptions options{.epochs = 10, .seed = 1};
//   auto report = greenai::nn::train(net, train_set, test_set, greenai::nn::cross_entropy_loss(),
//   options);
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "greenai/nn/dataset.h"
#include "greenai/nn/model.h"
#include "greenai/nn/precision.h"
#include "greenai/track/tracker.h"
#include "greenai/util/json.h"

namespace greenai::nn {

struct Batch {
  torch::Tensor images, labels;
  torch::Tensor indices;  ///< Positions of the examples in the training set.
};

using LossFn = std::function<torch::Tensor(const torch::Tensor& logits, const Batch& batch)>;
LossFn cross_entropy_loss();

struct TrainProgress {
  int epoch = 0, epochs = 0;
  int64_t step = 0, steps = 0;  ///< Within the epoch.
  double loss = 0;              ///< Running mean over the epoch so far.
  double examples_per_s = 0;    ///< Training throughput over the epoch so far.
  /// Seconds of training left at the pace so far (evaluations not counted).
  double eta_s = 0;
  /// "epoch 2/5 [#####...............]  25% loss 0.4312, 51234 ex/s, 1 min 10 s left"; without
  /// the bar where the line is shown after other text (the pipeline's).
  std::string to_text(bool bar) const;
};

struct TrainOptions {
  int epochs = 10;
  int64_t batch_size = 128;
  double learning_rate = 1e-3;
  std::string optimizer = "adam";  ///< "adam" or "sgd" (momentum 0.9).
  double weight_decay = 0;
  /// "cosine" (from learning_rate down to 0 over the run, per step) or "constant".
  std::string schedule = "cosine";
  Precision precision = Precision::kFp32;
  uint64_t seed = 0;
  torch::Device device = torch::kCPU;
  /// Called after every optimizer step (e.g. to re-apply pruning masks).
  std::function<void(Net&)> after_step;
  /// Called between backward and the optimizer step (data-parallel training averages the
  /// gradients over the ranks here: greenai::dist::allreduce_gradients).
  std::function<void(Net&)> after_backward;
  std::function<void(const TrainProgress&)> on_progress;
  /// Energy of each epoch (phases "train epoch N" and "evaluate"), if set.
  track::Tracker* tracker = nullptr;
  /// Evaluate on the test set after each epoch (otherwise only after the last).
  bool evaluate_every_epoch = true;
  /// The hyperparameters: {"epochs", "batch", "lr", "optimizer", "schedule", "precision",
  /// "seed", "threads"} (LibTorch's thread count now).
  util::Json to_json() const;
};

struct EvalReport {
  double accuracy = 0;  ///< Fraction correct, 0..1.
  double loss = 0;      ///< Mean cross-entropy.
  int64_t examples = 0;
  double seconds = 0;
  track::Energy energy;  ///< Of the evaluation, when a tracker was given.
  double emissions_kg = 0;
  /// {"accuracy", "loss", "examples", "seconds", "energy"}
  util::Json to_json() const;
};

struct EpochReport {
  int epoch = 0;
  double train_loss = 0;
  double seconds = 0;
  double examples_per_s = 0;
  track::Energy energy;  ///< Training only, evaluation excluded.
  double emissions_kg = 0;
  EvalReport test;  ///< Empty unless evaluated this epoch.
};

struct TrainReport {
  std::vector<EpochReport> epochs;
  double seconds = 0;
  double examples_per_s = 0;
  track::Energy energy;  ///< Sum of the epochs' training energy.
  double emissions_kg = 0;
  EvalReport final_test;
  int64_t skipped_steps = 0;  ///< fp16 steps skipped for inf/NaN gradients.
  /// {"epochs": [...], "seconds", "examples_per_s", "energy", "test", "skipped_fp16_steps"}
  util::Json to_json() const;
};

/// Trains `net` in place. Throws greenai::Error for options that cannot work here (fp16 on CPU,
/// a non-positive batch size or epoch count, an unknown optimizer).
TrainReport train(Net& net, const Dataset& train_set, const Dataset& test_set, const LossFn& loss,
                  const TrainOptions& options);

/// Accuracy and loss on `data` (in eval mode, no gradients), tracked as phase `phase` if a
/// tracker is given.
EvalReport evaluate(Net& net, const Dataset& data, int64_t batch_size = 1000,
                    Precision precision = Precision::kFp32, torch::Device device = torch::kCPU,
                    track::Tracker* tracker = nullptr, const std::string& phase = "evaluate");

/// Logits of `net` for every example of `data`, in order (eval mode, no gradients).
torch::Tensor predict_logits(Net& net, const Dataset& data, int64_t batch_size = 1000,
                             torch::Device device = torch::kCPU);

}  // namespace greenai::nn
