// The GreenAI edge model format's on-disk records: a compact, memory-mappable file holding a
// sequential graph of fp32 or int8 operators and their tensors. Specified in docs/edge-format.md.
//
// This header needs nothing but the C library's <stddef.h> and <stdint.h>: the runtime includes
// it and nothing heavier, so it builds without the C++ standard library (the portable build,
// scripts/build-edge-portable). format.h adds the builder and reader that tools use.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace greenai::edge {

inline constexpr char kMagic[8] = {'G', 'R', 'N', 'A', 'I', 'E', 'D', 'G'};
inline constexpr uint32_t kVersion = 3;  ///< Written; versions 1 and 2 still load.
inline constexpr uint32_t kOldestVersion = 1;
inline constexpr uint32_t kAlignment = 64;  ///< Of the data section and of every tensor.
inline constexpr uint32_t kNoTensor = 0xFFFFFFFFu;
inline constexpr uint32_t kNoValue = 0xFFFFFFFFu;
inline constexpr uint32_t kMaxDims = 3;  ///< Per-example activation shape: (C, H, W) or (N).

enum class DType : uint32_t { kF32 = 1, kI8 = 2, kI32 = 3 };
size_t dtype_size(DType dtype);

enum class OpKind : uint32_t {
  kLinear = 1,      ///< fp32 y = W x + b, W [out, in]
  kConv2d = 2,      ///< fp32, W [out, in, k, k], square kernel, stride, zero padding
  kReLU = 3,        ///< fp32 or int8 (int8: max(x, zero point))
  kMaxPool2d = 4,   ///< fp32 or int8
  kAvgPool2d = 5,   ///< fp32 or int8 (int8: rounded mean, same scale)
  kFlatten = 6,     ///< (C, H, W) -> (C*H*W), no data movement
  kSoftmax = 7,     ///< fp32, over the features of each example
  kQuantize = 8,    ///< fp32 -> int8: q = clamp(round(x / scale) + zero_point)
  kDequantize = 9,  ///< int8 -> fp32: x = scale (q - zero_point)
  kQLinear = 10,  ///< int8 in/out, int8 per-channel weights, int32 bias, fixed-point requantization
  kQConv2d = 11,  ///< as kQLinear, for convolutions
  kDynamicLinear = 12,  ///< fp32 in/out, int8 per-channel weights; the input is quantized per
                        ///< example at run time (dynamic quantization)
  kAdd = 13,            ///< fp32 or int8: a + b, b the same shape, per channel or one value
  kMul = 14,            ///< fp32 or int8: a x b, broadcast as kAdd
  kConcat = 15,         ///< fp32 or int8: a then b along the first per-example dimension
  kClip = 16,           ///< fp32 or int8: min(max(x, alpha), beta) (ReLU6: 0, 6)
  kSigmoid = 17,        ///< fp32 or int8: 1 / (1 + exp(-x))
  kHardSigmoid = 18,    ///< fp32 or int8: max(0, min(1, alpha x + beta))
  kHardSwish = 19,      ///< fp32 or int8: x max(0, min(1, x / 6 + 1 / 2))
  kReshape = 20,        ///< fp32 or int8: a new per-example shape (int32 tensor), no data moved
};

/// File header, 64 bytes at offset 0.
struct Header {
  char magic[8];
  uint32_t version;
  uint32_t header_bytes;  ///< sizeof(Header)
  uint32_t op_count;
  uint32_t tensor_count;
  uint32_t input_shape[kMaxDims];  ///< Per example; unused trailing dims are 0.
  uint32_t flags;                  ///< Bit 0: holds int8 operators.
  uint64_t data_offset;            ///< Start of tensor data, a multiple of kAlignment.
  uint64_t file_bytes;
  uint32_t checksum;  ///< CRC-32 of the whole file with this field read as 0.
  uint32_t reserved;
};
static_assert(sizeof(Header) == 64);

/// One operator, 64 bytes; the records follow the header.
struct OpRecord {
  OpKind kind;
  uint32_t flags;  ///< Bit 0: ReLU fused into the output.
  uint32_t in;     ///< Linear: input features; Conv2d: input channels.
  uint32_t out;    ///< Linear: output features; Conv2d: output channels.
  uint32_t kernel, stride, padding;
  uint32_t weight, bias;  ///< Tensor indices or kNoTensor.
  /// int8: per-channel requantization, int32 tensors (fixed point); with kFlagFloatRequant the
  /// multiplier is a float32 tensor and shift is kNoTensor.
  uint32_t multiplier, shift;
  int32_t input_zero_point, output_zero_point;
  float scale;  ///< Quantize / Dequantize: the scale; QLinear / QConv2d with kFlagScales: s_out.
  uint32_t weight_scale;  ///< With kFlagScales or kDynamicLinear: float32 per-channel s_w tensor.
  uint32_t reserved;
};
static_assert(sizeof(OpRecord) == 64);
inline constexpr uint32_t kFlagFusedReLU = 1;
/// QLinear / QConv2d also record their real scales (s_out in `scale`, s_w in `weight_scale`).
/// The runtime does not need them; exporters to other formats (ONNX) do.
inline constexpr uint32_t kFlagScales = 2;
/// Version 3: QLinear / QConv2d requantize in float, as ONNX's QLinearConv and QLinearMatMul
/// define it and ONNX Runtime computes it: per channel c, a float32 M_c = s_in s_w[c] / s_out (the
/// `multiplier` tensor, finite and > 0), and code = round_half_even(clamp(float(acc) x M_c,
/// min - zp, max - zp)) + zp, float(acc) rounded to nearest even, the product a float32 multiply.
/// Without it: fixed point (gemmlowp's, multiplier and shift as int32).
inline constexpr uint32_t kFlagFloatRequant = 8;

/// Version 2: the second 64 bytes of each operator record, after its OpRecord. Where the
/// operator's inputs come from, a window in full, and the parameters of the operators version 2
/// added. Version 1 files have none: each operator reads the one before it, windows are square.
struct OpGraph {
  /// Values: 0 is the model's input, k + 1 the output of operator k (k before this operator);
  /// input[1] is kNoValue but for two-input operators (Add, Mul with no constant; Concat).
  uint32_t input[2];
  /// With kFlagWindow: the window in full (kernel, stride and padding in the OpRecord are the
  /// height's and the top's); without it, square with equal padding.
  uint32_t kernel_w, stride_w;
  uint32_t pad_left, pad_bottom, pad_right;
  uint32_t dilation_h, dilation_w;  ///< With kFlagWindow; 1 without.
  uint32_t groups;    ///< Conv2d and QConv2d: 0 or 1, dense; in = out = groups: depthwise
  float alpha, beta;  ///< Clip: min and max; HardSigmoid: alpha and beta
  /// int8 elementwise operators (Add, Mul, Concat, Clip, Sigmoid, HardSigmoid, HardSwish): the
  /// real scale of input a (its zero point is the OpRecord's input_zero_point) and of input b.
  float input_scale;
  float input_scale_b;
  int32_t input_zero_point_b;
  uint32_t reserved;
};
static_assert(sizeof(OpGraph) == 64);
/// The OpGraph's window fields hold (kernel_w, stride_w, the pads, the dilations).
inline constexpr uint32_t kFlagWindow = 4;
/// The bytes of one operator's record(s) in a file of `version`: the OpRecord, and from version 2
/// its OpGraph.
constexpr size_t op_record_bytes(uint32_t version) {
  return version >= 2 ? sizeof(OpRecord) + sizeof(OpGraph) : sizeof(OpRecord);
}
/// The OpGraph a version-1 operator k has: its input is operator k - 1's output (the model's
/// input for k = 0), its window square.
constexpr OpGraph chain_graph(uint32_t k) {
  OpGraph g{};
  g.input[0] = k;
  g.input[1] = kNoValue;
  return g;
}

/// One tensor, 32 bytes; the records follow the operators.
struct TensorRecord {
  DType dtype;
  uint32_t count;   ///< Elements.
  uint64_t offset;  ///< From the start of the data section; a multiple of kAlignment.
  uint64_t bytes;   ///< count x dtype size.
  uint64_t reserved;
};
static_assert(sizeof(TensorRecord) == 32);

/// Splits a real requantization multiplier M >= 0 into the int32 mantissa q in [2^30, 2^31) and
/// the exponent `shift` with M = q x 2^(shift - 31), as kQLinear and kQConv2d store it.
void quantize_multiplier(double multiplier, int32_t* q, int32_t* shift);

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), continuing from `crc`.
uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

}  // namespace greenai::edge
