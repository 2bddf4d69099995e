#include "greenai/nn/dataset.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "greenai/error.h"
#include "greenai/nn/idx.h"
#include "greenai/util/npy.h"

namespace greenai::nn {
namespace {

constexpr int64_t kSide = 28;
constexpr const char* kPackageHint =
    "install the data set with `sudo apt-get install dataset-fashion-mnist` (scripts/setup does), "
    "or "
    "set GREENAI_FASHION_MNIST_DIR to a folder holding the four .gz files";

IdxArray read_with_hint(const std::string& path) {
  if (!std::filesystem::exists(path))
    throw Error("cannot read Fashion-MNIST (path=" + path + ")", "no such file", kPackageHint);
  try {
    return read_idx(path);
  } catch (const Error& e) {
    throw Error(e.what(), "the file is damaged",
                "reinstall it: `sudo apt-get install --reinstall dataset-fashion-mnist`");
  }
}

}  // namespace

Dataset Dataset::head(int64_t n) const {
  if (n <= 0 || n >= size()) return *this;
  return {images.narrow(0, 0, n), labels.defined() ? labels.narrow(0, 0, n) : labels};
}

bool is_array_file(const std::string& path) {
  auto ends = [&](const char* suffix) {
    const size_t k = std::strlen(suffix);
    return path.size() > k && path.compare(path.size() - k, k, suffix) == 0;
  };
  return ends(".npy") || ends(".npz");
}

Dataset load_arrays(const std::string& data, const std::string& labels) {
  const util::NpyArray x = util::read_array(data);
  if (x.shape.empty() || x.shape[0] == 0)
    throw Error("cannot read inputs (path=" + data + ")", "it holds no examples",
                "save an array of shape [N, ...], N >= 1");
  std::vector<int64_t> dims(x.shape.begin(), x.shape.end());
  std::vector<float> values = x.to_float32();
  Dataset d;
  d.images = torch::from_blob(values.data(), dims, torch::kFloat32).clone();
  if (labels.empty()) return d;
  const util::NpyArray y = util::read_array(labels);
  if (y.shape.size() != 1 || y.shape[0] != x.shape[0])
    throw Error("cannot read labels (path=" + labels + ")",
                "it must hold one label per example: shape [" + std::to_string(x.shape[0]) + "]");
  std::vector<int64_t> classes = y.to_int64();
  for (int64_t c : classes)
    if (c < 0)
      throw Error("cannot read labels (path=" + labels + ")", "a label is negative",
                  "labels are class indices 0, 1, ...");
  d.labels = torch::from_blob(classes.data(), {static_cast<int64_t>(classes.size())}, torch::kInt64)
                 .clone();
  return d;
}

std::string default_fashion_mnist_dir() {
  const char* env = std::getenv("GREENAI_FASHION_MNIST_DIR");
  return env && *env ? env : "/usr/share/datasets/fashion-mnist";
}

Dataset load_fashion_mnist(Split split, const std::string& dir) {
  const std::string prefix = dir + (split == Split::kTrain ? "/train" : "/t10k");
  IdxArray images = read_with_hint(prefix + "-images-idx3-ubyte.gz");
  IdxArray labels = read_with_hint(prefix + "-labels-idx1-ubyte.gz");
  if (images.dims.size() != 3 || images.dims[1] != kSide || images.dims[2] != kSide)
    throw Error("cannot read Fashion-MNIST (path=" + prefix + "-images-idx3-ubyte.gz)",
                "expected N x 28 x 28 images");
  if (labels.dims.size() != 1 || labels.dims[0] != images.dims[0])
    throw Error("cannot read Fashion-MNIST (path=" + prefix + "-labels-idx1-ubyte.gz)",
                "label count does not match the image count");
  const int64_t n = images.dims[0];
  for (uint8_t label : labels.data)
    if (label > 9)
      throw Error("cannot read Fashion-MNIST (path=" + prefix + "-labels-idx1-ubyte.gz)",
                  "label " + std::to_string(label) + " outside 0..9");
  Dataset data;
  data.images = torch::from_blob(images.data.data(), {n, 1, kSide, kSide}, torch::kUInt8)
                    .to(torch::kFloat32)
                    .div_(255.0);
  data.labels = torch::from_blob(labels.data.data(), {n}, torch::kUInt8).to(torch::kInt64);
  return data;
}

const char* fashion_mnist_class(int64_t label) {
  static const char* kNames[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return label >= 0 && label < 10 ? kNames[label] : "?";
}

}  // namespace greenai::nn
