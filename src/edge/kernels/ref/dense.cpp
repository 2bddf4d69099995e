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

// y[c_out][oy][ox] = b + sum over c_in, ky, kx of w[c_out][c_in][ky][kx] x[c_in][iy][ix], with
// iy = oy*stride - padding + ky and zero outside the image.
void conv2d_f32(const float* x, int batch, const Conv2dShape& s, const float* w, const float* b,
                bool relu, float* y) {
  const long in_size = static_cast<long>(s.in_channels) * s.in_h * s.in_w;
  const long out_size = static_cast<long>(s.out_channels) * s.out_h * s.out_w;
  for (int n = 0; n < batch; ++n)
    for (int oc = 0; oc < s.out_channels; ++oc)
      for (int oy = 0; oy < s.out_h; ++oy)
        for (int ox = 0; ox < s.out_w; ++ox) {
          float acc = b ? b[oc] : 0.0f;
          for (int ic = 0; ic < s.in_channels; ++ic)
            for (int ky = 0; ky < s.kernel; ++ky)
              for (int kx = 0; kx < s.kernel; ++kx) {
                const int iy = oy * s.stride - s.padding + ky, ix = ox * s.stride - s.padding + kx;
                if (iy < 0 || iy >= s.in_h || ix < 0 || ix >= s.in_w) continue;
                acc += w[((static_cast<long>(oc) * s.in_channels + ic) * s.kernel + ky) * s.kernel +
                         kx] *
                       x[n * in_size + (static_cast<long>(ic) * s.in_h + iy) * s.in_w + ix];
              }
          y[n * out_size + (static_cast<long>(oc) * s.out_h + oy) * s.out_w + ox] =
              relu ? max_of(acc, 0.0f) : acc;
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

// Padding holds the real value 0, i.e. the input zero point, which contributes nothing.
void qconv2d(const int8_t* x, int batch, const Conv2dShape& s, const int8_t* w, const Requant& r,
             int8_t* y) {
  const long in_size = static_cast<long>(s.in_channels) * s.in_h * s.in_w;
  const long out_size = static_cast<long>(s.out_channels) * s.out_h * s.out_w;
  for (int n = 0; n < batch; ++n)
    for (int oc = 0; oc < s.out_channels; ++oc)
      for (int oy = 0; oy < s.out_h; ++oy)
        for (int ox = 0; ox < s.out_w; ++ox) {
          int64_t dot = 0;
          for (int ic = 0; ic < s.in_channels; ++ic)
            for (int ky = 0; ky < s.kernel; ++ky)
              for (int kx = 0; kx < s.kernel; ++kx) {
                const int iy = oy * s.stride - s.padding + ky, ix = ox * s.stride - s.padding + kx;
                if (iy < 0 || iy >= s.in_h || ix < 0 || ix >= s.in_w) continue;
                dot += (static_cast<int32_t>(
                            x[n * in_size + (static_cast<long>(ic) * s.in_h + iy) * s.in_w + ix]) -
                        r.input_zero_point) *
                       static_cast<int32_t>(
                           w[((static_cast<long>(oc) * s.in_channels + ic) * s.kernel + ky) *
                                 s.kernel +
                             kx]);
              }
          y[n * out_size + (static_cast<long>(oc) * s.out_h + oy) * s.out_w + ox] =
              requantize(wrapping_add(r.bias[oc], dot), oc, r);
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
