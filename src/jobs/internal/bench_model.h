// One model loaded for timing, shared by `bench` (measure.cpp) and `tune` (tune.cpp): an edge or
// ONNX file on the edge runtime (one thread), or a checkpoint on LibTorch (its current thread
// count, fp32 or bf16 autocast).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "greenai/edge/greenai_edge.h"
#include "greenai/error.h"
#include "greenai/interop/runtime_model.h"
#include "greenai/nn/checkpoint.h"
#include "greenai/nn/precision.h"
#include "greenai/track/measurements.h"

namespace greenai::jobs::internal {

class BenchModel {
 public:
  /// Throws greenai::Error naming the file when it cannot be loaded.
  BenchModel(const std::string& path, int max_batch, const std::vector<uint32_t>& input_shape)
      : path_(path) {
    if (interop::RuntimeModel::loads(path)) {
      edge_ = std::make_unique<interop::RuntimeModel>(path, max_batch, input_shape);
      input_size_ = greenai_edge_input_size(edge_->get());
    } else {
      checkpoint_ = nn::load_checkpoint(path);
      checkpoint_->net->eval();
      input_size_ = 1;
      for (int64_t d : checkpoint_->net->spec().input_shape) input_size_ *= d;
    }
  }
  bool on_edge() const { return edge_ != nullptr; }
  size_t input_size() const { return input_size_; }
  /// "int8" or "fp32" for an edge or ONNX file; checkpoints run in whatever precision is asked.
  std::string file_precision() const { return edge_ ? edge_->precision() : "fp32"; }
  /// "edge avx512-vnni (onnx)", "libtorch fp32 x2": what ran.
  std::string runtime(nn::Precision precision = nn::Precision::kFp32) const {
    if (edge_)
      return std::string("edge ") + greenai_edge_kernels(edge_->get()) +
             (edge_->format() == "onnx" ? " (onnx)" : "");
    return std::string("libtorch ") + nn::to_string(precision) + " x" +
           std::to_string(torch::get_num_threads());
  }

  /// The latencies of calls at `batch` on `input` (checkpoints under `precision`'s autocast).
  track::CallTimes time(int batch, std::vector<float>& input, double seconds,
                        nn::Precision precision = nn::Precision::kFp32) {
    if (edge_) {
      std::vector<float> output(greenai_edge_output_size(edge_->get()) * batch);
      greenai_edge_model* m = edge_->get();
      return track::time_calls(
          [&] {
            if (greenai_edge_infer(m, batch, input.data(), input.size(), output.data(),
                                   output.size()) != GREENAI_EDGE_OK)
              throw Error("cannot run edge model (path=" + path_ + ")", greenai_edge_last_error(m));
          },
          seconds);
    }
    std::vector<int64_t> shape{batch};
    for (int64_t d : checkpoint_->net->spec().input_shape) shape.push_back(d);
    torch::Tensor x = torch::from_blob(input.data(), shape, torch::kFloat32);
    torch::NoGradGuard no_grad;
    nn::AutocastScope autocast(precision, torch::kCPU);
    return track::time_calls([&] { checkpoint_->net->forward(x); }, seconds);
  }

 private:
  std::string path_;
  std::unique_ptr<interop::RuntimeModel> edge_;
  std::optional<nn::Checkpoint> checkpoint_;
  size_t input_size_ = 0;
};

}  // namespace greenai::jobs::internal
