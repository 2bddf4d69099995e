// Reference kernels for pooling, activations, softmax and (de)quantization.
#include <math.h>

#include "edge/internal/kernels.h"
#include "edge/internal/scalar.h"

namespace greenai::edge::internal::ref {
namespace {

// Visits each pooling window; `reduce(first, count_of_cells_in_image, accumulate)`.
template <typename T, typename Reduce>
void pool(const T* x, int batch, const Conv2dShape& s, T* y, Reduce reduce) {
  const long plane = static_cast<long>(s.in_h) * s.in_w,
             out_plane = static_cast<long>(s.out_h) * s.out_w;
  for (int n = 0; n < batch; ++n)
    for (int c = 0; c < s.in_channels; ++c) {
      const T* in = x + (static_cast<long>(n) * s.in_channels + c) * plane;
      T* out = y + (static_cast<long>(n) * s.in_channels + c) * out_plane;
      for (int oy = 0; oy < s.out_h; ++oy)
        for (int ox = 0; ox < s.out_w; ++ox) {
          const int y0 = oy * s.stride - s.padding, x0 = ox * s.stride_w - s.pad_left;
          const int y_begin = max_of(y0, 0), y_end = min_of(y0 + s.kernel, s.in_h);
          const int x_begin = max_of(x0, 0), x_end = min_of(x0 + s.kernel_w, s.in_w);
          out[oy * s.out_w + ox] = reduce(in, y_begin, y_end, x_begin, x_end, s.in_w);
        }
    }
}

}  // namespace

void max_pool_f32(const float* x, int batch, const Conv2dShape& s, float* y) {
  pool(x, batch, s, y, [](const float* in, int y0, int y1, int x0, int x1, int w) {
    float m = -INFINITY;
    for (int i = y0; i < y1; ++i)
      for (int j = x0; j < x1; ++j) m = max_of(m, in[i * w + j]);
    return m;
  });
}

void max_pool_i8(const int8_t* x, int batch, const Conv2dShape& s, int8_t* y) {
  pool(x, batch, s, y, [](const int8_t* in, int y0, int y1, int x0, int x1, int w) {
    int8_t m = -128;
    for (int i = y0; i < y1; ++i)
      for (int j = x0; j < x1; ++j) m = max_of(m, in[i * w + j]);
    return m;
  });
}

// Mean over the cells inside the image (padding is not counted, as count_include_pad=False).
// (The loader takes no other: a window that counts its padding is refused at import.)
void avg_pool_f32(const float* x, int batch, const Conv2dShape& s, float* y) {
  pool(x, batch, s, y, [](const float* in, int y0, int y1, int x0, int x1, int w) {
    float sum = 0;
    for (int i = y0; i < y1; ++i)
      for (int j = x0; j < x1; ++j) sum += in[i * w + j];
    return sum / static_cast<float>((y1 - y0) * (x1 - x0));
  });
}

// The same scale and zero point in and out: the mean of the codes, rounded half away from zero.
void avg_pool_i8(const int8_t* x, int batch, const Conv2dShape& s, int8_t* y) {
  pool(x, batch, s, y, [](const int8_t* in, int y0, int y1, int x0, int x1, int w) {
    int32_t sum = 0;
    const int32_t count = (y1 - y0) * (x1 - x0);
    for (int i = y0; i < y1; ++i)
      for (int j = x0; j < x1; ++j) sum += in[i * w + j];
    const int32_t rounded = sum >= 0 ? (sum + count / 2) / count : -((-sum + count / 2) / count);
    return static_cast<int8_t>(clamp_of(rounded, -128, 127));
  });
}

namespace {

// Visits each pooling window of channels-last values: reduce(y's pixel, the window's pixels
// [y0, y1) x [x0, x1), the input's row length in bytes) combines every channel at once.
template <typename T, typename Reduce>
void pool_hwc(const T* x, int batch, const Conv2dShape& s, T* y, Reduce reduce) {
  const long channels = s.in_channels, row = static_cast<long>(s.in_w) * channels;
  for (int n = 0; n < batch; ++n) {
    const T* in = x + n * s.in_h * row;
    T* out = y + static_cast<long>(n) * s.out_h * s.out_w * channels;
    for (int oy = 0; oy < s.out_h; ++oy)
      for (int ox = 0; ox < s.out_w; ++ox, out += channels) {
        const int y0 = oy * s.stride - s.padding, x0 = ox * s.stride_w - s.pad_left;
        const int y_begin = max_of(y0, 0), y_end = min_of(y0 + s.kernel, s.in_h);
        const int x_begin = max_of(x0, 0), x_end = min_of(x0 + s.kernel_w, s.in_w);
        reduce(out, in, y_begin, y_end, x_begin, x_end, row);
      }
  }
}

}  // namespace

void max_pool_i8_hwc(const int8_t* x, int batch, const Conv2dShape& s, int8_t* y) {
  const long channels = s.in_channels;
  pool_hwc(x, batch, s, y,
           [channels](int8_t* out, const int8_t* in, int y0, int y1, int x0, int x1, long row) {
             for (long c = 0; c < channels; ++c) out[c] = -128;
             for (int i = y0; i < y1; ++i)
               for (int j = x0; j < x1; ++j) {
                 const int8_t* cell = in + i * row + j * channels;
                 for (long c = 0; c < channels; ++c) out[c] = max_of(out[c], cell[c]);
               }
           });
}

void max_pool_f32_hwc(const float* x, int batch, const Conv2dShape& s, float* y) {
  const long channels = s.in_channels;
  pool_hwc(x, batch, s, y,
           [channels](float* out, const float* in, int y0, int y1, int x0, int x1, long row) {
             for (long c = 0; c < channels; ++c) out[c] = -INFINITY;
             for (int i = y0; i < y1; ++i)
               for (int j = x0; j < x1; ++j) {
                 const float* cell = in + i * row + j * channels;
                 for (long c = 0; c < channels; ++c) out[c] = max_of(out[c], cell[c]);
               }
           });
}

// The sums in avg_pool_f32's order (rows, then columns), divided by the cells counted.
void avg_pool_f32_hwc(const float* x, int batch, const Conv2dShape& s, float* y) {
  const long channels = s.in_channels;
  pool_hwc(x, batch, s, y,
           [channels](float* out, const float* in, int y0, int y1, int x0, int x1, long row) {
             for (long c = 0; c < channels; ++c) out[c] = 0.0f;
             for (int i = y0; i < y1; ++i)
               for (int j = x0; j < x1; ++j) {
                 const float* cell = in + i * row + j * channels;
                 for (long c = 0; c < channels; ++c) out[c] += cell[c];
               }
             const float count = static_cast<float>((y1 - y0) * (x1 - x0));
             for (long c = 0; c < channels; ++c) out[c] /= count;
           });
}

// The mean of the codes as avg_pool_i8, 64 channels at a time.
void avg_pool_i8_hwc(const int8_t* x, int batch, const Conv2dShape& s, int8_t* y) {
  const long channels = s.in_channels;
  pool_hwc(x, batch, s, y,
           [channels](int8_t* out, const int8_t* in, int y0, int y1, int x0, int x1, long row) {
             const int32_t count = (y1 - y0) * (x1 - x0);
             for (long c0 = 0; c0 < channels; c0 += 64) {
               const long n = min_of(channels - c0, 64L);
               int32_t sum[64] = {};
               for (int i = y0; i < y1; ++i)
                 for (int j = x0; j < x1; ++j) {
                   const int8_t* cell = in + i * row + j * channels + c0;
                   for (long c = 0; c < n; ++c) sum[c] += cell[c];
                 }
               for (long c = 0; c < n; ++c) {
                 const int32_t v = sum[c];
                 const int32_t rounded =
                     v >= 0 ? (v + count / 2) / count : -((-v + count / 2) / count);
                 out[c0 + c] = static_cast<int8_t>(clamp_of(rounded, -128, 127));
               }
             }
           });
}

void relu_f32(const float* x, long count, float* y) {
  for (long i = 0; i < count; ++i) y[i] = max_of(x[i], 0.0f);
}

void relu_i8(const int8_t* x, long count, int8_t zero_point, int8_t* y) {
  for (long i = 0; i < count; ++i) y[i] = max_of(x[i], zero_point);
}

// Subtracting the maximum keeps exp() from overflowing.
void softmax_f32(const float* x, int batch, int features, float* y) {
  for (int n = 0; n < batch; ++n) {
    const float* in = x + static_cast<long>(n) * features;
    float* out = y + static_cast<long>(n) * features;
    float m = in[0];  // the first largest, as std::max_element
    for (int i = 1; i < features; ++i)
      if (m < in[i]) m = in[i];
    float sum = 0;
    for (int i = 0; i < features; ++i) sum += out[i] = expf(in[i] - m);
    for (int i = 0; i < features; ++i) out[i] /= sum;
  }
}

// Round half away from zero (roundf), as TensorFlow Lite's reference quantizer.
void quantize(const float* x, long count, float scale, int32_t zero_point, int8_t* y) {
  for (long i = 0; i < count; ++i) {
    const float q = roundf(x[i] / scale) + static_cast<float>(zero_point);
    y[i] = isnan(q) ? static_cast<int8_t>(zero_point)
                    : static_cast<int8_t>(clamp_of(q, -128.0f, 127.0f));
  }
}

void dequantize(const int8_t* x, long count, float scale, int32_t zero_point, float* y) {
  for (long i = 0; i < count; ++i)
    y[i] = scale * static_cast<float>(static_cast<int32_t>(x[i]) - zero_point);
}

void lookup_i8(const int8_t* x, long count, const int8_t* table, int8_t* y) {
  for (long i = 0; i < count; ++i) y[i] = table[x[i] + 128];
}

namespace {

// y[i] = f(a[i], b[i]), or f(a[i], b[0]) with kOne: a plain loop, so that the compiler vectorizes
// f (two loops per operator: the runtime's size counts).
template <bool kOne, typename T, typename F>
__attribute__((noinline)) void apply(const T* a, const T* b, long n, T* y, F f) {
  if constexpr (kOne) {
    const T b0 = b[0];
    for (long i = 0; i < n; ++i) y[i] = f(a[i], b0);
  } else {
    for (long i = 0; i < n; ++i) y[i] = f(a[i], b[i]);
  }
}

// out[n][i] = f(a[n][i], b at i's broadcast index); b is per example, or one shared constant.
// The shape is copied first: an int8 store may alias it, and a loop whose bound is reloaded after
// every store is not vectorized.
template <typename T, typename F>
void binary(const T* a, const T* b, int batch, const BinaryShape& shape, bool b_constant, T* y,
            F f) {
  const long elements = shape.elements, b_elements = shape.b_elements, plane = shape.plane;
  const Broadcast broadcast = shape.broadcast;
  const bool channels_last = shape.channels_last;
  for (int n = 0; n < batch; ++n) {
    const T* an = a + n * elements;
    const T* bn = b_constant ? b : b + n * b_elements;
    T* yn = y + n * elements;
    if (broadcast == Broadcast::kSame) {
      apply<false>(an, bn, elements, yn, f);
    } else if (broadcast == Broadcast::kOne) {
      apply<true>(an, bn, elements, yn, f);
    } else if (channels_last) {  // (H, W, C): b's channels repeat at every pixel
      for (long p = 0; p < plane; ++p)
        apply<false>(an + p * b_elements, bn, b_elements, yn + p * b_elements, f);
    } else {
      for (long c = 0; c < b_elements; ++c)
        apply<true>(an + c * plane, bn + c, plane, yn + c * plane, f);
    }
  }
}

// v clamped to [lo, hi], a NaN (from scales whose ratios overflow) to lo: the comparisons are
// written so that a NaN fails the first.
inline float clamp_codes(float v, float lo, float hi) { return v > lo ? (v < hi ? v : hi) : lo; }

}  // namespace

void add_f32(const float* a, const float* b, int batch, const BinaryShape& s, bool b_constant,
             float* y) {
  binary(a, b, batch, s, b_constant, y, [](float u, float v) { return u + v; });
}

void mul_f32(const float* a, const float* b, int batch, const BinaryShape& s, bool b_constant,
             float* y) {
  binary(a, b, batch, s, b_constant, y, [](float u, float v) { return u * v; });
}

// code = s_a / s_out (q_a - zp_a) + s_b / s_out (q_b - zp_b) + zp_out, written as
// q_a m_a + q_b m_b + c, clamped, then rounded (ties to even): no branch, so it vectorizes.
void add_i8(const int8_t* a, const int8_t* b, int batch, const BinaryShape& s, bool b_constant,
            const QBinary& q, int8_t* y) {
  const float ma = q.scale_a / q.scale_out, mb = q.scale_b / q.scale_out;
  const float c = static_cast<float>(q.zero_point_out) - static_cast<float>(q.zero_point_a) * ma -
                  static_cast<float>(q.zero_point_b) * mb;
  const float lo = static_cast<float>(q.min), hi = static_cast<float>(q.max);
  binary(a, b, batch, s, b_constant, y, [=](int8_t u, int8_t v) {
    const float code = static_cast<float>(u) * ma + static_cast<float>(v) * mb + c;
    // Through int32: GCC vectorizes float -> int32 -> int8, not float -> int8.
    return static_cast<int8_t>(static_cast<int32_t>(round_half_even(clamp_codes(code, lo, hi))));
  });
}

// code = s_a s_b / s_out (q_a - zp_a)(q_b - zp_b) + zp_out, clamped and rounded as add_i8.
void mul_i8(const int8_t* a, const int8_t* b, int batch, const BinaryShape& s, bool b_constant,
            const QBinary& q, int8_t* y) {
  const float m = q.scale_a * q.scale_b / q.scale_out;
  const float zo = static_cast<float>(q.zero_point_out);
  const float lo = static_cast<float>(q.min), hi = static_cast<float>(q.max);
  const int32_t za = q.zero_point_a, zb = q.zero_point_b;
  binary(a, b, batch, s, b_constant, y, [=](int8_t u, int8_t v) {
    const float code = m * static_cast<float>((u - za) * (v - zb)) + zo;
    // Through int32: GCC vectorizes float -> int32 -> int8, not float -> int8.
    return static_cast<int8_t>(static_cast<int32_t>(round_half_even(clamp_codes(code, lo, hi))));
  });
}

void clip_f32(const float* x, long count, float lo, float hi, float* y) {
  for (long i = 0; i < count; ++i) y[i] = min_of(max_of(x[i], lo), hi);
}

void sigmoid_f32(const float* x, long count, float* y) {
  for (long i = 0; i < count; ++i) y[i] = 1.0f / (1.0f + expf(-x[i]));
}

void hard_sigmoid_f32(const float* x, long count, float alpha, float beta, float* y) {
  for (long i = 0; i < count; ++i) y[i] = max_of(0.0f, min_of(1.0f, alpha * x[i] + beta));
}

void hard_swish_f32(const float* x, long count, float* y) {
  for (long i = 0; i < count; ++i)
    y[i] = x[i] * max_of(0.0f, min_of(1.0f, x[i] * (1.0f / 6.0f) + 0.5f));
}

}  // namespace greenai::edge::internal::ref
