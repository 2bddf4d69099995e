// A learnable synthetic stand-in for Fashion-MNIST, shared by the fl tests and their client
// worker: each class lights its own block of pixels.
#pragma once

#include <torch/torch.h>

#include "greenai/nn/dataset.h"

namespace greenai::fl::testing {

inline nn::Dataset synthetic(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  nn::Dataset d;
  d.labels = torch::randint(0, 10, {n}, torch::kInt64);
  d.images = 0.1 * torch::rand({n, 1, 28, 28});
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = d.labels[i].item<int64_t>();
    d.images[i][0].narrow(0, c * 2, 2).add_(1.0);
  }
  return d;
}

}  // namespace greenai::fl::testing
