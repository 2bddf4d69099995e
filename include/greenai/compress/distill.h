// Knowledge distillation (Hinton, Vinyals and Dean, 2015): a small student learns from a large
// teacher's softened outputs as well as from the labels.
//
//   loss = alpha x T^2 x KL(softmax(teacher / T) || softmax(student / T))
//        + (1 - alpha) x cross_entropy(student, labels)
// with the KL divergence averaged over the batch ("batchmean"). The T^2 factor keeps the soft
// term's gradients on the same scale as the hard term's when T changes.
//
//   auto teacher_logits = greenai::nn::predict_logits(teacher, train_set);   // once
//   auto loss = greenai::compress::distillation_loss_fn(teacher_logits, {.temperature = 4, .alpha =
//   0.7}); greenai::nn::train(student, train_set, test_set, loss, options);
#pragma once

#include <torch/torch.h>

#include "greenai/nn/trainer.h"

namespace greenai::compress {

struct DistillOptions {
  /// T > 0; T > 1 softens both distributions. For the 20-unit student, T = 1 measured best
  /// (docs/training.md): a student this small cannot follow the teacher's softened tail.
  double temperature = 1.0;
  double alpha = 0.9;  ///< Weight of the soft (teacher) term, in [0, 1].
};

/// Throws greenai::Error for T <= 0 or alpha outside [0, 1].
void validate(const DistillOptions& options);

/// The distillation loss of one batch (a scalar). Logits are [B, C]; labels [B] class indices.
torch::Tensor distillation_loss(const torch::Tensor& student_logits,
                                const torch::Tensor& teacher_logits, const torch::Tensor& labels,
                                const DistillOptions& options);

/// A training loss that looks up the teacher's logits by example index. `teacher_logits` holds
/// one row per training example, computed once without gradients: the teacher runs in eval
/// mode (no dropout) and the data are not augmented, so its outputs do not change per epoch.
nn::LossFn distillation_loss_fn(torch::Tensor teacher_logits, DistillOptions options);

}  // namespace greenai::compress
