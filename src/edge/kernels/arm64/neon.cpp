// ARM64 NEON kernels, on the 8-channel packed layouts of kernels/pack.cpp. The int8 GEMMs match
// ref::qlinear bit for bit; the fp32 GEMM matches ref::linear_f32 within the bound of a
// reordered float sum.
//
// The int8 GEMMs multiply the signed inputs q directly (Requant::bias_signed carries the input
// zero point), so no unsigned trick is needed:
//   - neon-dotprod (ARMv8.2 dot product, Cortex-A55/A76 and later, the Raspberry Pi 5): SDOT adds
//     four int8 x int8 products into each int32 lane, exact;
//   - neon (every AArch64 CPU, the Raspberry Pi 3 and 4): SMULL widens 8 products to int16 (at
//     most 128 x 128 = 2^14 in magnitude: exact), SADALP adds pairs of them into int32 lanes, and
//     one pairwise add at the end gives each channel its sum.
// A tile of 8 channels (one packed block) x NE examples keeps its accumulators in registers: each
// weight vector loaded once for NE examples. The same GEMMs run QConv2d directly on the image
// (rows.h) and DynamicLinear on rows quantized as the reference quantizes them, made signed.
#include <arm_neon.h>
#include <string.h>

#include "edge/internal/kernels.h"
#include "edge/internal/scalar.h"
#include "edge/kernels/rows.h"

#define GREENAI_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))

namespace greenai::edge::internal::arm64 {
namespace {

// Rows padded with zeros to whole groups of 4 inputs (0 adds nothing); the rows themselves when
// no padding is needed.
const int8_t* padded_rows(const int8_t* x, int batch, int in, int stride, uint8_t* scratch) {
  if (stride == in) return x;
  auto* rows = reinterpret_cast<int8_t*>(scratch);
  for (int n = 0; n < batch; ++n) {
    memcpy(rows + static_cast<long>(n) * stride, x + static_cast<long>(n) * in,
           static_cast<size_t>(in));
    memset(rows + static_cast<long>(n) * stride + in, 0, static_cast<size_t>(stride - in));
  }
  return rows;
}

// Requantizes the 8 channel sums of one example of a block and stores those that exist. Not
// inlined: GCC keeps a tile's accumulators in registers only when its epilogue is a call.
__attribute__((noinline)) void store_q8(int32x4_t low, int32x4_t high, int block, int out,
                                        const Requant& r, int8_t* y) {
  int32_t sums[8];
  vst1q_s32(sums, low);
  vst1q_s32(sums + 4, high);
  const int first = block * 8, end = min_of(8, out - first);
  for (int lane = 0; lane < end; ++lane) {
    const int c = first + lane;
    y[c] = requantize(wrapping_add(r.bias_signed[c], sums[lane]), c, r);
  }
}

// Stores the sums of one example's block as QLinear's int8 outputs.
struct RequantStore {
  int out;
  const Requant& r;
  int8_t* y;
  void operator()(int32x4_t low, int32x4_t high, int block, int n) const {
    store_q8(low, high, block, out, r, y + static_cast<long>(n) * out);
  }
};

// DynamicLinear's epilogue for the 8 channels of example n: the GEMM summed (u - 128) w, so
//   D = acc + row_offset[n] row_sum[c]   (row_offset = 128 - zp[n]: quantize_rows;
//                                          D = sum_i u_i w[c][i] - zp[n] row_sum[c], exact)
// and y = dynamic_output(b[c], s_x[n], s_w[c], D), as ref::dynamic_linear computes it (a row
// with no usable scale has row_scale 0 and gets b).
struct DynamicStore {
  int out;
  const float* w_scale;
  const int64_t* row_sum;
  const float* bias;
  bool relu;
  const float* row_scale;
  const int32_t* row_offset;
  float* y;
  __attribute__((noinline)) void operator()(int32x4_t low, int32x4_t high, int block, int n) const {
    int32_t sums[8];
    vst1q_s32(sums, low);
    vst1q_s32(sums + 4, high);
    const int first = block * 8, end = min_of(8, out - first);
    for (int lane = 0; lane < end; ++lane) {
      const int c = first + lane;
      const int64_t d = sums[lane] + int64_t{row_offset[n]} * row_sum[c];
      y[static_cast<long>(n) * out + c] =
          dynamic_output(bias ? bias[c] : 0.0f, row_scale[n], w_scale[c], d, relu);
    }
  }
};

// The four input bytes of group g of row e, in every 32-bit lane.
template <typename Rows>
inline int8x16_t broadcast_group(const Rows& rows, int e, int g) {
  int32_t v;
  memcpy(&v, rows.at(e, g), 4);
  return vreinterpretq_s8_s32(vdupq_n_s32(v));
}

// A tile of NE rows x one block through SDOT: 2 accumulators a row.
template <int NE>
struct DotTile {
  template <typename Rows, typename Store>
  GREENAI_DOTPROD static void run(const int8_t* wb, int groups, const Rows& rows, int block, int n0,
                                  const Store& store) {
    int32x4_t acc[NE][2];
    for (int e = 0; e < NE; ++e) acc[e][0] = acc[e][1] = vdupq_n_s32(0);
    for (int g = 0; g < groups; ++g) {
      const int8x16_t w0 = vld1q_s8(wb + g * 32), w1 = vld1q_s8(wb + g * 32 + 16);
      for (int e = 0; e < NE; ++e) {
        const int8x16_t x = broadcast_group(rows, e, g);
        acc[e][0] = vdotq_s32(acc[e][0], w0, x);
        acc[e][1] = vdotq_s32(acc[e][1], w1, x);
      }
    }
#pragma GCC unroll 8
    for (int e = 0; e < NE; ++e) store(acc[e][0], acc[e][1], block, n0 + e);
  }
};

// The same tile through SMULL and SADALP.
template <int NE>
struct WideningTile {
  template <typename Rows, typename Store>
  static void run(const int8_t* wb, int groups, const Rows& rows, int block, int n0,
                  const Store& store) {
    // Per row, 4 accumulators of channel pairs: lanes (c, inputs 0+1), (c, inputs 2+3), ...
    int32x4_t acc[NE][4];
    for (int e = 0; e < NE; ++e)
      for (int k = 0; k < 4; ++k) acc[e][k] = vdupq_n_s32(0);
    for (int g = 0; g < groups; ++g) {
      const int8x16_t w0 = vld1q_s8(wb + g * 32), w1 = vld1q_s8(wb + g * 32 + 16);
      for (int e = 0; e < NE; ++e) {
        const int8x16_t x = broadcast_group(rows, e, g);
        acc[e][0] = vpadalq_s16(acc[e][0], vmull_s8(vget_low_s8(w0), vget_low_s8(x)));
        acc[e][1] = vpadalq_s16(acc[e][1], vmull_high_s8(w0, x));
        acc[e][2] = vpadalq_s16(acc[e][2], vmull_s8(vget_low_s8(w1), vget_low_s8(x)));
        acc[e][3] = vpadalq_s16(acc[e][3], vmull_high_s8(w1, x));
      }
    }
#pragma GCC unroll 8
    for (int e = 0; e < NE; ++e)
      store(vpaddq_s32(acc[e][0], acc[e][1]), vpaddq_s32(acc[e][2], acc[e][3]), block, n0 + e);
  }
};

// The last `count` (< 4) rows of a block in one tile of that height.
template <template <int> class Tile, int NE = 3, typename Rows, typename Store>
void tile_rest(const int8_t* wb, int groups, const Rows& rows, int count, int block, int n,
               const Store& store) {
  if constexpr (NE > 1) {
    if (count < NE) return tile_rest<Tile, NE - 1>(wb, groups, rows, count, block, n, store);
  }
  Tile<NE>::run(wb, groups, rows, block, n, store);
}

// Every block over every row (rows.h: dense rows or a direct convolution's pixels), 4 rows a
// tile, then the rest.
template <template <int> class Tile, typename Rows, typename Store>
void gemm(const int8_t* packed, int groups, int out, const Rows& rows, int batch,
          const Store& store) {
  const int blocks = (out + 7) / 8;
  const size_t block_bytes = static_cast<size_t>(groups) * 32;
  for (int b = 0; b < blocks; ++b) {
    const int8_t* wb = packed + b * block_bytes;
    int n = 0;
    for (; n + 4 <= batch; n += 4) Tile<4>::run(wb, groups, rows.from(n), b, n, store);
    if constexpr (!Rows::kPadded) {
      if (n < batch) tile_rest<Tile>(wb, groups, rows.from(n), batch - n, b, n, store);
    }
  }
}

// The direct convolution on the signed image (the padding holds the input zero point, real 0);
// Requant::bias_signed.
template <template <int> class Tile>
void qconv2d(const int8_t* x, const Conv2dShape& s, const int8_t* packed, const Requant& r,
             uint8_t* scratch, int8_t* y) {
  const ConvImage c = conv_image(s);
  const int32_t* pixel = conv_offsets(packed);
  fill_conv_image(x, s, c, 0, static_cast<uint8_t>(r.input_zero_point), scratch);
  const int pixels = c.padded_pixels;
  gemm<Tile>(conv_weights(packed, c), c.groups, s.out_channels,
             ImageRows{scratch, pixel, pixel + pixels}, pixels, RequantStore{s.out_channels, r, y});
}

// DynamicLinear on packed weights: the rows quantized, then the signed GEMM with DynamicStore.
// `scratch` holds batch x (round_up(in, 4) + 8) bytes.
template <template <int> class Tile>
void dynamic_linear(const float* x, int batch, int in, int out, const int8_t* packed,
                    const float* w_scale, const int64_t* row_sum, const float* b, bool relu,
                    uint8_t* scratch, float* y) {
  const int stride = (in + 3) / 4 * 4;
  auto* row_scale = reinterpret_cast<float*>(scratch + static_cast<size_t>(batch) * stride);
  auto* row_offset = reinterpret_cast<int32_t*>(row_scale + batch);
  quantize_rows(x, batch, in, stride, -128, scratch, row_scale, row_offset);
  gemm<Tile>(packed, stride / 4, out, DenseRows{scratch, stride}, batch,
             DynamicStore{out, w_scale, row_sum, b, relu, row_scale, row_offset, y});
}

// Adds the bias, applies ReLU (as max_of(v, 0): NaN and -0 stay) and stores the channels of one
// example's block that exist. Not inlined, as store_q8.
__attribute__((noinline)) void store_f32(float32x4_t low, float32x4_t high, int block, int out,
                                         const float* bias, bool relu, float* y) {
  float sums[8];
  vst1q_f32(sums, low);
  vst1q_f32(sums + 4, high);
  const int first = block * 8, end = min_of(8, out - first);
  for (int lane = 0; lane < end; ++lane) {
    const float v = sums[lane] + (bias ? bias[first + lane] : 0.0f);
    y[first + lane] = relu ? max_of(v, 0.0f) : v;
  }
}

// 2 blocks (4 vectors of weights) x NE examples: 4 x NE accumulators, FMLA by a broadcast input.
template <int NB, int NE>
void f32_tile(const float* wb, size_t block_floats, int in, const float* x, int block, int n0,
              int out, const float* bias, bool relu, float* y) {
  float32x4_t acc[NB][NE][2];
  for (int j = 0; j < NB; ++j)
    for (int e = 0; e < NE; ++e) acc[j][e][0] = acc[j][e][1] = vdupq_n_f32(0);
  for (int i = 0; i < in; ++i) {
    float32x4_t w[NB][2];
    for (int j = 0; j < NB; ++j) {
      w[j][0] = vld1q_f32(wb + j * block_floats + static_cast<size_t>(i) * 8);
      w[j][1] = vld1q_f32(wb + j * block_floats + static_cast<size_t>(i) * 8 + 4);
    }
    for (int e = 0; e < NE; ++e) {
      const float v = x[static_cast<long>(e) * in + i];
      for (int j = 0; j < NB; ++j) {
        acc[j][e][0] = vfmaq_n_f32(acc[j][e][0], w[j][0], v);
        acc[j][e][1] = vfmaq_n_f32(acc[j][e][1], w[j][1], v);
      }
    }
  }
#pragma GCC unroll 16
  for (int j = 0; j < NB; ++j)
#pragma GCC unroll 16
    for (int e = 0; e < NE; ++e)
      store_f32(acc[j][e][0], acc[j][e][1], block + j, out, bias, relu,
                y + static_cast<long>(n0 + e) * out);
}

// The last `count` (< 6) examples of a pass in one tile of that height.
template <int NB, int NE = 5>
void f32_rest(const float* wb, size_t block_floats, int in, const float* x, int count, int block,
              int n, int out, const float* bias, bool relu, float* y) {
  if constexpr (NE > 1) {
    if (count < NE)
      return f32_rest<NB, NE - 1>(wb, block_floats, in, x, count, block, n, out, bias, relu, y);
  }
  f32_tile<NB, NE>(wb, block_floats, in, x, block, n, out, bias, relu, y);
}

template <int NB>
void f32_blocks_pass(const float* packed, int in, const float* x, int batch, int block, int out,
                     const float* bias, bool relu, float* y) {
  const size_t block_floats = static_cast<size_t>(in) * 8;
  const float* wb = packed + block * block_floats;
  int n = 0;
  for (; n + 6 <= batch; n += 6)
    f32_tile<NB, 6>(wb, block_floats, in, x + static_cast<long>(n) * in, block, n, out, bias, relu,
                    y);
  if (n < batch)
    f32_rest<NB>(wb, block_floats, in, x + static_cast<long>(n) * in, batch - n, block, n, out,
                 bias, relu, y);
}

}  // namespace

void qlinear_neon_dotprod(const int8_t* x, int batch, int in, int out, const int8_t* packed,
                          const Requant& r, uint8_t* scratch, int8_t* y) {
  const int stride = (in + 3) / 4 * 4;
  const auto* rows = reinterpret_cast<const uint8_t*>(padded_rows(x, batch, in, stride, scratch));
  gemm<DotTile>(packed, stride / 4, out, DenseRows{rows, stride}, batch, RequantStore{out, r, y});
}

void qlinear_neon(const int8_t* x, int batch, int in, int out, const int8_t* packed,
                  const Requant& r, uint8_t* scratch, int8_t* y) {
  const int stride = (in + 3) / 4 * 4;
  const auto* rows = reinterpret_cast<const uint8_t*>(padded_rows(x, batch, in, stride, scratch));
  gemm<WideningTile>(packed, stride / 4, out, DenseRows{rows, stride}, batch,
                     RequantStore{out, r, y});
}

void qconv2d_neon_dotprod(const int8_t* x, const Conv2dShape& s, const int8_t* packed,
                          const Requant& r, uint8_t* scratch, int8_t* y) {
  qconv2d<DotTile>(x, s, packed, r, scratch, y);
}

void qconv2d_neon(const int8_t* x, const Conv2dShape& s, const int8_t* packed, const Requant& r,
                  uint8_t* scratch, int8_t* y) {
  qconv2d<WideningTile>(x, s, packed, r, scratch, y);
}

void dynamic_linear_neon_dotprod(const float* x, int batch, int in, int out, const int8_t* packed,
                                 const float* w_scale, const int64_t* row_sum, const float* b,
                                 bool relu, uint8_t* scratch, float* y) {
  dynamic_linear<DotTile>(x, batch, in, out, packed, w_scale, row_sum, b, relu, scratch, y);
}

void dynamic_linear_neon(const float* x, int batch, int in, int out, const int8_t* packed,
                         const float* w_scale, const int64_t* row_sum, const float* b, bool relu,
                         uint8_t* scratch, float* y) {
  dynamic_linear<WideningTile>(x, batch, in, out, packed, w_scale, row_sum, b, relu, scratch, y);
}

void linear_f32_neon(const float* x, int batch, int in, int out, const float* packed,
                     const float* b, bool relu, float* y) {
  const int blocks = (out + 7) / 8;
  int block = 0;
  for (; block + 2 <= blocks; block += 2)
    f32_blocks_pass<2>(packed, in, x, batch, block, out, b, relu, y);
  for (; block < blocks; ++block) f32_blocks_pass<1>(packed, in, x, batch, block, out, b, relu, y);
}

namespace {
#define GREENAI_DEPTHWISE_TARGET
#include "edge/kernels/depthwise.h"
}  // namespace

// The fp32 depthwise convolution (depthwise.h), four 4-lane vectors a block.
void depthwise_f32_neon(const float* x, const Conv2dShape& s, const float* packed,
                        const float* bias, bool relu, uint8_t* scratch, float* y) {
  depthwise_f32_hwc<16>(x, s, packed, bias, relu, scratch, y);
}

// The depthwise convolution, 8 channels a block (SMLAL-friendly int32 lanes), with the GEMMs'
// epilogue (signed inputs: Requant::bias_signed). Needs no dot product: both NEON sets run it.
void qdepthwise_neon(const int8_t* x, const Conv2dShape& s, const int8_t* packed, const Requant& r,
                     uint8_t* scratch, int8_t* y) {
  depthwise_hwc<8>(x, s, packed, r, scratch,
                   [&](const int32_t* acc, int count, int block, long pixel) {
                     int8_t* row = y + pixel * s.out_channels;
                     for (int e = 0; e < count; ++e)
                       store_q8(vld1q_s32(acc + e * 8), vld1q_s32(acc + e * 8 + 4), block,
                                s.out_channels, r, row + static_cast<long>(e) * s.out_channels);
                   });
}

}  // namespace greenai::edge::internal::arm64
