// Fashion-MNIST as tensors, read from Debian's dataset-fashion-mnist package.
//
//   auto train = greenai::nn::load_fashion_mnist(greenai::nn::Split::kTrain);
//   // train.images: [60000, 1, 28, 28] float in [0, 1]; train.labels: [60000] int64
#pragma once

#include <torch/torch.h>

#include <string>

namespace greenai::nn {

enum class Split { kTrain, kTest };

struct Dataset {
  torch::Tensor images;  ///< [N, 1, 28, 28] float32, pixel / 255 (load_arrays: any [N, ...]).
  torch::Tensor labels;  ///< [N] int64 class indices 0..9; undefined for inputs without labels.
  int64_t size() const { return images.size(0); }
  bool labeled() const { return labels.defined(); }
  /// The first `n` examples (all if n <= 0 or n >= size()); shares storage.
  Dataset head(int64_t n) const;
};

/// $GREENAI_FASHION_MNIST_DIR, else /usr/share/datasets/fashion-mnist.
std::string default_fashion_mnist_dir();

/// Loads a split from `dir` (train-images-idx3-ubyte.gz and friends). Throws greenai::Error
/// naming the file, with the package to install, when a file is missing or corrupt.
Dataset load_fashion_mnist(Split split, const std::string& dir = default_fashion_mnist_dir());

/// A data set from NumPy files as a PyTorch user writes them with np.save: `data` float32 (or
/// any number type) [N, ...] in a .npy or a one-array .npz; `labels` integers [N], or "" for
/// none. Throws greenai::Error naming the file when it cannot be read, holds no examples, or the
/// counts differ.
Dataset load_arrays(const std::string& data, const std::string& labels);

/// Whether `path` names a NumPy file (.npy or .npz) rather than a data directory.
bool is_array_file(const std::string& path);

/// The ten class names of Fashion-MNIST, by label.
const char* fashion_mnist_class(int64_t label);

}  // namespace greenai::nn
