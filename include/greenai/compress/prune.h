// Pruning: global magnitude pruning (unstructured, with masks kept during fine-tuning) and
// structured pruning that removes whole neurons and channels, so the smaller model really is
// smaller and cheaper, not just masked.
//
//   auto masks = greenai::compress::magnitude_prune(net, 0.9);        // 90 % of weights zero
//   options.after_step = [&](greenai::nn::Net&) { masks.apply(); };
//   greenai::nn::Net small = greenai::compress::structured_prune(net, 0.9);  // ~10 % of weights
//   left
#pragma once

#include <torch/torch.h>

#include <vector>

#include "greenai/nn/model.h"

namespace greenai::compress {

/// Weights (not biases) of Linear and Conv2d layers: what pruning counts and removes.
int64_t prunable_weight_count(const nn::ModelSpec& spec);

/// Masks of unstructured pruning; apply() zeroes the pruned weights again (after an optimizer
/// step, which may have moved them).
struct Masks {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> weight_and_mask;
  void apply() const;
  /// Fraction of prunable weights masked out.
  double sparsity() const;
};

/// Zeroes the `sparsity` fraction of all Linear and Conv2d weights with the smallest magnitude,
/// ranked globally across layers. Throws greenai::Error for sparsity outside [0, 1).
Masks magnitude_prune(nn::Net& net, double sparsity);

/// How many output units of each hidden Linear/Conv2d layer structured_prune keeps.
std::vector<int64_t> structured_keep_counts(const nn::ModelSpec& spec, double sparsity);

/// A new, smaller model: each hidden Linear layer keeps its neurons and each Conv2d layer its
/// channels with the largest L1 norm of incoming weights (Li et al., "Pruning Filters for
/// Efficient ConvNets", ICLR 2017), the same fraction in every hidden layer, chosen so that
/// about `sparsity` of the prunable weights are removed. The output layer keeps all its units.
/// Throws greenai::Error for sparsity outside [0, 1).
nn::Net structured_prune(const nn::Net& net, double sparsity);

}  // namespace greenai::compress
