// Kernel entry points of the edge runtime. Each op has a portable reference kernel
// (kernels/ref/, textbook loops); fast kernels for a CPU family live in their own folder and
// must match the reference bit for bit (int8) or within kF32Tolerance (fp32).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "edge/internal/fixed_point.h"
#include "edge/internal/scalar.h"

namespace greenai::edge::internal {

/// Shape of a convolution or pooling step, per example. `kernel`, `stride` and `padding` are the
/// height's (and the top's); the rest default to a square window with equal padding, dense.
struct Conv2dShape {
  int in_channels, in_h, in_w;
  int out_channels, out_h, out_w;
  int kernel, stride, padding;
  int kernel_w = kernel, stride_w = stride;
  int pad_left = padding, pad_bottom = padding, pad_right = padding;
  int dilation_h = 1, dilation_w = 1;
  int groups = 1;
  /// The input lies as (H, W, C) per example (channels last: the layout int8 values keep between
  /// the fast sets' convolutions, see Step::in_hwc), else as (C, H, W).
  bool input_hwc = false;
};
/// A square window, equal padding, no dilation, dense: the shapes the fast convolutions take.
inline bool is_square_dense(const Conv2dShape& s) {
  return s.kernel_w == s.kernel && s.stride_w == s.stride && s.pad_left == s.padding &&
         s.pad_bottom == s.padding && s.pad_right == s.padding && s.dilation_h == 1 &&
         s.dilation_w == 1 && s.groups == 1;
}

/// Per-output-channel int8 requantization parameters.
struct Requant {
  const int32_t* bias;        ///< int32, scale s_in x s_w[c]
  const int32_t* multiplier;  ///< q of M = s_in x s_w[c] / s_out
  const int32_t* shift;
  int32_t input_zero_point, output_zero_point;
  int32_t min, max;  ///< Output clamp: [-128, 127], or [zero point, 127] with ReLU fused.
  /// bias[c] - (128 + input_zero_point) x sum_i w[c][i], computed at load: the bias for
  /// kernels that multiply unsigned inputs u = q + 128 (x86 VNNI and madd take u8 x s8).
  const int32_t* bias_unsigned;
  /// bias[c] - input_zero_point x sum_i w[c][i], computed at load: the bias for kernels that
  /// multiply the signed inputs q (x86 AVX2 through vpmaddubsw, ARM64 through SDOT/SMLAL).
  const int32_t* bias_signed;
  /// kFlagFloatRequant: M per channel in float32 (multiplier and shift are then null).
  const float* scale = nullptr;
};

/// Applies M and the output zero point to an accumulator of channel `c`, then clamps: in fixed
/// point, or in float where the op requantizes so (kFlagFloatRequant: float(acc) x M, clamped to
/// the codes' range less the zero point, rounded half to even).
inline int8_t requantize(int32_t acc, int c, const Requant& r) {
  if (r.scale) {
    float v = static_cast<float>(acc) * r.scale[c];
    const float lo = static_cast<float>(r.min - r.output_zero_point);
    const float hi = static_cast<float>(r.max - r.output_zero_point);
    v = v < lo ? lo : v > hi ? hi : v;  // |v| <= 255 then: round_half_even holds
    return static_cast<int8_t>(static_cast<int32_t>(round_half_even(v)) + r.output_zero_point);
  }
  int32_t v =
      multiply_by_quantized_multiplier(acc, r.multiplier[c], r.shift[c]) + r.output_zero_point;
  return static_cast<int8_t>(v < r.min ? r.min : v > r.max ? r.max : v);
}

using LinearF32 = void (*)(const float* x, int batch, int in, int out, const float* w,
                           const float* b, bool relu, float* y);
/// Rearranges fp32 weights [out, in] into the layout a LinearF32 kernel reads (at load time).
/// Returns the bytes needed; writes them when `packed` is not null.
using PackLinearF32 = size_t (*)(const float* w, int in, int out, float* packed);
/// `scratch` holds at least kQLinearScratchPerInput x batch x (in + 4) bytes, for kernels that
/// convert the input first (rows padded to groups of 4, and a second copy such as |q|).
constexpr size_t kQLinearScratchPerInput = 2;
using QLinear = void (*)(const int8_t* x, int batch, int in, int out, const int8_t* w,
                         const Requant& r, uint8_t* scratch, int8_t* y);

/// A set of kernels chosen for this CPU.
/// Rearranges int8 weights [out, in] into the layout a QLinear kernel reads (at load time).
/// Returns the bytes needed; writes them when `packed` is not null.
using PackQLinear = size_t (*)(const int8_t* w, int in, int out, int8_t* packed);

using Quantize = void (*)(const float* x, long count, float scale, int32_t zero_point, int8_t* y);
/// OpKind::kDynamicLinear; takes packed weights when the set packs (see ref::dynamic_linear).
using DynamicLinear = void (*)(const float* x, int batch, int in, int out, const int8_t* w,
                               const float* w_scale, const int64_t* row_sum, const float* b,
                               bool relu, uint8_t* scratch, float* y);

/// A direct convolution (QConv2d without im2col rows) of one example: the input, made as the
/// set's GEMM takes it, lies in padded planes (ConvImage) and each output pixel reads its window
/// there in groups of four bytes, one kernel row at a time (each row's weights zero padded to a
/// multiple of four, so the bytes read past the window meet zero weights). `packed` is
/// pack_qconv2d's: the window offsets, then the weights. Writes the example's output as
/// [padded_pixels, channels] (ConvImage: the rows after the real pixels are to be ignored).
/// `scratch` holds conv_image(s).scratch_bytes.
using QConv2dDirect = void (*)(const int8_t* x, const Conv2dShape& s, const int8_t* packed,
                               const Requant& r, uint8_t* scratch, int8_t* y);
/// Lays out a QConv2dDirect's constants at load: the window offsets (ConvImage), then the weights
/// [out][in_channels][kernel][kernel] rearranged. Returns the bytes needed; writes them when
/// `packed` is not null.
using PackQConv2d = size_t (*)(const int8_t* w, const Conv2dShape& s, int8_t* packed);

/// The broadcast of a two-input operator: b has as many elements as a (`kSame`), one per
/// channel of a (C, H, W) a (`kPerChannel`, `plane` = H x W), or one (`kOne`).
enum class Broadcast { kSame, kPerChannel, kOne };
struct BinaryShape {
  Broadcast broadcast;
  long elements;  ///< of a, per example
  long b_elements;
  long plane;
  /// a is (H, W, C) (Step::in_hwc): a per-channel b repeats at every pixel.
  bool channels_last = false;
};
/// int8 Add and Mul: the real values s (q - zp) of a and b combined in float and quantized to
/// the output scale (round half away from zero), then clamped.
struct QBinary {
  float scale_a, scale_b, scale_out;
  int32_t zero_point_a, zero_point_b, zero_point_out;
  int32_t min, max;  ///< The output clamp: [-128, 127], or [zero point, 127] with ReLU fused.
};

/// A depthwise fp32 Conv2d on pack_depthwise_f32's weights, writing the example's output channels
/// last; `scratch` holds depthwise_image_f32_bytes(s). bias + the taps in the reference's order.
using DepthwiseF32 = void (*)(const float* x, const Conv2dShape& s, const float* packed,
                              const float* bias, bool relu, uint8_t* scratch, float* y);

struct KernelSet {
  const char* name;
  LinearF32 linear_f32;           ///< Takes the packed weights when pack_linear_f32 is set.
  PackLinearF32 pack_linear_f32;  ///< Null: linear_f32 reads the weights as stored.
  QLinear qlinear;                ///< Takes the packed weights when pack_qlinear is set.
  PackQLinear pack_qlinear;       ///< Null: qlinear reads the weights as stored.
  Quantize quantize;              ///< fp32 -> int8 (OpKind::kQuantize)
  /// With pack_qlinear set, takes packed weights and needs in <= 65536 (the runtime falls back
  /// to ref::dynamic_linear on the stored weights otherwise).
  DynamicLinear dynamic_linear;
  /// qlinear needs every weight in [-127, 127], the format's range (docs/edge-format.md); a
  /// layer holding a -128 runs on the reference kernels instead.
  bool qlinear_needs_symmetric_weights;
  /// A faster qlinear for layers whose weights all lie in [-63, 63] (7-bit codes), on the same
  /// packed layout; null where the set has none.
  QLinear qlinear_small_weights = nullptr;
  /// QConv2d without im2col rows, on weights laid out by pack_qconv2d; null where the set has
  /// none (its convolutions run as im2col rows and qlinear).
  QConv2dDirect qconv2d_direct = nullptr;
  PackQConv2d pack_qconv2d = nullptr;
  /// qconv2d_direct for weights in [-63, 63] (as qlinear_small_weights); null where none.
  QConv2dDirect qconv2d_direct_small_weights = nullptr;
  /// A depthwise QConv2d (is_depthwise) on pack_qdepthwise's weights, writing the example's
  /// output channels last, [pixels, channels]; `scratch` holds depthwise_image(s).scratch_bytes.
  /// Null where the set has none (the reference's loops run).
  QConv2dDirect qdepthwise = nullptr;
  /// int8 Add of two values of the same shape (residual adds), `count` codes: ref::add_i8's
  /// float operations, bit for bit; null where the set has none.
  void (*add_i8_same)(const int8_t* a, const int8_t* b, long count, const QBinary& q,
                      int8_t* y) = nullptr;
  /// A depthwise fp32 Conv2d (is_depthwise); null where the set has none.
  DepthwiseF32 depthwise_f32 = nullptr;
};

/// The layout of a direct convolution: one example's input, padded, in its scratch; and, fixed
/// by the shape and so computed at load (at the head of the packed weights), the offset of each
/// output pixel's window and of each group of four within a window: pixel p's group g lies at
/// image + pixel[p] + group[g]. Two layouts, whichever needs fewer groups:
///  - planes (few channels, e.g. an image's first convolution): one padded plane per channel,
///    each row `row_stride` bytes (the padded width and 3 more, for the last group of four); a
///    group is four neighbours along a kernel row (each kernel row padded to a multiple of 4);
///  - interleaved (channels last): one padded (H, W, C4) image, C4 the channels rounded up to 4;
///    a group is four channels of one window position. 1x1 convolutions read it as dense rows.
struct ConvImage {
  bool interleaved;
  int channels4;   ///< interleaved: in_channels rounded up to a multiple of 4
  int row_stride;  ///< planes: in_w + 2 padding + 3; interleaved: (in_w + 2 padding) x channels4
  long plane;      ///< (in_h + 2 padding) x row_stride
  int groups;      ///< planes: in_channels x kernel x ceil(kernel / 4); interleaved:
                   ///< kernel x kernel x channels4 / 4
  /// The output pixels rounded up to a multiple of kConvPixelMultiple: the GEMMs run whole
  /// tiles only (the extra pixels repeat the last one's window; their results are discarded).
  int padded_pixels;
  size_t image_bytes;    ///< in_channels x plane, rounded up to 64
  size_t scratch_bytes;  ///< the image twice: room for a second copy such as |q|
  size_t offsets_bytes;  ///< padded_pixels + groups int32 offsets, rounded up to 64
};
/// A multiple of every set's tile height (4 and 6 rows).
constexpr int kConvPixelMultiple = 12;
ConvImage conv_image(const Conv2dShape& s);
/// Whether a direct convolution pays for a shape: its groups of four (with their padding) are at
/// most 4/3 of the im2col row's (3x3 kernels, and 1x1 ones on channels in fours: yes; 2x2 and
/// 5x5 ones on few channels: no).
bool direct_conv_pays(const Conv2dShape& s);
/// Writes the example `x` ((C, H, W), or (H, W, C) where s.input_hwc) into the image
/// (`scratch`) as bytes q ^ flip, the padding as pad_value.
void fill_conv_image(const int8_t* x, const Conv2dShape& s, const ConvImage& c, uint8_t flip,
                     uint8_t pad_value, uint8_t* scratch);
/// The padded_pixels pixel offsets at the head of pack_qconv2d's bytes (the group offsets follow
/// them), and the packed weights after them (64-byte aligned where `packed` is).
inline const int32_t* conv_offsets(const int8_t* packed) {
  return reinterpret_cast<const int32_t*>(packed);
}
inline const int8_t* conv_weights(const int8_t* packed, const ConvImage& c) {
  return packed + c.offsets_bytes;
}
/// The window offsets (ConvImage), then the QConv2d weights in blocks of `channels` output
/// channels; within a block, for each group of four, the 4 bytes of each channel; zero padded.
size_t pack_qconv2d_blocks(const int8_t* w, const Conv2dShape& s, int channels, int8_t* packed);
size_t pack_qconv2d_blocks8(const int8_t* w, const Conv2dShape& s, int8_t* packed);

/// The layout of a depthwise convolution (QConv2d with groups = in = out channels) on the fast
/// sets: the example's input made channels last and padded with the input zero point, in its
/// scratch (image_bytes, with a vector's slack after it), then the sums of one output row (int32,
/// blocks of 16 channels); the weights widened to int32, [tap][channels16] (pack_qdepthwise).
constexpr int kMaxDepthwiseTaps = 64;
struct DepthwiseImage {
  int padded_w, padded_h;
  long row_bytes;        ///< padded_w x in_channels
  int channels16;        ///< in_channels rounded up to 16
  size_t image_bytes;    ///< padded_h x row_bytes and 64 more, rounded up to 64
  size_t scratch_bytes;  ///< the image and the row's sums
  /// Each tap's offset from its window's first byte (dilations included).
  long tap_offset[kMaxDepthwiseTaps];
};
DepthwiseImage depthwise_image(const Conv2dShape& s);
/// Whether the fast sets' depthwise kernel takes the shape: groups = in = out channels, at most
/// kMaxDepthwiseTaps taps.
bool is_depthwise(const Conv2dShape& s);
/// Writes the example `x` ((C, H, W), or (H, W, C) where s.input_hwc) into the image, padded
/// with `pad`.
void fill_depthwise_image(const int8_t* x, const Conv2dShape& s, const DepthwiseImage& d,
                          int8_t pad, uint8_t* scratch);
/// The weights [C][kh][kw] as int32 [tap][channels16], zero padded. Returns the bytes needed;
/// writes them when `packed` is not null.
size_t pack_qdepthwise(const int8_t* w, const Conv2dShape& s, int8_t* packed);
/// The same for fp32 depthwise convolutions: the image in floats (DepthwiseImage's offsets and
/// row_bytes count elements), padded with 0; its bytes with a vector's slack, rounded up to 64.
size_t depthwise_image_f32_bytes(const Conv2dShape& s);
void fill_depthwise_image_f32(const float* x, const Conv2dShape& s, const DepthwiseImage& d,
                              float* image);
/// fp32 weights [C][kh][kw] as [tap][channels16], zero padded; returns the bytes needed, writes
/// them when `packed` is not null.
size_t pack_depthwise_f32(const float* w, const Conv2dShape& s, float* packed);

namespace ref {
void linear_f32(const float* x, int batch, int in, int out, const float* w, const float* b,
                bool relu, float* y);
void conv2d_f32(const float* x, int batch, const Conv2dShape& s, const float* w, const float* b,
                bool relu, float* y);
void qlinear(const int8_t* x, int batch, int in, int out, const int8_t* w, const Requant& r,
             uint8_t* scratch, int8_t* y);
void qconv2d(const int8_t* x, int batch, const Conv2dShape& s, const int8_t* w, const Requant& r,
             int8_t* y);
void max_pool_f32(const float* x, int batch, const Conv2dShape& s, float* y);
void max_pool_i8(const int8_t* x, int batch, const Conv2dShape& s, int8_t* y);
void avg_pool_f32(const float* x, int batch, const Conv2dShape& s, float* y);
void avg_pool_i8(const int8_t* x, int batch, const Conv2dShape& s, int8_t* y);
/// max_pool_i8 and avg_pool_i8 on channels-last values: the same bytes, each pixel's channels
/// contiguous (one vector operation per window cell for many channels).
void max_pool_i8_hwc(const int8_t* x, int batch, const Conv2dShape& s, int8_t* y);
void avg_pool_i8_hwc(const int8_t* x, int batch, const Conv2dShape& s, int8_t* y);
/// max_pool_f32 and avg_pool_f32 on channels-last values, summing in the same order.
void max_pool_f32_hwc(const float* x, int batch, const Conv2dShape& s, float* y);
void avg_pool_f32_hwc(const float* x, int batch, const Conv2dShape& s, float* y);
/// Any window, dilation and groups (conv2d_f32 and qconv2d too); a depthwise convolution
/// (groups = in = out channels) runs row by row.
void relu_f32(const float* x, long count, float* y);
void relu_i8(const int8_t* x, long count, int8_t zero_point, int8_t* y);
/// Dynamic quantization (OpKind::kDynamicLinear); `scratch` holds `in` bytes, `row_sum[c]` the
/// sum of channel c's weights.
void dynamic_linear(const float* x, int batch, int in, int out, const int8_t* w,
                    const float* w_scale, const int64_t* row_sum, const float* b, bool relu,
                    uint8_t* scratch, float* y);
void softmax_f32(const float* x, int batch, int features, float* y);
void quantize(const float* x, long count, float scale, int32_t zero_point, int8_t* y);
void dequantize(const int8_t* x, long count, float scale, int32_t zero_point, float* y);
/// y = x[y's index] through a 256-entry table indexed by the code + 128: every int8 unary
/// operator (Clip, Sigmoid, HardSigmoid, HardSwish, and Concat's rescaling), its table made at
/// load from the real function.
void lookup_i8(const int8_t* x, long count, const int8_t* table, int8_t* y);
void add_f32(const float* a, const float* b, int batch, const BinaryShape& s, bool b_constant,
             float* y);
void mul_f32(const float* a, const float* b, int batch, const BinaryShape& s, bool b_constant,
             float* y);
void add_i8(const int8_t* a, const int8_t* b, int batch, const BinaryShape& s, bool b_constant,
            const QBinary& q, int8_t* y);
void mul_i8(const int8_t* a, const int8_t* b, int batch, const BinaryShape& s, bool b_constant,
            const QBinary& q, int8_t* y);
void clip_f32(const float* x, long count, float lo, float hi, float* y);
void sigmoid_f32(const float* x, long count, float* y);
void hard_sigmoid_f32(const float* x, long count, float alpha, float beta, float* y);
void hard_swish_f32(const float* x, long count, float* y);
}  // namespace ref

/// One DynamicLinear output from its exact integer d = sum_i u_i w[c][i] - zp row_sum[c]:
/// b + (s_x s_w) d in float, multiplied then added in this order (the project builds with
/// -ffp-contract=off: a fused multiply-add would round differently), ReLU as max_of(v, 0). A row
/// without a usable scale passes s_x = 0 and gets b. The reference and the scalar epilogues share
/// it, so they round alike by construction.
inline float dynamic_output(float bias, float row_scale, float w_scale, int64_t d, bool relu) {
  float value = bias;
  if (row_scale > 0) value += row_scale * w_scale * static_cast<float>(d);
  return relu ? max_of(value, 0.0f) : value;
}

/// Quantizes each example's row as ref::dynamic_linear does (unsigned 8 bits over its range
/// widened to contain 0) into `rows` (batch x stride bytes, zero padded) as u + shift, with the
/// row's scale (0 when it has none) and row_offset = -zp - shift: a GEMM's sums of
/// (u + shift) w plus row_offset x the channel's weight sum are ref's exact integer. shift is
/// -128 for kernels that take signed inputs, 0 for those that take unsigned ones. Scalar: shared
/// by the DynamicLinear kernels of every set but AVX-512's.
void quantize_rows(const float* x, int batch, int in, int stride, int shift, uint8_t* rows,
                   float* row_scale, int32_t* row_offset);

/// Blocks of `channels` output channels; within a block, for each group of 4 inputs, the 4 bytes
/// of each channel (4 x channels bytes: one vector operand); zero padded. Returns the bytes
/// needed; writes them when `packed` is not null.
size_t pack_qlinear_blocks(const int8_t* w, int in, int out, int channels, int8_t* packed);
/// pack_qlinear_blocks with 8 channels: the layout of the 256-bit and NEON int8 GEMMs.
size_t pack_qlinear_blocks8(const int8_t* w, int in, int out, int8_t* packed);
/// For each input, the weights of 8 output channels (32 bytes); zero padded.
size_t pack_linear_f32_blocks8(const float* w, int in, int out, float* packed);
/// The same with 16 channels (64 bytes): the AVX-512 fp32 GEMM's layout.
size_t pack_linear_f32_blocks16(const float* w, int in, int out, float* packed);

namespace x86 {
/// Register-tiled GEMM on pack_qlinear_blocks8 weights with signed inputs (vpmaddubsw on |q| and
/// sign-adjusted weights, exact for |w| <= 127). `scratch` holds batch x round_up(in, 4) bytes.
void qlinear_avx2_packed(const int8_t* x, int batch, int in, int out, const int8_t* packed,
                         const Requant& r, uint8_t* scratch, int8_t* y);
/// The same GEMM for weights in [-63, 63]: unsigned inputs (u = q + 128) straight into
/// vpmaddubsw, whose pair sums then stay below 2 x 255 x 63 = 32130 < 2^15: exact, one
/// instruction fewer per 32 products.
void qlinear_avx2_small_weights(const int8_t* x, int batch, int in, int out, const int8_t* packed,
                                const Requant& r, uint8_t* scratch, int8_t* y);
/// The same GEMM through the 256-bit AVX-VNNI vpdpbusd on unsigned inputs.
void qlinear_avx_vnni_packed(const int8_t* x, int batch, int in, int out, const int8_t* packed,
                             const Requant& r, uint8_t* scratch, int8_t* y);
/// QConv2dDirect on pack_qconv2d_blocks8 weights through the AVX2 GEMM: the signed image and its
/// magnitudes (weights in [-127, 127]).
void qconv2d_avx2(const int8_t* x, const Conv2dShape& s, const int8_t* packed, const Requant& r,
                  uint8_t* scratch, int8_t* y);
/// The same for weights in [-63, 63], on the unsigned image (as qlinear_avx2_small_weights).
void qconv2d_avx2_small_weights(const int8_t* x, const Conv2dShape& s, const int8_t* packed,
                                const Requant& r, uint8_t* scratch, int8_t* y);
/// QConv2dDirect through the 256-bit AVX-VNNI GEMM on the unsigned image.
void qconv2d_avx_vnni(const int8_t* x, const Conv2dShape& s, const int8_t* packed, const Requant& r,
                      uint8_t* scratch, int8_t* y);
/// fp32 GEMM on pack_linear_f32_blocks8 weights: 2 blocks x 6 examples of FMA accumulators.
void linear_f32_avx2_packed(const float* x, int batch, int in, int out, const float* packed,
                            const float* b, bool relu, float* y);
/// Weights in blocks of 16 output channels; within a block, for each group of 4 inputs, the 4
/// bytes of each of the 16 channels (64 bytes: one vpdpbusd operand). Inputs are padded to a
/// multiple of 4 and channels to a multiple of 16 with zeros.
size_t pack_qlinear_vnni(const int8_t* w, int in, int out, int8_t* packed);
/// pack_qconv2d_blocks with 16 channels.
size_t pack_qconv2d_vnni(const int8_t* w, const Conv2dShape& s, int8_t* packed);
/// KernelSet::depthwise_f32 of each x86 set (kernels/depthwise.h).
void depthwise_f32_avx512(const float* x, const Conv2dShape& s, const float* packed,
                          const float* bias, bool relu, uint8_t* scratch, float* y);
void depthwise_f32_avx2(const float* x, const Conv2dShape& s, const float* packed,
                        const float* bias, bool relu, uint8_t* scratch, float* y);
/// fp32 GEMM on pack_linear_f32_blocks16 weights: tiles of 4 blocks x 6 examples (24 zmm
/// accumulators).
void linear_f32_avx512(const float* x, int batch, int in, int out, const float* packed,
                       const float* b, bool relu, float* y);
/// KernelSet::add_i8_same, 16 codes a vector.
void add_i8_avx512(const int8_t* a, const int8_t* b, long count, const QBinary& q, int8_t* y);
/// KernelSet::qdepthwise of each x86 set (kernels/depthwise.h).
void qdepthwise_avx512_vnni(const int8_t* x, const Conv2dShape& s, const int8_t* packed,
                            const Requant& r, uint8_t* scratch, int8_t* y);
void qdepthwise_avx_vnni(const int8_t* x, const Conv2dShape& s, const int8_t* packed,
                         const Requant& r, uint8_t* scratch, int8_t* y);
void qdepthwise_avx2(const int8_t* x, const Conv2dShape& s, const int8_t* packed, const Requant& r,
                     uint8_t* scratch, int8_t* y);
/// QConv2dDirect through vpdpbusd on the unsigned image (u = q + 128).
void qconv2d_avx512_vnni(const int8_t* x, const Conv2dShape& s, const int8_t* packed,
                         const Requant& r, uint8_t* scratch, int8_t* y);
/// ref::dynamic_linear on packed weights (in <= 65536), bit for bit. `scratch` holds
/// batch x (round_up(in, 4) + 8) bytes.
void dynamic_linear_avx512_vnni(const float* x, int batch, int in, int out, const int8_t* packed,
                                const float* w_scale, const int64_t* row_sum, const float* b,
                                bool relu, uint8_t* scratch, float* y);
/// ref::dynamic_linear on pack_qlinear_blocks8 weights (in <= 65536, every weight in
/// [-127, 127]), bit for bit: rows made signed for the AVX2 GEMM. `scratch` holds
/// batch x (2 round_up(in, 4) + 8) bytes.
void dynamic_linear_avx2(const float* x, int batch, int in, int out, const int8_t* packed,
                         const float* w_scale, const int64_t* row_sum, const float* b, bool relu,
                         uint8_t* scratch, float* y);
/// The same through the 256-bit AVX-VNNI GEMM on unsigned rows (any int8 weights).
void dynamic_linear_avx_vnni(const float* x, int batch, int in, int out, const int8_t* packed,
                             const float* w_scale, const int64_t* row_sum, const float* b,
                             bool relu, uint8_t* scratch, float* y);
/// ref::quantize, 16 lanes at a time, bit for bit.
void quantize_avx512(const float* x, long count, float scale, int32_t zero_point, int8_t* y);
/// ref::quantize, 8 floats at a time, bit for bit (a group near a tie goes to the reference).
void quantize_avx2(const float* x, long count, float scale, int32_t zero_point, int8_t* y);
/// GEMM on packed weights: 16 channels per vector, four examples per weight load, no
/// horizontal sums. `scratch` holds batch x round_up(in, 4) bytes.
void qlinear_avx512_vnni_packed(const int8_t* x, int batch, int in, int out, const int8_t* packed,
                                const Requant& r, uint8_t* scratch, int8_t* y);
}  // namespace x86

namespace arm64 {
/// GEMM on pack_qlinear_blocks8 weights through SDOT (ARMv8.2 dot product) on signed inputs.
/// `scratch` holds batch x round_up(in, 4) bytes.
void qlinear_neon_dotprod(const int8_t* x, int batch, int in, int out, const int8_t* packed,
                          const Requant& r, uint8_t* scratch, int8_t* y);
/// The same GEMM with SMULL and SADALP, for AArch64 CPUs without the dot product.
void qlinear_neon(const int8_t* x, int batch, int in, int out, const int8_t* packed,
                  const Requant& r, uint8_t* scratch, int8_t* y);
/// QConv2dDirect on pack_qconv2d_blocks8 weights through SDOT / SMULL and SADALP on the signed
/// image.
void qconv2d_neon_dotprod(const int8_t* x, const Conv2dShape& s, const int8_t* packed,
                          const Requant& r, uint8_t* scratch, int8_t* y);
/// KernelSet::depthwise_f32 of both NEON sets (kernels/depthwise.h).
void depthwise_f32_neon(const float* x, const Conv2dShape& s, const float* packed,
                        const float* bias, bool relu, uint8_t* scratch, float* y);
/// KernelSet::qdepthwise of both NEON sets (kernels/depthwise.h).
void qdepthwise_neon(const int8_t* x, const Conv2dShape& s, const int8_t* packed, const Requant& r,
                     uint8_t* scratch, int8_t* y);
void qconv2d_neon(const int8_t* x, const Conv2dShape& s, const int8_t* packed, const Requant& r,
                  uint8_t* scratch, int8_t* y);
/// ref::dynamic_linear on pack_qlinear_blocks8 weights (in <= 65536), bit for bit: the rows
/// quantized as the reference does, less 128, through the signed GEMMs. `scratch` holds
/// batch x (round_up(in, 4) + 8) bytes.
void dynamic_linear_neon_dotprod(const float* x, int batch, int in, int out, const int8_t* packed,
                                 const float* w_scale, const int64_t* row_sum, const float* b,
                                 bool relu, uint8_t* scratch, float* y);
void dynamic_linear_neon(const float* x, int batch, int in, int out, const int8_t* packed,
                         const float* w_scale, const int64_t* row_sum, const float* b, bool relu,
                         uint8_t* scratch, float* y);
/// fp32 GEMM on pack_linear_f32_blocks8 weights with FMLA: 2 blocks x 6 examples.
void linear_f32_neon(const float* x, int batch, int in, int out, const float* packed,
                     const float* b, bool relu, float* y);
}  // namespace arm64

/// The best kernel set for the CPU running this process, or the one GREENAI_EDGE_KERNELS names;
/// null when that names no set this CPU can run (the loader then fails with the list).
const KernelSet* select_kernels();
/// The portable set.
const KernelSet& reference_kernels();
/// The ISA features the kernel sets need (those of the architecture built for; the others stay
/// false).
struct IsaFeatures {
  bool avx2 = false, fma = false, avx512bw = false, avx512vl = false, avx512vnni = false,
       avxvnni = false;  // x86-64
  bool asimddp = false;  // AArch64 (Advanced SIMD itself is always there)
};
/// This CPU's.
IsaFeatures detect_isa();
/// The sets a CPU with `isa` runs, best first, the reference last; returns how many (at most
/// `capacity` are written). Pure: the selection logic, testable with any features.
int kernel_sets_for(const IsaFeatures& isa, const KernelSet** sets, int capacity);
/// kernel_sets_for(detect_isa(), ...).
int runnable_kernel_sets(const KernelSet** sets, int capacity);
/// Their names, best first, separated by ", " (truncated to `size`).
void runnable_kernel_names(char* names, size_t size);

}  // namespace greenai::edge::internal
