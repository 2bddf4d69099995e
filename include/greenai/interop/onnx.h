// ONNX export and import of edge models, for devices that already run ONNX Runtime.
//
// Export turns an edge file (docs/edge-format.md) into an ONNX model (opset 13): fp32 operators
// one to one; int8 operators in QDQ form, activations uint8 (the edge zero point + 128, the same
// real values), weights int8 per output channel, biases int32, each quantized operator written
// as DequantizeLinear -> Gemm/Conv [-> Relu] -> QuantizeLinear so that runtimes fuse it back into
// an integer kernel. Import reads back the graphs export writes (and fp32 graphs of the same
// operators), so `greenai eval model.onnx` runs an ONNX file through the edge runtime.
//
//   std::string onnx = greenai::interop::edge_to_onnx(edge_bytes);
//   greenai::interop::check_onnx(onnx);                       // the ONNX checker
//   std::vector<uint8_t> edge = greenai::interop::onnx_to_edge(onnx);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace greenai::interop {

/// The ONNX opset the exporter writes.
inline constexpr int kOnnxOpset = 13;

/// A serialized ONNX ModelProto equivalent to the edge file's bytes. Throws greenai::Error for a
/// file the edge loader refuses, an int8 operator without recorded scales (written before they
/// were recorded: quantize again), or an operator with no ONNX form (dynamic quantization).
std::string edge_to_onnx(const std::vector<uint8_t>& edge_bytes);

/// Runs the ONNX checker (with its full check) on a serialized model; throws greenai::Error with
/// the checker's reason.
void check_onnx(const std::string& onnx_bytes);

/// An edge file computing what the ONNX model computes, for the operators and QDQ patterns
/// edge_to_onnx writes. Throws greenai::Error naming the first node it cannot map.
std::vector<uint8_t> onnx_to_edge(const std::string& onnx_bytes);
/// The same with the input's per-example shape given ((N) or (C, H, W)): for an fp32 graph whose
/// input dimensions after the batch are symbolic; a fixed dimension must agree. Empty: the
/// graph's own.
std::vector<uint8_t> onnx_to_edge(const std::string& onnx_bytes,
                                  const std::vector<uint32_t>& input_shape);

/// Whether the file at `path` starts like a serialized ONNX ModelProto (and is not an edge file).
bool looks_like_onnx(const std::string& path);

}  // namespace greenai::interop
