// Running the steps of a planned model: each operator on the kernel set chosen for it.
#include <string.h>

#include "edge/internal/model.h"
#include "edge/internal/scalar.h"

namespace greenai::edge::internal {
namespace {

// One example's im2col rows: for each output pixel, the kernel_h x kernel_w x in_channels inputs
// it sees, `pad` where the window leaves the image (dense convolutions only).
template <typename T>
void im2col(const T* x, const Conv2dShape& c, T pad, T* cols) {
  const int kh = c.kernel, kw = c.kernel_w;
  const long row = static_cast<long>(c.in_channels) * kh * kw;
  const bool plain = c.dilation_w == 1;
  for (int oy = 0; oy < c.out_h; ++oy)
    for (int ox = 0; ox < c.out_w; ++ox) {
      T* dst = cols + static_cast<long>(oy * c.out_w + ox) * row;
      const int ix0 = ox * c.stride_w - c.pad_left;
      const bool x_inside = plain && ix0 >= 0 && ix0 + kw <= c.in_w;
      for (int ic = 0; ic < c.in_channels; ++ic)
        for (int ky = 0; ky < kh; ++ky, dst += kw) {
          const int iy = oy * c.stride - c.padding + ky * c.dilation_h;
          if (iy < 0 || iy >= c.in_h) {
            for (int kx = 0; kx < kw; ++kx) dst[kx] = pad;
            continue;
          }
          const T* image_row = x + (static_cast<long>(ic) * c.in_h + iy) * c.in_w;
          if (x_inside) {  // a loop, not memcpy: a call costs more than a 3-element copy
            for (int kx = 0; kx < kw; ++kx) dst[kx] = image_row[ix0 + kx];
            continue;
          }
          for (int kx = 0; kx < kw; ++kx) {
            const int ix = ix0 + kx * c.dilation_w;
            dst[kx] = ix >= 0 && ix < c.in_w ? image_row[ix] : pad;
          }
        }
    }
}

// An example's [pixels, channels] result as (C, H, W): sequential stores, strided loads from L1.
template <typename T>
void to_chw(const T* hwc, int pixels, int channels, T* chw) {
  for (int oc = 0; oc < channels; ++oc)
    for (int p = 0; p < pixels; ++p)
      chw[static_cast<long>(oc) * pixels + p] = hwc[static_cast<long>(p) * channels + oc];
}

// im2col rows of a channels-last example (H, W, C): for each output pixel, for each window
// position, the C inputs there (`pad` outside the image): the rows in (ky, kx, c) order, the
// order the planner permutes such a convolution's weight columns into.
template <typename T>
void im2col_hwc(const T* x, const Conv2dShape& c, T pad, T* cols) {
  const int kh = c.kernel, kw = c.kernel_w, channels = c.in_channels;
  const long row = static_cast<long>(channels) * kh * kw;
  for (int oy = 0; oy < c.out_h; ++oy)
    for (int ox = 0; ox < c.out_w; ++ox) {
      T* dst = cols + static_cast<long>(oy * c.out_w + ox) * row;
      for (int ky = 0; ky < kh; ++ky)
        for (int kx = 0; kx < kw; ++kx, dst += channels) {
          const int iy = oy * c.stride - c.padding + ky * c.dilation_h;
          const int ix = ox * c.stride_w - c.pad_left + kx * c.dilation_w;
          if (iy < 0 || iy >= c.in_h || ix < 0 || ix >= c.in_w) {
            for (int ch = 0; ch < channels; ++ch) dst[ch] = pad;
            continue;
          }
          const T* src = x + (static_cast<long>(iy) * c.in_w + ix) * channels;
          for (int ch = 0; ch < channels; ++ch) dst[ch] = src[ch];
        }
    }
}

// A 1x1 convolution of stride 1 without padding on a channels-last input: its im2col rows are
// the input itself.
inline bool pointwise(const Conv2dShape& c) {
  return c.kernel == 1 && c.kernel_w == 1 && c.stride == 1 && c.stride_w == 1 && c.padding == 0 &&
         c.pad_left == 0 && c.pad_bottom == 0 && c.pad_right == 0;
}

// QConv2d on a fast kernel set, one example at a time: im2col (padding holds the input zero point,
// real 0, as the reference assumes), the kernel set's int8 GEMM with the conv's requantization,
// then [pixels, channels] to (C, H, W). The integer sums are those of ref::qconv2d: bit-exact.
void qconv2d_as_gemm(const Step& s, const Requant& r, const int8_t* x, int batch, uint8_t* scratch,
                     int8_t* y) {
  const Conv2dShape& c = s.conv;
  const int row = c.in_channels * c.kernel * c.kernel_w, pixels = c.out_h * c.out_w;
  auto* cols = reinterpret_cast<int8_t*>(scratch);
  uint8_t* kernel_scratch = scratch + static_cast<size_t>(pixels) * row;
  auto* result = reinterpret_cast<int8_t*>(
      kernel_scratch + static_cast<size_t>(pixels) * kQLinearScratchPerInput * (row + 4));
  const auto pad = static_cast<int8_t>(s.op.input_zero_point);
  const long in_size = static_cast<long>(c.in_channels) * c.in_h * c.in_w;
  const long out_size = static_cast<long>(c.out_channels) * pixels;
  for (int n = 0; n < batch; ++n) {
    im2col(x + n * in_size, c, pad, cols);
    int8_t* yn = y + n * out_size;
    s.qlinear(cols, pixels, row, c.out_channels,
              s.packed ? s.packed : static_cast<const int8_t*>(s.weight), r, kernel_scratch,
              s.hwc_output ? yn : result);
    if (s.hwc_output) continue;  // channels last: the GEMM wrote it so
    to_chw(result, pixels, c.out_channels, yn);
  }
}

// QConv2d through the direct convolution chosen at load, one example at a time: channels last
// straight into the output, or into [padded pixels, channels] in the scratch and transposed to
// (C, H, W).
void qconv2d_direct(const Step& s, const Requant& r, const int8_t* x, int batch, uint8_t* scratch,
                    int8_t* y) {
  const Conv2dShape& c = s.conv;
  const int pixels = c.out_h * c.out_w;
  auto* result = reinterpret_cast<int8_t*>(scratch + conv_image(c).scratch_bytes);
  const long in_size = static_cast<long>(c.in_channels) * c.in_h * c.in_w;
  const long out_size = static_cast<long>(c.out_channels) * pixels;
  for (int n = 0; n < batch; ++n) {
    int8_t* yn = y + n * out_size;
    // Channels last: straight into the output, whose place has room for the rows past the
    // pixels (Step::output_slack).
    s.qconv2d_direct(x + n * in_size, c, s.packed, r, scratch, s.hwc_output ? yn : result);
    if (s.hwc_output) continue;
    to_chw(result, pixels, c.out_channels, yn);
  }
}

// A depthwise QConv2d through the set's kernel, one example at a time: channels last straight
// into the output, or through the scratch and transposed to (C, H, W).
void qdepthwise(const Step& s, const Requant& r, const int8_t* x, int batch, uint8_t* scratch,
                int8_t* y) {
  const Conv2dShape& c = s.conv;
  const int pixels = c.out_h * c.out_w;
  auto* result = reinterpret_cast<int8_t*>(scratch + depthwise_image(c).scratch_bytes);
  const long in_size = static_cast<long>(c.in_channels) * c.in_h * c.in_w;
  const long out_size = static_cast<long>(c.out_channels) * pixels;
  for (int n = 0; n < batch; ++n) {
    int8_t* yn = y + n * out_size;
    s.kernels->qdepthwise(x + n * in_size, c, s.packed, r, scratch, s.hwc_output ? yn : result);
    if (s.hwc_output) continue;
    to_chw(result, pixels, c.out_channels, yn);
  }
}

// A depthwise fp32 Conv2d through the set's kernel, as qdepthwise.
void depthwise_f32(const Step& s, const float* x, int batch, uint8_t* scratch, bool relu,
                   float* y) {
  const Conv2dShape& c = s.conv;
  const int pixels = c.out_h * c.out_w;
  auto* result = reinterpret_cast<float*>(scratch + depthwise_image_f32_bytes(c));
  const long in_size = static_cast<long>(c.in_channels) * c.in_h * c.in_w;
  const long out_size = static_cast<long>(c.out_channels) * pixels;
  for (int n = 0; n < batch; ++n) {
    float* yn = y + n * out_size;
    s.kernels->depthwise_f32(x + n * in_size, c, s.packed_f32, static_cast<const float*>(s.bias),
                             relu, scratch, s.hwc_output ? yn : result);
    if (s.hwc_output) continue;
    to_chw(result, pixels, c.out_channels, yn);
  }
}

// Conv2d on a set with an fp32 GEMM, one example at a time: im2col (zeros for padding; from a
// channels-last input in (ky, kx, c) order, and none for a pointwise convolution, whose input is
// its rows), the GEMM with packed weights into [pixels, channels], left so where the output is
// channels last, else transposed to (C, H, W). The same products as ref::conv2d_f32, summed in
// another order: within kF32Tolerance.
void conv2d_as_gemm(const Step& s, const float* x, int batch, uint8_t* scratch, bool relu,
                    float* y) {
  const Conv2dShape& c = s.conv;
  const int row = c.in_channels * c.kernel * c.kernel_w, pixels = c.out_h * c.out_w;
  auto* cols = reinterpret_cast<float*>(scratch);
  float* result = cols + static_cast<size_t>(pixels) * row;
  const long in_size = static_cast<long>(c.in_channels) * c.in_h * c.in_w;
  const long out_size = static_cast<long>(c.out_channels) * pixels;
  for (int n = 0; n < batch; ++n) {
    const float* rows = cols;
    if (s.in_hwc && pointwise(c))
      rows = x + n * in_size;
    else if (s.in_hwc)
      im2col_hwc(x + n * in_size, c, 0.0f, cols);
    else
      im2col(x + n * in_size, c, 0.0f, cols);
    float* yn = y + n * out_size;
    s.kernels->linear_f32(rows, pixels, row, c.out_channels, s.packed_f32,
                          static_cast<const float*>(s.bias), relu, s.hwc_output ? yn : result);
    if (s.hwc_output) continue;
    to_chw(result, pixels, c.out_channels, yn);
  }
}

// Concat along the first per-example dimension: each example's a, then its b; channels last,
// each pixel's channels of a then of b.
void concat(const Step& s, const void* a, const void* b, int batch, void* y) {
  const size_t unit = dtype_size(s.in_type);
  const size_t a_bytes = s.in_elems * unit, b_bytes = s.in2_elems * unit;
  // Channels last: pixels runs of a's channels then b's (one run of each otherwise).
  const size_t pixels = s.in_hwc ? s.in_elems / s.in_shape[0] : 1;
  const size_t a_run = a_bytes / pixels, b_run = b_bytes / pixels;
  auto* out = static_cast<uint8_t*>(y);
  for (int n = 0; n < batch; ++n)
    for (size_t p = 0; p < pixels; ++p, out += a_run + b_run) {
      const uint8_t* an = static_cast<const uint8_t*>(a) + n * a_bytes + p * a_run;
      const uint8_t* bn = static_cast<const uint8_t*>(b) + n * b_bytes + p * b_run;
      if (s.table) {  // int8: each input's codes at the output's scale
        ref::lookup_i8(reinterpret_cast<const int8_t*>(an), static_cast<long>(a_run), s.table,
                       reinterpret_cast<int8_t*>(out));
        ref::lookup_i8(reinterpret_cast<const int8_t*>(bn), static_cast<long>(b_run), s.table + 256,
                       reinterpret_cast<int8_t*>(out + a_run));
      } else {
        memcpy(out, an, a_run);
        memcpy(out + a_run, bn, b_run);
      }
    }
}

// Add and Mul: b is the second input, or the step's constant.
void binary(const Step& s, const void* in, const void* in2, int batch, void* out) {
  const bool constant = in2 == nullptr;
  const void* b = constant ? s.weight : in2;
  const bool add = s.op.kind == OpKind::kAdd;
  if (s.in_type == DType::kI8) {
    if (add && !constant && s.binary.broadcast == Broadcast::kSame && s.kernels->add_i8_same) {
      s.kernels->add_i8_same(static_cast<const int8_t*>(in), static_cast<const int8_t*>(b),
                             s.binary.elements * batch, s.qbinary, static_cast<int8_t*>(out));
      return;
    }
    (add ? ref::add_i8 : ref::mul_i8)(static_cast<const int8_t*>(in), static_cast<const int8_t*>(b),
                                      batch, s.binary, constant, s.qbinary,
                                      static_cast<int8_t*>(out));
    return;
  }
  auto* y = static_cast<float*>(out);
  (add ? ref::add_f32 : ref::mul_f32)(static_cast<const float*>(in), static_cast<const float*>(b),
                                      batch, s.binary, constant, y);
  if (s.op.flags & kFlagFusedReLU) ref::relu_f32(y, s.binary.elements * batch, y);
}

}  // namespace

void run_step(const Step& s, const void* in, const void* in2, void* out, uint8_t* scratch,
              int batch) {
  const KernelSet& k = *s.kernels;
  const OpRecord& op = s.op;
  const bool relu = op.flags & kFlagFusedReLU;
  const long count = static_cast<long>(s.in_elems) * batch;
  Requant r{};
  if (op.kind == OpKind::kQLinear || op.kind == OpKind::kQConv2d) {
    r = {static_cast<const int32_t*>(s.bias),
         s.multiplier,
         s.shift,
         op.input_zero_point,
         op.output_zero_point,
         relu ? op.output_zero_point : -128,
         127,
         s.bias_unsigned,
         s.bias_signed,
         s.requant_scale};
  }
  switch (op.kind) {
    case OpKind::kLinear:
      k.linear_f32(static_cast<const float*>(in), batch, static_cast<int>(op.in),
                   static_cast<int>(op.out),
                   s.packed_f32 ? s.packed_f32 : static_cast<const float*>(s.weight),
                   static_cast<const float*>(s.bias), relu, static_cast<float*>(out));
      break;
    case OpKind::kQLinear:
      s.qlinear(static_cast<const int8_t*>(in), batch, static_cast<int>(op.in),
                static_cast<int>(op.out),
                s.packed ? s.packed : static_cast<const int8_t*>(s.weight), r, scratch,
                static_cast<int8_t*>(out));
      break;
    case OpKind::kDynamicLinear:
      (s.packed ? k.dynamic_linear : ref::dynamic_linear)(
          static_cast<const float*>(in), batch, static_cast<int>(op.in), static_cast<int>(op.out),
          s.packed ? s.packed : static_cast<const int8_t*>(s.weight), s.weight_scale, s.row_sums,
          static_cast<const float*>(s.bias), relu, scratch, static_cast<float*>(out));
      break;
    case OpKind::kConv2d:
      if (s.depthwise)
        depthwise_f32(s, static_cast<const float*>(in), batch, scratch, relu,
                      static_cast<float*>(out));
      else if (s.conv_as_gemm)
        conv2d_as_gemm(s, static_cast<const float*>(in), batch, scratch, relu,
                       static_cast<float*>(out));
      else
        ref::conv2d_f32(static_cast<const float*>(in), batch, s.conv,
                        static_cast<const float*>(s.weight), static_cast<const float*>(s.bias),
                        relu, static_cast<float*>(out));
      break;
    case OpKind::kQConv2d:
      if (s.depthwise)
        qdepthwise(s, r, static_cast<const int8_t*>(in), batch, scratch, static_cast<int8_t*>(out));
      else if (s.qconv2d_direct)
        qconv2d_direct(s, r, static_cast<const int8_t*>(in), batch, scratch,
                       static_cast<int8_t*>(out));
      else if (s.conv_as_gemm)
        qconv2d_as_gemm(s, r, static_cast<const int8_t*>(in), batch, scratch,
                        static_cast<int8_t*>(out));
      else
        ref::qconv2d(static_cast<const int8_t*>(in), batch, s.conv,
                     static_cast<const int8_t*>(s.weight), r, static_cast<int8_t*>(out));
      break;
    case OpKind::kMaxPool2d:
      if (s.in_type == DType::kF32)
        (s.in_hwc ? ref::max_pool_f32_hwc : ref::max_pool_f32)(static_cast<const float*>(in), batch,
                                                               s.conv, static_cast<float*>(out));
      else
        (s.in_hwc ? ref::max_pool_i8_hwc : ref::max_pool_i8)(static_cast<const int8_t*>(in), batch,
                                                             s.conv, static_cast<int8_t*>(out));
      break;
    case OpKind::kAvgPool2d:
      if (s.in_type == DType::kF32)
        (s.in_hwc ? ref::avg_pool_f32_hwc : ref::avg_pool_f32)(static_cast<const float*>(in), batch,
                                                               s.conv, static_cast<float*>(out));
      else
        (s.in_hwc ? ref::avg_pool_i8_hwc : ref::avg_pool_i8)(static_cast<const int8_t*>(in), batch,
                                                             s.conv, static_cast<int8_t*>(out));
      break;
    case OpKind::kReLU:
      if (s.in_type == DType::kF32)
        ref::relu_f32(static_cast<const float*>(in), count, static_cast<float*>(out));
      else
        ref::relu_i8(static_cast<const int8_t*>(in), count,
                     static_cast<int8_t>(op.input_zero_point), static_cast<int8_t*>(out));
      break;
    case OpKind::kSoftmax:
      ref::softmax_f32(static_cast<const float*>(in), batch, static_cast<int>(s.in_elems),
                       static_cast<float*>(out));
      break;
    case OpKind::kQuantize:
      k.quantize(static_cast<const float*>(in), count, op.scale, op.output_zero_point,
                 static_cast<int8_t*>(out));
      break;
    case OpKind::kDequantize:
      ref::dequantize(static_cast<const int8_t*>(in), count, op.scale, op.input_zero_point,
                      static_cast<float*>(out));
      break;
    case OpKind::kFlatten:
    case OpKind::kReshape:  // the last step only: the others' output is their input
      memcpy(out, in, count * dtype_size(s.in_type));
      break;
    case OpKind::kAdd:
    case OpKind::kMul:
      binary(s, in, in2, batch, out);
      break;
    case OpKind::kConcat:
      concat(s, in, in2, batch, out);
      break;
    case OpKind::kClip:
    case OpKind::kSigmoid:
    case OpKind::kHardSigmoid:
    case OpKind::kHardSwish:
      if (s.table) {
        ref::lookup_i8(static_cast<const int8_t*>(in), count, s.table, static_cast<int8_t*>(out));
        break;
      }
      if (op.kind == OpKind::kClip)
        ref::clip_f32(static_cast<const float*>(in), count, s.graph.alpha, s.graph.beta,
                      static_cast<float*>(out));
      else if (op.kind == OpKind::kSigmoid)
        ref::sigmoid_f32(static_cast<const float*>(in), count, static_cast<float*>(out));
      else if (op.kind == OpKind::kHardSigmoid)
        ref::hard_sigmoid_f32(static_cast<const float*>(in), count, s.graph.alpha, s.graph.beta,
                              static_cast<float*>(out));
      else
        ref::hard_swish_f32(static_cast<const float*>(in), count, static_cast<float*>(out));
      break;
  }
}

}  // namespace greenai::edge::internal
