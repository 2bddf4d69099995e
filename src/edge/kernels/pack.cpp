// Weight layouts shared by the kernel sets that read 8 output channels at a time (x86 AVX2 and
// AVX-VNNI, ARM64 NEON), and the direct convolution's image and weights: rearranged once, at
// load (the image: once per example).
#include <math.h>
#include <string.h>

#include "edge/internal/kernels.h"
#include "edge/internal/scalar.h"

namespace greenai::edge::internal {

size_t pack_qlinear_blocks(const int8_t* w, int in, int out, int channels, int8_t* packed) {
  const int groups = (in + 3) / 4, blocks = (out + channels - 1) / channels;
  const size_t group_bytes = static_cast<size_t>(channels) * 4;
  const size_t bytes = static_cast<size_t>(blocks) * groups * group_bytes;
  if (!packed) return bytes;
  for (int b = 0; b < blocks; ++b)
    for (int g = 0; g < groups; ++g)
      for (int lane = 0; lane < channels; ++lane)
        for (int k = 0; k < 4; ++k) {
          const int o = b * channels + lane, i = g * 4 + k;
          packed[(static_cast<size_t>(b) * groups + g) * group_bytes + lane * 4 + k] =
              o < out && i < in ? w[static_cast<long>(o) * in + i] : 0;
        }
  return bytes;
}

size_t pack_qlinear_blocks8(const int8_t* w, int in, int out, int8_t* packed) {
  return pack_qlinear_blocks(w, in, out, 8, packed);
}

namespace {
size_t pack_linear_f32_blocks(const float* w, int in, int out, int channels, float* packed) {
  const int blocks = (out + channels - 1) / channels;
  const size_t bytes = static_cast<size_t>(blocks) * in * channels * sizeof(float);
  if (!packed) return bytes;
  for (int b = 0; b < blocks; ++b)
    for (int i = 0; i < in; ++i)
      for (int lane = 0; lane < channels; ++lane) {
        const int o = b * channels + lane;
        packed[(static_cast<size_t>(b) * in + i) * channels + lane] =
            o < out ? w[static_cast<long>(o) * in + i] : 0.0f;
      }
  return bytes;
}
}  // namespace

size_t pack_linear_f32_blocks8(const float* w, int in, int out, float* packed) {
  return pack_linear_f32_blocks(w, in, out, 8, packed);
}

size_t pack_linear_f32_blocks16(const float* w, int in, int out, float* packed) {
  return pack_linear_f32_blocks(w, in, out, 16, packed);
}

void quantize_rows(const float* x, int batch, int in, int stride, int shift, uint8_t* rows,
                   float* row_scale, int32_t* row_offset) {
  for (int n = 0; n < batch; ++n) {
    const float* row = x + static_cast<long>(n) * in;
    uint8_t* u = rows + static_cast<long>(n) * stride;
    float lo = 0, hi = 0;
    for (int i = 0; i < in; ++i) {
      lo = min_of(lo, row[i]);
      hi = max_of(hi, row[i]);
    }
    const float scale = (hi - lo) / 255.0f;
    row_scale[n] = 0;
    row_offset[n] = 0;
    if (!(scale > 0 && isfinite(scale))) {
      memset(u, static_cast<uint8_t>(shift), static_cast<size_t>(in));  // zeros, shifted
    } else {
      const int32_t zp = static_cast<int32_t>(clamp_of(roundf(-lo / scale), 0.0f, 255.0f));
      row_scale[n] = scale;
      row_offset[n] = -zp - shift;
      for (int i = 0; i < in; ++i) {
        const float q = roundf(row[i] / scale) + static_cast<float>(zp);
        const int32_t code = isnan(q) ? zp : static_cast<int32_t>(clamp_of(q, 0.0f, 255.0f));
        u[i] = static_cast<uint8_t>(code + shift);
      }
    }
    // Padding holds 0: a zero weight meets it.
    for (int i = in; i < stride; ++i) u[i] = 0;
  }
}

namespace {
constexpr int groups_per_kernel_row(int kernel) { return (kernel + 3) / 4; }
constexpr int round_up4(int n) { return (n + 3) / 4 * 4; }
}  // namespace

ConvImage conv_image(const Conv2dShape& s) {
  ConvImage c{};
  const int planes_groups = s.in_channels * s.kernel * groups_per_kernel_row(s.kernel);
  c.channels4 = round_up4(s.in_channels);
  const int interleaved_groups = s.kernel * s.kernel * c.channels4 / 4;
  c.interleaved = 5 * interleaved_groups <= 6 * planes_groups;
  const int padded_w = s.in_w + 2 * s.padding;
  if (c.interleaved) {
    c.row_stride = padded_w * c.channels4;
    c.groups = interleaved_groups;
  } else {
    c.row_stride = padded_w + 3;
    c.groups = planes_groups;
  }
  c.plane = static_cast<long>(s.in_h + 2 * s.padding) * c.row_stride;
  const long planes = c.interleaved ? 1 : s.in_channels;
  c.image_bytes = (static_cast<size_t>(planes) * c.plane + 63) / 64 * 64;
  const int pixels = s.out_h * s.out_w;
  c.padded_pixels = (pixels + kConvPixelMultiple - 1) / kConvPixelMultiple * kConvPixelMultiple;
  c.scratch_bytes = 2 * c.image_bytes;
  c.offsets_bytes = (static_cast<size_t>(c.padded_pixels + c.groups) * 4 + 63) / 64 * 64;
  return c;
}

bool direct_conv_pays(const Conv2dShape& s) {
  const ConvImage c = conv_image(s);
  const long direct = 4L * c.groups;
  const long im2col = (static_cast<long>(s.in_channels) * s.kernel * s.kernel + 3) / 4 * 4;
  // Offsets are int32: the image must stay well inside 2^31 bytes.
  return 3 * direct <= 4 * im2col && c.image_bytes < (size_t{1} << 30);
}

void fill_conv_image(const int8_t* x, const Conv2dShape& s, const ConvImage& c, uint8_t flip,
                     uint8_t pad_value, uint8_t* scratch) {
  const int channels = s.in_channels, p = s.padding;
  if (!c.interleaved) {
    memset(scratch, pad_value, c.image_bytes);
    for (int ic = 0; ic < channels; ++ic)
      for (int iy = 0; iy < s.in_h; ++iy) {
        uint8_t* dst = scratch + ic * c.plane + static_cast<long>(iy + p) * c.row_stride + p;
        if (s.input_hwc) {
          const int8_t* src = x + static_cast<long>(iy) * s.in_w * channels + ic;
          for (int ix = 0; ix < s.in_w; ++ix)
            dst[ix] = static_cast<uint8_t>(src[static_cast<long>(ix) * channels]) ^ flip;
        } else {
          const int8_t* src = x + (static_cast<long>(ic) * s.in_h + iy) * s.in_w;
          for (int ix = 0; ix < s.in_w; ++ix) dst[ix] = static_cast<uint8_t>(src[ix]) ^ flip;
        }
      }
    return;
  }
  // Interleaved: only the border and the channels past the real ones need pad_value (a 1x1
  // convolution on channels in fours has neither).
  if (p > 0 || c.channels4 != channels) memset(scratch, pad_value, c.image_bytes);
  for (int iy = 0; iy < s.in_h; ++iy) {
    uint8_t* dst = scratch + static_cast<long>(iy + p) * c.row_stride + p * c.channels4;
    if (s.input_hwc && c.channels4 == channels) {  // one run of bytes per image row
      const int8_t* src = x + static_cast<long>(iy) * s.in_w * channels;
      const long n = static_cast<long>(s.in_w) * channels;
      for (long i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(src[i]) ^ flip;
    } else if (s.input_hwc) {
      const int8_t* src = x + static_cast<long>(iy) * s.in_w * channels;
      for (int ix = 0; ix < s.in_w; ++ix)
        for (int ic = 0; ic < channels; ++ic)
          dst[ix * c.channels4 + ic] = static_cast<uint8_t>(src[ix * channels + ic]) ^ flip;
    } else {
      for (int ic = 0; ic < channels; ++ic) {
        const int8_t* src = x + (static_cast<long>(ic) * s.in_h + iy) * s.in_w;
        for (int ix = 0; ix < s.in_w; ++ix)
          dst[ix * c.channels4 + ic] = static_cast<uint8_t>(src[ix]) ^ flip;
      }
    }
  }
}

namespace {

// The window offsets of ConvImage: each output pixel's (the padding pixels repeat the last
// one's), then each group of four's within a window.
void write_conv_offsets(const Conv2dShape& s, const ConvImage& c, int32_t* pixel) {
  const int step = c.interleaved ? c.channels4 : 1;  // bytes from one pixel to the next
  for (int oy = 0; oy < s.out_h; ++oy)
    for (int ox = 0; ox < s.out_w; ++ox)
      pixel[oy * s.out_w + ox] = oy * s.stride * c.row_stride + ox * s.stride * step;
  const int pixels = s.out_h * s.out_w;
  for (int p = pixels; p < c.padded_pixels; ++p) pixel[p] = pixel[pixels - 1];
  int32_t* group = pixel + c.padded_pixels;
  if (c.interleaved) {
    const int per_pixel = c.channels4 / 4;
    for (int ky = 0; ky < s.kernel; ++ky)
      for (int kx = 0; kx < s.kernel; ++kx)
        for (int j = 0; j < per_pixel; ++j)
          group[(ky * s.kernel + kx) * per_pixel + j] = ky * c.row_stride + kx * step + 4 * j;
    return;
  }
  const int per_row = groups_per_kernel_row(s.kernel);
  for (int ic = 0; ic < s.in_channels; ++ic)
    for (int ky = 0; ky < s.kernel; ++ky)
      for (int j = 0; j < per_row; ++j)
        group[(ic * s.kernel + ky) * per_row + j] =
            static_cast<int32_t>(ic * c.plane + ky * c.row_stride + 4 * j);
}

// The weight that meets byte t of group g of the image (0 where it meets padding).
int8_t group_weight(const int8_t* w, const Conv2dShape& s, const ConvImage& c, int o, int g,
                    int t) {
  const int k = s.kernel;
  int ic, ky, kx;
  if (c.interleaved) {
    const int per_pixel = c.channels4 / 4;
    ky = g / (k * per_pixel);
    kx = g / per_pixel % k;
    ic = 4 * (g % per_pixel) + t;
    if (ic >= s.in_channels) return 0;
  } else {
    const int per_row = groups_per_kernel_row(k);
    ic = g / (k * per_row);
    ky = g / per_row % k;
    kx = 4 * (g % per_row) + t;
    if (kx >= k) return 0;
  }
  return w[((static_cast<long>(o) * s.in_channels + ic) * k + ky) * k + kx];
}

}  // namespace

size_t pack_qconv2d_blocks(const int8_t* w, const Conv2dShape& s, int channels, int8_t* packed) {
  const ConvImage c = conv_image(s);
  const int blocks = (s.out_channels + channels - 1) / channels;
  const size_t group_bytes = static_cast<size_t>(channels) * 4;
  const size_t bytes = c.offsets_bytes + static_cast<size_t>(blocks) * c.groups * group_bytes;
  if (!packed) return bytes;
  memset(packed, 0, c.offsets_bytes);
  write_conv_offsets(s, c, reinterpret_cast<int32_t*>(packed));
  packed += c.offsets_bytes;
  for (int b = 0; b < blocks; ++b)
    for (int g = 0; g < c.groups; ++g)
      for (int lane = 0; lane < channels; ++lane)
        for (int t = 0; t < 4; ++t) {
          const int o = b * channels + lane;
          packed[(static_cast<size_t>(b) * c.groups + g) * group_bytes + lane * 4 + t] =
              o < s.out_channels ? group_weight(w, s, c, o, g, t) : 0;
        }
  return bytes;
}

size_t pack_qconv2d_blocks8(const int8_t* w, const Conv2dShape& s, int8_t* packed) {
  return pack_qconv2d_blocks(w, s, 8, packed);
}

}  // namespace greenai::edge::internal

namespace greenai::edge::internal {

DepthwiseImage depthwise_image(const Conv2dShape& s) {
  DepthwiseImage d{};
  d.padded_w = s.in_w + s.pad_left + s.pad_right;
  d.padded_h = s.in_h + s.padding + s.pad_bottom;
  d.row_bytes = static_cast<long>(d.padded_w) * s.in_channels;
  d.channels16 = (s.in_channels + 15) / 16 * 16;
  // 64 bytes of slack: the last block of a row reads a whole vector past the real channels.
  d.image_bytes = (static_cast<size_t>(d.padded_h) * d.row_bytes + 64 + 63) / 64 * 64;
  d.scratch_bytes = d.image_bytes + static_cast<size_t>(s.out_w) * d.channels16 * 4 + 64;
  int t = 0;
  for (int ky = 0; ky < s.kernel && t < kMaxDepthwiseTaps; ++ky)
    for (int kx = 0; kx < s.kernel_w && t < kMaxDepthwiseTaps; ++kx)
      d.tap_offset[t++] = static_cast<long>(ky) * s.dilation_h * d.row_bytes +
                          static_cast<long>(kx) * s.dilation_w * s.in_channels;
  return d;
}

bool is_depthwise(const Conv2dShape& s) {
  return s.groups > 1 && s.groups == s.in_channels && s.groups == s.out_channels &&
         s.kernel * s.kernel_w <= kMaxDepthwiseTaps &&
         depthwise_image(s).image_bytes < (size_t{1} << 30);
}

void fill_depthwise_image(const int8_t* x, const Conv2dShape& s, const DepthwiseImage& d,
                          int8_t pad, uint8_t* scratch) {
  auto* image = reinterpret_cast<int8_t*>(scratch);
  const int channels = s.in_channels;
  // The top and bottom padding rows, the slack, and each row's left and right padding.
  memset(image, pad, static_cast<size_t>(s.padding) * d.row_bytes);
  const long bottom = static_cast<long>(s.padding + s.in_h) * d.row_bytes;
  memset(image + bottom, pad, d.image_bytes - static_cast<size_t>(bottom));
  for (int iy = 0; iy < s.in_h; ++iy) {
    int8_t* row = image + static_cast<long>(iy + s.padding) * d.row_bytes;
    memset(row, pad, static_cast<size_t>(s.pad_left) * channels);
    memset(row + static_cast<long>(s.pad_left + s.in_w) * channels, pad,
           static_cast<size_t>(s.pad_right) * channels);
    int8_t* dst = row + static_cast<long>(s.pad_left) * channels;
    if (s.input_hwc) {
      memcpy(dst, x + static_cast<long>(iy) * s.in_w * channels,
             static_cast<size_t>(s.in_w) * channels);
      continue;
    }
    for (int c = 0; c < channels; ++c) {
      const int8_t* src = x + (static_cast<long>(c) * s.in_h + iy) * s.in_w;
      for (int ix = 0; ix < s.in_w; ++ix) dst[static_cast<long>(ix) * channels + c] = src[ix];
    }
  }
}

size_t pack_qdepthwise(const int8_t* w, const Conv2dShape& s, int8_t* packed) {
  const int taps = s.kernel * s.kernel_w, c16 = (s.in_channels + 15) / 16 * 16;
  const size_t bytes = static_cast<size_t>(taps) * c16 * sizeof(int32_t);
  if (!packed) return bytes;
  auto* out = reinterpret_cast<int32_t*>(packed);
  for (int t = 0; t < taps; ++t)
    for (int c = 0; c < c16; ++c)
      out[t * c16 + c] = c < s.in_channels ? w[static_cast<long>(c) * taps + t] : 0;
  return bytes;
}

size_t depthwise_image_f32_bytes(const Conv2dShape& s) {
  const DepthwiseImage d = depthwise_image(s);
  return ((static_cast<size_t>(d.padded_h) * d.row_bytes + 16) * sizeof(float) + 63) / 64 * 64;
}

void fill_depthwise_image_f32(const float* x, const Conv2dShape& s, const DepthwiseImage& d,
                              float* image) {
  const int channels = s.in_channels;
  const size_t floats = depthwise_image_f32_bytes(s) / sizeof(float);
  const long top = static_cast<long>(s.padding) * d.row_bytes;
  const long bottom = static_cast<long>(s.padding + s.in_h) * d.row_bytes;
  for (long i = 0; i < top; ++i) image[i] = 0.0f;
  for (size_t i = static_cast<size_t>(bottom); i < floats; ++i) image[i] = 0.0f;
  for (int iy = 0; iy < s.in_h; ++iy) {
    float* row = image + static_cast<long>(iy + s.padding) * d.row_bytes;
    for (long i = 0; i < static_cast<long>(s.pad_left) * channels; ++i) row[i] = 0.0f;
    float* right = row + static_cast<long>(s.pad_left + s.in_w) * channels;
    for (long i = 0; i < static_cast<long>(s.pad_right) * channels; ++i) right[i] = 0.0f;
    float* dst = row + static_cast<long>(s.pad_left) * channels;
    if (s.input_hwc) {
      memcpy(dst, x + static_cast<long>(iy) * s.in_w * channels,
             static_cast<size_t>(s.in_w) * channels * sizeof(float));
      continue;
    }
    for (int c = 0; c < channels; ++c) {
      const float* src = x + (static_cast<long>(c) * s.in_h + iy) * s.in_w;
      for (int ix = 0; ix < s.in_w; ++ix) dst[static_cast<long>(ix) * channels + c] = src[ix];
    }
  }
}

size_t pack_depthwise_f32(const float* w, const Conv2dShape& s, float* packed) {
  const int taps = s.kernel * s.kernel_w, c16 = (s.in_channels + 15) / 16 * 16;
  const size_t bytes = static_cast<size_t>(taps) * c16 * sizeof(float);
  if (!packed) return bytes;
  for (int t = 0; t < taps; ++t)
    for (int c = 0; c < c16; ++c)
      packed[t * c16 + c] = c < s.in_channels ? w[static_cast<long>(c) * taps + t] : 0.0f;
  return bytes;
}

}  // namespace greenai::edge::internal
