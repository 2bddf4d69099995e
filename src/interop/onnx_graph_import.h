// The importer of fp32 ONNX graphs as exporters write them (PyTorch's torch.onnx.export, opsets
// 11 to 17): any graph of the operators docs/edge-format.md lists, residual adds and concats
// included, with BatchNormalization folded into the convolution or Gemm before it, ReLU fused,
// and the shape arithmetic exporters emit (Shape, Gather, Unsqueeze, Concat of constants) folded
// at import. onnx_to_edge (onnx.h) sends it every graph without QuantizeLinear/DequantizeLinear
// nodes.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <vector>

namespace greenai::interop {

/// The edge file computing what the fp32 graph computes. Throws greenai::Error naming the first
/// node it cannot map (its name, operator and the model's opset).
/// `input_shape`, when not empty, gives the input's per-example dimensions (for symbolic ones).
std::vector<uint8_t> import_float_graph(const ::onnx::ModelProto& model,
                                        const std::vector<uint32_t>& input_shape = {});

}  // namespace greenai::interop
