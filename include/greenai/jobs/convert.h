// Turning a checkpoint into a deployable model, as `greenai quantize` and `greenai export` do:
// fp32, static int8 (calibrated) or dynamic int8, written as an edge file or checked ONNX, with
// the choice of layers kept in fp32 measured on held-out training examples when asked.
//
//   jobs::ConvertRequest r{.model = "teacher.pt", .out = "teacher.int8.edge"};
//   r.keep_fp32_auto = true;
//   jobs::ConvertResult done = jobs::convert_model(r);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "greenai/compress/graph_quantize.h"
#include "greenai/compress/quantize.h"
#include "greenai/nn/dataset.h"
#include "greenai/util/json.h"

namespace greenai::jobs {

struct ConvertRequest {
  std::string model;  ///< a checkpoint (FILE + FILE.json), or an edge file to change format only
  std::string out;
  std::string format = "edge";  ///< "edge" or "onnx"
  /// "int8", "dynamic" or "fp32"; "" for an edge file, whose precision is fixed.
  std::string precision = "int8";
  compress::QuantizeOptions quantize;  ///< observer, weight bits and layers kept in fp32
  /// int8: choose the layer to keep in fp32 by measuring each on held-out training examples
  /// (kHeldOutExamples after the calibration ones), if one helps by more than kMinimumGain.
  bool keep_fp32_auto = false;
  int64_t calibration = 1000;  ///< the first N training examples calibrate int8 activations
  /// An ONNX model's calibration inputs: a NumPy [N, ...] float file (the first `calibration`
  /// of them are used).
  std::string calibration_file;
  /// Fashion-MNIST, for calibration and the fp32 layer choice.
  std::string data_dir = nn::default_fashion_mnist_dir();
};

inline constexpr int64_t kHeldOutExamples = 2000;
inline constexpr double kMinimumGain = 0.001;

/// Weight bits that run fastest here: 7 where the edge runtime picks its avx2 kernels (no VNNI:
/// one instruction fewer per product), else 8.
int weight_bits_for_this_cpu();

struct ConvertResult {
  ConvertRequest request;
  std::string precision;  ///< as written: the request's, or "unchanged" for an edge file
  bool from_edge = false;
  size_t size_bytes = 0;                                ///< what was written
  double source_bytes = 0;                              ///< the input file's size
  std::vector<compress::LayerSensitivity> sensitivity;  ///< keep_fp32_auto's trials
  /// An ONNX model: "onnx" as the source; its operators kept in fp32 (described), how many of
  /// its operators became int8, the calibration examples used, and keep_fp32_auto's choice.
  bool from_onnx = false;
  std::vector<std::string> kept_fp32_operators;
  size_t int8_operators = 0, graph_operators = 0;
  int64_t calibration_examples = 0;
  std::optional<compress::FallbackChoice> fallback;
  /// `greenai quantize --json`: {"model", "out", "format", "precision", "observer",
  /// "calibration_examples", "weight_bits", "size_bytes", "source_bytes", "onnx_checker",
  /// "kept_fp32_layers"[, "layer_sensitivity"]}.
  util::Json to_json() const;
  /// "wrote FILE: int8 edge model, N bytes (checkpoint M bytes, 4.0x smaller)..."
  std::string to_text() const;
};

/// Converts and writes. Throws greenai::Error for a request that cannot be honoured (an unknown
/// format or precision, a precision asked of an edge file, dynamic int8 as ONNX, fp32 layers
/// for a precision other than int8), naming the option and the fix, and for unreadable inputs
/// or an unwritable output.
ConvertResult convert_model(const ConvertRequest& request);

}  // namespace greenai::jobs
