// Reference kernels for Linear and Conv2d, fp32 and int8: the textbook loops every fast kernel
// is checked against.
#include <math.h>

#include "edge/internal/fixed_point.h"
#include "edge/internal/kernels.h"
#include "edge/internal/scalar.h"

namespace greenai::edge::internal::ref {

void linear_f32(const float* x, int batch, int in, int out, const float* w, const float* b,
                bool relu, float* y) {
  for (int n = 0; n < batch; ++n)
    for (int o = 0; o < out; ++o) {
      float acc = b ? b[o] : 0.0f;
      for (int i = 0; i < in; ++i)
        acc += w[static_cast<long>(o) * in + i] * x[static_cast<long>(n) * in + i];
      y[static_cast<long>(n) * out + o] = relu ? max_of(acc, 0.0f) : acc;
    }
}

namespace {

// The input row and column a window tap reads, per output row and column: iy = oy x stride -
// pad_top + ky x dilation.
inline int tap_y(const Conv2dShape& s, int oy, int ky) {
  return oy * s.stride - s.padding + ky * s.dilation_h;
}
inline int tap_x(const Conv2dShape& s, int ox, int kx) {
  return ox * s.stride_w - s.pad_left + kx * s.dilation_w;
}

// The output columns [begin, end) whose tap kx lies inside the image.
inline void inside_columns(const Conv2dShape& s, int kx, int* begin, int* end) {
  const int offset = kx * s.dilation_w - s.pad_left;  // ix = ox x stride_w + offset
  int b = offset >= 0 ? 0 : (-offset + s.stride_w - 1) / s.stride_w;
  int e = s.in_w - offset <= 0 ? 0 : (s.in_w - offset + s.stride_w - 1) / s.stride_w;
  *begin = min_of(b, s.out_w);
  *end = max_of(*begin, min_of(e, s.out_w));
}

// A depthwise convolution (one input channel per group) of fp32 planes: each output row
// accumulates its taps in the order ky, kx after the bias, as the general loop does (the same
// sums, bit for bit), but along whole rows.
void depthwise_f32(const float* x, int batch, const Conv2dShape& s, const float* w, const float* b,
                   bool relu, float* y) {
  const long in_plane = static_cast<long>(s.in_h) * s.in_w;
  const long out_plane = static_cast<long>(s.out_h) * s.out_w;
  const int multiplier = s.out_channels / s.groups;  // outputs per input channel
  const int taps = s.kernel * s.kernel_w;
  for (int n = 0; n < batch; ++n)
    for (int oc = 0; oc < s.out_channels; ++oc) {
      const float* in = x + (static_cast<long>(n) * s.in_channels + oc / multiplier) * in_plane;
      float* out = y + (static_cast<long>(n) * s.out_channels + oc) * out_plane;
      const float* wc = w + static_cast<long>(oc) * taps;
      for (long p = 0; p < out_plane; ++p) out[p] = b ? b[oc] : 0.0f;
      for (int oy = 0; oy < s.out_h; ++oy) {
        float* row = out + static_cast<long>(oy) * s.out_w;
        for (int ky = 0; ky < s.kernel; ++ky) {
          const int iy = tap_y(s, oy, ky);
          if (iy < 0 || iy >= s.in_h) continue;
          const float* in_row = in + static_cast<long>(iy) * s.in_w;
          for (int kx = 0; kx < s.kernel_w; ++kx) {
            int begin, end;
            inside_columns(s, kx, &begin, &end);
            const float wk = wc[ky * s.kernel_w + kx];
            const int offset = kx * s.dilation_w - s.pad_left;
            if (s.stride_w == 1)
              for (int ox = begin; ox < end; ++ox) row[ox] += wk * in_row[ox + offset];
            else
              for (int ox = begin; ox < end; ++ox) row[ox] += wk * in_row[ox * s.stride_w + offset];
          }
        }
      }
      if (relu)
        for (long p = 0; p < out_plane; ++p) out[p] = max_of(out[p], 0.0f);
    }
}

}  // namespace

// y[c_out][oy][ox] = b + sum over the group's c_in, ky, kx of w[c_out][c_in][ky][kx]
// x[c_in][iy][ix], with iy = oy stride - pad_top + ky dilation and zero outside the image.
void conv2d_f32(const float* x, int batch, const Conv2dShape& s, const float* w, const float* b,
                bool relu, float* y) {
  if (s.groups == s.in_channels && s.groups > 1) return depthwise_f32(x, batch, s, w, b, relu, y);
  const long in_size = static_cast<long>(s.in_channels) * s.in_h * s.in_w;
  const long out_size = static_cast<long>(s.out_channels) * s.out_h * s.out_w;
  const int in_per_group = s.in_channels / s.groups, out_per_group = s.out_channels / s.groups;
  for (int n = 0; n < batch; ++n)
    for (int oc = 0; oc < s.out_channels; ++oc) {
      const int first_ic = oc / out_per_group * in_per_group;
      for (int oy = 0; oy < s.out_h; ++oy)
        for (int ox = 0; ox < s.out_w; ++ox) {
          float acc = b ? b[oc] : 0.0f;
          for (int g = 0; g < in_per_group; ++g)
            for (int ky = 0; ky < s.kernel; ++ky)
              for (int kx = 0; kx < s.kernel_w; ++kx) {
                const int iy = tap_y(s, oy, ky), ix = tap_x(s, ox, kx);
                if (iy < 0 || iy >= s.in_h || ix < 0 || ix >= s.in_w) continue;
                acc +=
                    w[((static_cast<long>(oc) * in_per_group + g) * s.kernel + ky) * s.kernel_w +
                      kx] *
                    x[n * in_size + (static_cast<long>(first_ic + g) * s.in_h + iy) * s.in_w + ix];
              }
          y[n * out_size + (static_cast<long>(oc) * s.out_h + oy) * s.out_w + ox] =
              relu ? max_of(acc, 0.0f) : acc;
        }
    }
}

// acc = bias + sum (x - zp_in) w (|x - zp| <= 255, |w| <= 127), summed in int64 and wrapped.
void qlinear(const int8_t* x, int batch, int in, int out, const int8_t* w, const Requant& r,
             uint8_t* /*scratch*/, int8_t* y) {
  for (int n = 0; n < batch; ++n)
    for (int o = 0; o < out; ++o) {
      int64_t dot = 0;
      for (int i = 0; i < in; ++i)
        dot += (static_cast<int32_t>(x[static_cast<long>(n) * in + i]) - r.input_zero_point) *
               static_cast<int32_t>(w[static_cast<long>(o) * in + i]);
      y[static_cast<long>(n) * out + o] = requantize(wrapping_add(r.bias[o], dot), o, r);
    }
}

namespace {

// A depthwise int8 convolution (one input channel per group): int32 sums of whole output rows,
// a chunk at a time, tap by tap (the same integers as the general loop, in another order).
void depthwise_i8(const int8_t* x, int batch, const Conv2dShape& s, const int8_t* w,
                  const Requant& r, int8_t* y) {
  constexpr int kChunk = 256;
  const long in_plane = static_cast<long>(s.in_h) * s.in_w;
  const long out_plane = static_cast<long>(s.out_h) * s.out_w;
  const int multiplier = s.out_channels / s.groups;
  const int taps = s.kernel * s.kernel_w;
  const int32_t zp = r.input_zero_point;
  int32_t acc[kChunk];
  for (int n = 0; n < batch; ++n)
    for (int oc = 0; oc < s.out_channels; ++oc) {
      const int8_t* in = x + (static_cast<long>(n) * s.in_channels + oc / multiplier) * in_plane;
      int8_t* out = y + (static_cast<long>(n) * s.out_channels + oc) * out_plane;
      const int8_t* wc = w + static_cast<long>(oc) * taps;
      for (int oy = 0; oy < s.out_h; ++oy)
        for (int first = 0; first < s.out_w; first += kChunk) {
          const int last = min_of(first + kChunk, s.out_w);
          for (int i = 0; i < last - first; ++i) acc[i] = 0;
          for (int ky = 0; ky < s.kernel; ++ky) {
            const int iy = tap_y(s, oy, ky);
            if (iy < 0 || iy >= s.in_h) continue;
            const int8_t* in_row = in + static_cast<long>(iy) * s.in_w;
            for (int kx = 0; kx < s.kernel_w; ++kx) {
              int begin, end;
              inside_columns(s, kx, &begin, &end);
              begin = max_of(begin, first);
              end = min_of(end, last);
              const int32_t wk = wc[ky * s.kernel_w + kx];
              const int offset = kx * s.dilation_w - s.pad_left;
              if (s.stride_w == 1)
                for (int ox = begin; ox < end; ++ox)
                  acc[ox - first] += (static_cast<int32_t>(in_row[ox + offset]) - zp) * wk;
              else
                for (int ox = begin; ox < end; ++ox)
                  acc[ox - first] +=
                      (static_cast<int32_t>(in_row[ox * s.stride_w + offset]) - zp) * wk;
            }
          }
          int8_t* row = out + static_cast<long>(oy) * s.out_w;
          for (int ox = first; ox < last; ++ox)
            row[ox] = requantize(wrapping_add(r.bias[oc], acc[ox - first]), oc, r);
        }
    }
}

}  // namespace

// Padding holds the real value 0, i.e. the input zero point, which contributes nothing.
void qconv2d(const int8_t* x, int batch, const Conv2dShape& s, const int8_t* w, const Requant& r,
             int8_t* y) {
  if (s.groups == s.in_channels && s.groups > 1) return depthwise_i8(x, batch, s, w, r, y);
  const long in_size = static_cast<long>(s.in_channels) * s.in_h * s.in_w;
  const long out_size = static_cast<long>(s.out_channels) * s.out_h * s.out_w;
  const int in_per_group = s.in_channels / s.groups, out_per_group = s.out_channels / s.groups;
  for (int n = 0; n < batch; ++n)
    for (int oc = 0; oc < s.out_channels; ++oc) {
      const int first_ic = oc / out_per_group * in_per_group;
      for (int oy = 0; oy < s.out_h; ++oy)
        for (int ox = 0; ox < s.out_w; ++ox) {
          int64_t dot = 0;
          for (int g = 0; g < in_per_group; ++g)
            for (int ky = 0; ky < s.kernel; ++ky)
              for (int kx = 0; kx < s.kernel_w; ++kx) {
                const int iy = tap_y(s, oy, ky), ix = tap_x(s, ox, kx);
                if (iy < 0 || iy >= s.in_h || ix < 0 || ix >= s.in_w) continue;
                const int8_t q =
                    x[n * in_size + (static_cast<long>(first_ic + g) * s.in_h + iy) * s.in_w + ix];
                dot += (static_cast<int32_t>(q) - r.input_zero_point) *
                       static_cast<int32_t>(
                           w[((static_cast<long>(oc) * in_per_group + g) * s.kernel + ky) *
                                 s.kernel_w +
                             kx]);
              }
          y[n * out_size + (static_cast<long>(oc) * s.out_h + oy) * s.out_w + ox] =
              requantize(wrapping_add(r.bias[oc], dot), oc, r);
        }
    }
}

// Each example's row is quantized on its own to unsigned 8 bits over its range widened to
// contain 0 (so zero is exact): u = clamp(round(x / s_x) + zp, 0, 255). Then, per channel c,
//   y = s_x s_w[c] (sum_i u_i w[c][i] - zp row_sum[c]) + b[c]
// the sum exact in int64. A row that is all zeros gives b.
void dynamic_linear(const float* x, int batch, int in, int out, const int8_t* w,
                    const float* w_scale, const int64_t* row_sum, const float* b, bool relu,
                    uint8_t* scratch, float* y) {
  for (int n = 0; n < batch; ++n) {
    const float* row = x + static_cast<long>(n) * in;
    float lo = 0, hi = 0;
    for (int i = 0; i < in; ++i) {
      lo = min_of(lo, row[i]);
      hi = max_of(hi, row[i]);
    }
    const float scale = (hi - lo) / 255.0f;
    int32_t zp = 0;
    if (scale > 0 && isfinite(scale)) {
      zp = static_cast<int32_t>(clamp_of(roundf(-lo / scale), 0.0f, 255.0f));
      for (int i = 0; i < in; ++i) {
        const float q = roundf(row[i] / scale) + static_cast<float>(zp);
        scratch[i] =
            isnan(q) ? static_cast<uint8_t>(zp) : static_cast<uint8_t>(clamp_of(q, 0.0f, 255.0f));
      }
    }
    const bool usable = scale > 0 && isfinite(scale);
    for (int o = 0; o < out; ++o) {
      int64_t acc = 0;
      if (usable) {
        const int8_t* wo = w + static_cast<long>(o) * in;
        for (int i = 0; i < in; ++i)
          acc += static_cast<int32_t>(scratch[i]) * static_cast<int32_t>(wo[i]);
        acc -= int64_t{zp} * row_sum[o];
      }
      y[static_cast<long>(n) * out + o] =
          dynamic_output(b ? b[o] : 0.0f, usable ? scale : 0.0f, w_scale[o], acc, relu);
    }
  }
}

}  // namespace greenai::edge::internal::ref
