// A model file of either kind loaded into the edge runtime: an edge file (memory-mapped) or an
// ONNX file (imported into an edge graph held in memory). What `greenai eval` and `greenai
// bench` run.
//
//   interop::RuntimeModel model("student.onnx", /*max_batch=*/64);
//   greenai_edge_infer(model.get(), 1, input, 784, output, 10);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "greenai/edge/format.h"
#include "greenai/edge/greenai_edge.h"

namespace greenai::interop {

class RuntimeModel {
 public:
  /// Whether `path` is a file the edge runtime loads: an edge file, or ONNX it imports.
  static bool loads(const std::string& path);
  /// Throws greenai::Error naming the path when it cannot be read, imported or loaded.
  RuntimeModel(const std::string& path, int max_batch);
  /// An ONNX file imported with its input's per-example shape given (onnx_to_edge).
  RuntimeModel(const std::string& path, int max_batch, const std::vector<uint32_t>& input_shape);
  ~RuntimeModel();
  RuntimeModel(const RuntimeModel&) = delete;
  RuntimeModel& operator=(const RuntimeModel&) = delete;
  greenai_edge_model* get() const { return model_; }
  /// "edge" or "onnx": what the file was.
  const std::string& format() const { return format_; }
  /// "int8" when any operator computes in int8 (a quantized model), else "fp32".
  const std::string& precision() const { return precision_; }

 private:
  std::unique_ptr<edge::AlignedBytes> imported_;  // an ONNX file's edge graph
  greenai_edge_model* model_ = nullptr;
  std::string format_ = "edge";
  std::string precision_ = "fp32";
};

}  // namespace greenai::interop
