// AVX-512 VNNI kernels for QLinear and DynamicLinear; match the reference bit for bit.
//
// vpdpbusd multiplies 64 unsigned bytes by 64 signed bytes and adds each group of four products
// into an int32 lane, without intermediate saturation: exact for u in 0..255, w in -128..127.
// Inputs are made unsigned (u = q + 128); Requant::bias_unsigned carries the correction.
#include <immintrin.h>
#include <math.h>
#include <string.h>

// GCC 12's AVX-512 extract intrinsics start from _mm512_undefined and trip this warning (GCC
// bug 105593); the values are fully defined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "edge/internal/kernels.h"
#include "edge/internal/scalar.h"
#include "edge/kernels/rows.h"

namespace greenai::edge::internal::x86 {

size_t pack_qlinear_vnni(const int8_t* w, int in, int out, int8_t* packed) {
  return pack_qlinear_blocks(w, in, out, 16, packed);
}

namespace {

#define GREENAI_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

// fixed_point.h's multiply_by_quantized_multiplier for right shifts (shift <= 0: every
// multiplier below 1), 16 channels at a time, in one rounding step per 64-bit product. Its two
// steps are, for every sign of a q (q is never INT32_MIN):
//   x = saturating_rounding_doubling_high_mul(a, q) = floor((a q + 2^30) / 2^31)
//   rounding_divide_by_pot(x, r) = floor((x + h - n) / 2^r),  h = 2^r / 2 (0 for r = 0),
//                                  n = 1 where x < 0 and r > 0, else 0
// and nested floors of integer quotients fold into one:
//   floor((a q + 2^30 + (h - n) 2^31) / 2^(31 + r)),  x < 0 exactly where a q < -2^30.
// The sum stays inside int64 (|a q| < 2^62, r <= 31): the same integers, fewer operations.
struct RequantConstants {  // per 64-bit lane: even channels, then odd ones
  __m512i q_even, q_odd, add_even, add_odd, add_negative_even, add_negative_odd;
  __m512i shift_even, shift_odd;
};

// The constants of the 64-bit lanes whose right shifts are r64.
GREENAI_VNNI inline void lane_constants(__m512i r64, __m512i& add, __m512i& add_negative,
                                        __m512i& shift) {
  const __mmask8 rounds = _mm512_cmpgt_epi64_mask(r64, _mm512_setzero_si512());
  const __m512i half = _mm512_maskz_sllv_epi64(rounds, _mm512_set1_epi64(1),
                                               _mm512_add_epi64(r64, _mm512_set1_epi64(30)));
  add = _mm512_add_epi64(_mm512_set1_epi64(1LL << 30), half);
  add_negative = _mm512_mask_sub_epi64(add, rounds, add, _mm512_set1_epi64(1LL << 31));
  shift = _mm512_add_epi64(r64, _mm512_set1_epi64(31));
}

GREENAI_VNNI inline void requant_constants(__m512i q, __m512i right, RequantConstants& k) {
  k.q_even = q;
  k.q_odd = _mm512_srli_epi64(q, 32);
  lane_constants(_mm512_and_si512(right, _mm512_set1_epi64(0xFFFFFFFF)), k.add_even,
                 k.add_negative_even, k.shift_even);
  lane_constants(_mm512_srli_epi64(right, 32), k.add_odd, k.add_negative_odd, k.shift_odd);
}

// One rounding step for the signed low 32 bits of each 64-bit lane of `lanes`.
GREENAI_VNNI inline __m512i requantize_half(__m512i lanes, __m512i q, __m512i add,
                                            __m512i add_negative, __m512i shift) {
  const __m512i ab = _mm512_mul_epi32(lanes, q);
  const __mmask8 negative = _mm512_cmplt_epi64_mask(ab, _mm512_set1_epi64(-(1LL << 30)));
  return _mm512_srav_epi64(
      _mm512_add_epi64(ab, _mm512_mask_blend_epi64(negative, add, add_negative)), shift);
}

// The requantized (not yet offset) value of each 32-bit lane of `a`.
GREENAI_VNNI inline __m512i requantize_lanes(__m512i a, const RequantConstants& k) {
  const __m512i even = requantize_half(a, k.q_even, k.add_even, k.add_negative_even, k.shift_even);
  const __m512i odd = requantize_half(_mm512_srli_epi64(a, 32), k.q_odd, k.add_odd,
                                      k.add_negative_odd, k.shift_odd);
  return _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
}

// Stores the 16 bytes, or the `lanes` of them. The conversion stays in a register: GCC would
// otherwise fold it into a narrowing store (vpmovdb to memory), which is microcoded and slow on
// AMD Zen 4 and 5 (measured: a fifth of MobileNetV2's time in the requantization epilogue).
GREENAI_VNNI inline void store_bytes(int8_t* y, __mmask16 lanes, __m128i bytes) {
  __asm__("" : "+v"(bytes));
  if (lanes == 0xFFFF)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), bytes);
  else
    _mm_mask_storeu_epi8(y, lanes, bytes);
}

// The requantization constants of one block of 16 channels: made once per block and GEMM (a
// block's tiles each store 6 rows; making them for every tile cost a fifth of MobileNetV2's time).
struct BlockRequant {
  RequantConstants k;
  __m512i bias;
  __m512 scale, lo, hi;  // kFlagFloatRequant: M, and the clamp less the zero point
  bool floating;
  // Float, every M of the block below 1/2: |float(acc) M| < 2^30, so it converts to int32
  // without overflow and the clamp can follow the rounding (rounding is monotone and the bounds
  // are integers): the zero point added in int32, the narrowing saturates at [-128, 127], and
  // only a fused ReLU needs a max.
  bool narrow;
  int block = -1;
  int end;  // the channels that exist
  __mmask16 lanes;
  bool scalar;  // a multiplier of 1 or more (rare): the scalar path, with its saturating shift
};

GREENAI_VNNI inline void prepare_block(int block, int out, const Requant& r, BlockRequant& b) {
  const int first = block * 16;
  b.block = block;
  b.end = min_of(16, out - first);
  b.lanes = b.end == 16 ? 0xFFFF : static_cast<__mmask16>((1u << b.end) - 1);
  b.bias = _mm512_maskz_loadu_epi32(b.lanes, r.bias_unsigned + first);
  b.floating = r.scale != nullptr;
  b.scalar = false;
  if (b.floating) {
    b.scale = _mm512_maskz_loadu_ps(b.lanes, r.scale + first);
    b.lo = _mm512_set1_ps(static_cast<float>(r.min - r.output_zero_point));
    b.hi = _mm512_set1_ps(static_cast<float>(r.max - r.output_zero_point));
    b.narrow = r.max == 127 && _mm512_mask_cmp_ps_mask(b.lanes, b.scale, _mm512_set1_ps(0.5f),
                                                       _CMP_LT_OQ) == b.lanes;
    return;
  }
  const __m512i shift = _mm512_maskz_loadu_epi32(b.lanes, r.shift + first);
  b.scalar = _mm512_mask_cmpgt_epi32_mask(b.lanes, shift, _mm512_setzero_si512()) != 0;
  if (b.scalar) return;
  requant_constants(_mm512_maskz_loadu_epi32(b.lanes, r.multiplier + first),
                    _mm512_sub_epi32(_mm512_setzero_si512(), shift), b.k);
}

// Requantizes a block's 16 channel sums of `count` examples (rows `out` bytes apart from y) and
// stores the channels that exist. Called through RequantStore::store, which is not inlined: GCC 12
// keeps a tile's accumulators in registers through its loop only when the epilogue is a call.
GREENAI_VNNI inline void store_rows(const __m512i* acc, int count, const BlockRequant& b, int out,
                                    const Requant& r, int8_t* y) {
  const int first = b.block * 16;
  if (b.scalar) {
    for (int e = 0; e < count; ++e) {
      alignas(64) int32_t sums[16];
      _mm512_store_si512(sums, acc[e]);
      for (int lane = 0; lane < b.end; ++lane) {
        const int c = first + lane;
        y[static_cast<long>(e) * out + c] =
            requantize(wrapping_add(r.bias_unsigned[c], sums[lane]), c, r);
      }
    }
    return;
  }
  const __m512i zero_point = _mm512_set1_epi32(r.output_zero_point);
  if (b.floating && b.narrow) {
    const __m512i lo = _mm512_set1_epi32(r.min);
    for (int e = 0; e < count; ++e) {
      const __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc[e], b.bias)), b.scale);
      __m512i v = _mm512_add_epi32(
          _mm512_cvt_roundps_epi32(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), zero_point);
      if (r.min > -128) v = _mm512_max_epi32(v, lo);
      store_bytes(y + static_cast<long>(e) * out + first, b.lanes, _mm512_cvtsepi32_epi8(v));
    }
    return;
  }
  if (b.floating) {  // requantize()'s float path: the same float operations, 16 lanes at once
    for (int e = 0; e < count; ++e) {
      __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc[e], b.bias)), b.scale);
      f = _mm512_min_ps(_mm512_max_ps(f, b.lo), b.hi);
      const __m512i v = _mm512_add_epi32(
          _mm512_cvt_roundps_epi32(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), zero_point);
      store_bytes(y + static_cast<long>(e) * out + first, b.lanes, _mm512_cvtepi32_epi8(v));
    }
    return;
  }
  const __m512i lo = _mm512_set1_epi32(r.min), hi = _mm512_set1_epi32(r.max);
  for (int e = 0; e < count; ++e) {
    __m512i v =
        _mm512_add_epi32(requantize_lanes(_mm512_add_epi32(acc[e], b.bias), b.k), zero_point);
    v = _mm512_min_epi32(_mm512_max_epi32(v, lo), hi);
    store_bytes(y + static_cast<long>(e) * out + first, b.lanes, _mm512_cvtepi32_epi8(v));
  }
}

// Stores for the GEMM below: what becomes of 16 channel sums of `count` examples from n. The
// constants of the last four blocks are kept (a pass covers at most four).
struct RequantStore {  // QLinear: requantized int8
  const Requant& r;
  int out;
  int8_t* y;
  mutable BlockRequant cache[4];
  GREENAI_VNNI void operator()(const __m512i* acc, int count, int block, int n) const {
    store(acc, count, block, n);
  }
  // Not inlined into the tiles: one copy of the lookup and the epilogue, not one per tile shape
  // (inlined, it made the QLinear kernel 8 times larger).
  GREENAI_VNNI __attribute__((noinline)) void store(const __m512i* acc, int count, int block,
                                                    int n) const {
    BlockRequant& b = cache[block & 3];
    if (b.block != block) prepare_block(block, out, r, b);
    store_rows(acc, count, b, out, r, y + static_cast<long>(n) * out);
  }
};

// NB blocks of 16 channels x NE rows: NB x NE accumulators, each weight vector loaded once for
// NE rows and each broadcast input used for NB blocks. 2 x 6 keeps 12 vpdpbusd chains in flight,
// enough to cover their latency at two a cycle; the block's weights (groups x 128 bytes) stay in
// L1 while every row passes over them. Rows says where each row's inputs lie (rows.h).
template <int NB, int NE, typename Rows, typename Store>
GREENAI_VNNI inline void tile(const int8_t* wb, size_t block_bytes, int groups, const Rows& rows,
                              int block, int n0, const Store& store) {
  __m512i acc[NB][NE];
  for (int j = 0; j < NB; ++j)
    for (int e = 0; e < NE; ++e) acc[j][e] = _mm512_setzero_si512();
  for (int g = 0; g < groups; ++g) {
    __m512i w[NB];
    for (int j = 0; j < NB; ++j)
      w[j] = _mm512_loadu_si512(wb + j * block_bytes + static_cast<size_t>(g) * 64);
    for (int e = 0; e < NE; ++e) {
      int32_t v;  // four inputs of one row, broadcast to the 16 lanes
      memcpy(&v, rows.at(e, g), 4);
      const __m512i x = _mm512_set1_epi32(v);
      for (int j = 0; j < NB; ++j) acc[j][e] = _mm512_dpbusd_epi32(acc[j][e], x, w[j]);
    }
  }
#pragma GCC unroll 16
  for (int j = 0; j < NB; ++j) {
    __m512i sums[NE];
#pragma GCC unroll 16
    for (int e = 0; e < NE; ++e) sums[e] = acc[j][e];
    store(sums, NE, block + j, n0);
  }
}

// All rows for NB blocks starting at `block`: tiles of 6 rows, then the rest.
template <int NB, typename Rows, typename Store>
GREENAI_VNNI void blocks_pass(const int8_t* packed, int groups, const Rows& rows, int batch,
                              int block, const Store& store) {
  const size_t block_bytes = static_cast<size_t>(groups) * 64;
  const int8_t* wb = packed + block * block_bytes;
  int n = 0;
  for (; n + 6 <= batch; n += 6)
    tile<NB, 6>(wb, block_bytes, groups, rows.from(n), block, n, store);
  if constexpr (Rows::kPadded) return;
  const Rows rest = rows.from(n);
  switch (batch - n) {
    case 5:
      tile<NB, 5>(wb, block_bytes, groups, rest, block, n, store);
      break;
    case 4:
      tile<NB, 4>(wb, block_bytes, groups, rest, block, n, store);
      break;
    case 3:
      tile<NB, 3>(wb, block_bytes, groups, rest, block, n, store);
      break;
    case 2:
      tile<NB, 2>(wb, block_bytes, groups, rest, block, n, store);
      break;
    case 1:
      tile<NB, 1>(wb, block_bytes, groups, rest, block, n, store);
      break;
    default:
      break;
  }
}

// The GEMM over unsigned rows and packed weights.
template <typename Rows, typename Store>
GREENAI_VNNI void packed_gemm(const int8_t* packed, int groups, int blocks, const Rows& rows,
                              int batch, const Store& store) {
  // Few rows: more blocks per pass keep enough accumulators busy.
  int b = 0;
  if constexpr (!Rows::kPadded) {
    if (batch < 4)
      for (; b + 4 <= blocks; b += 4) blocks_pass<4>(packed, groups, rows, batch, b, store);
  } else {
    for (; b + 4 <= blocks; b += 4) blocks_pass<4>(packed, groups, rows, batch, b, store);
  }
  for (; b + 2 <= blocks; b += 2) blocks_pass<2>(packed, groups, rows, batch, b, store);
  for (; b < blocks; ++b) blocks_pass<1>(packed, groups, rows, batch, b, store);
}

}  // namespace

GREENAI_VNNI void qlinear_avx512_vnni_packed(const int8_t* x, int batch, int in, int out,
                                             const int8_t* packed, const Requant& r,
                                             uint8_t* scratch, int8_t* y) {
  const int groups = (in + 3) / 4, blocks = (out + 15) / 16, stride = groups * 4;
  // Unsigned inputs u = q + 128, rows padded with zeros to whole groups of 4.
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int n = 0; n < batch; ++n) {
    const int8_t* src = x + static_cast<long>(n) * in;
    uint8_t* row = scratch + static_cast<long>(n) * stride;
    int i = 0;
    for (; i + 64 <= in; i += 64)
      _mm512_storeu_si512(row + i, _mm512_xor_si512(_mm512_loadu_si512(src + i), flip));
    for (; i < in; ++i) row[i] = static_cast<uint8_t>(src[i] ^ 0x80);
    for (i = in; i < stride; ++i) row[i] = 0;
  }
  packed_gemm(packed, groups, blocks, DenseRows{scratch, stride}, batch,
              RequantStore{r, out, y, {}});
}

size_t pack_qconv2d_vnni(const int8_t* w, const Conv2dShape& s, int8_t* packed) {
  return pack_qconv2d_blocks(w, s, 16, packed);
}

// The image made unsigned (u = q + 128; the padding u of the input zero point, real 0) and the
// GEMM over its pixels; Requant::bias_unsigned carries the correction, as for QLinear.
GREENAI_VNNI void qconv2d_avx512_vnni(const int8_t* x, const Conv2dShape& s, const int8_t* packed,
                                      const Requant& r, uint8_t* scratch, int8_t* y) {
  const ConvImage c = conv_image(s);
  const int32_t* pixel = conv_offsets(packed);
  fill_conv_image(x, s, c, 0x80, static_cast<uint8_t>(r.input_zero_point + 128), scratch);
  // Whole tiles of 6 pixels (padded_pixels, a multiple of 12, may hold 6 more: 49 -> 54, not 60).
  // Whole tiles of 6 pixels (padded_pixels, a multiple of 12, may hold 6 more: 49 -> 54, not 60).
  const int pixels = (s.out_h * s.out_w + 5) / 6 * 6;
  packed_gemm(conv_weights(packed, c), c.groups, (s.out_channels + 15) / 16,
              ImageRows{scratch, pixel, pixel + c.padded_pixels}, pixels,
              RequantStore{r, s.out_channels, y, {}});
}

namespace {
#define GREENAI_DEPTHWISE_TARGET GREENAI_VNNI
#include "edge/kernels/depthwise.h"
}  // namespace

namespace {
// One tap of a depthwise window: 16 channels' inputs times their weights.
GREENAI_VNNI inline __m512i tap(const int8_t* at, __m512i weight) {
  return _mm512_mullo_epi32(
      _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(at))), weight);
}
}  // namespace

// The depthwise convolution, 16 channels a vector, with the GEMM's epilogue (the sums are of
// signed inputs: Requant::bias_signed). 3x3 windows (MobileNet's) have their own loop: the block's
// nine weight vectors stay in registers for all its pixels, the taps unrolled into three
// independent sums; other windows take depthwise.h's loop.
GREENAI_VNNI void qdepthwise_avx512_vnni(const int8_t* x, const Conv2dShape& s,
                                         const int8_t* packed, const Requant& r, uint8_t* scratch,
                                         int8_t* y) {
  Requant signed_inputs = r;
  signed_inputs.bias_unsigned = r.bias_signed;  // store_rows adds bias_unsigned
  const RequantStore store{signed_inputs, s.out_channels, y, {}};
  auto stored = [&](const int32_t* acc, int count, int block, long pixel) {
    store(reinterpret_cast<const __m512i*>(acc), count, block, static_cast<int>(pixel));
  };
  if (s.kernel * s.kernel_w != 9) {
    depthwise_hwc<16>(x, s, packed, r, scratch, stored);
    return;
  }
  const DepthwiseImage d = depthwise_image(s);
  fill_depthwise_image(x, s, d, static_cast<int8_t>(r.input_zero_point), scratch);
  const auto* image = reinterpret_cast<const int8_t*>(scratch);
  uint8_t* sums_at = scratch + d.image_bytes;
  auto* acc =
      reinterpret_cast<__m512i*>(sums_at + (64 - reinterpret_cast<uintptr_t>(sums_at) % 64) % 64);
  const auto* w = reinterpret_cast<const int32_t*>(packed);  // [tap][channels16]
  const long* o = d.tap_offset;
  const long pixel_step = static_cast<long>(s.stride_w) * s.in_channels;
  for (int b = 0; b < (s.in_channels + 15) / 16; ++b) {
    __m512i k[9];
    for (int t = 0; t < 9; ++t)
      k[t] = _mm512_loadu_si512(w + static_cast<long>(t) * d.channels16 + b * 16);
    for (int oy = 0; oy < s.out_h; ++oy) {
      const int8_t* row = image + static_cast<long>(oy) * s.stride * d.row_bytes + b * 16;
      for (int ox = 0; ox < s.out_w; ++ox) {
        const int8_t* p = row + ox * pixel_step;
        const __m512i s0 = _mm512_add_epi32(
            _mm512_add_epi32(tap(p + o[0], k[0]), tap(p + o[1], k[1])), tap(p + o[2], k[2]));
        const __m512i s1 = _mm512_add_epi32(
            _mm512_add_epi32(tap(p + o[3], k[3]), tap(p + o[4], k[4])), tap(p + o[5], k[5]));
        const __m512i s2 = _mm512_add_epi32(
            _mm512_add_epi32(tap(p + o[6], k[6]), tap(p + o[7], k[7])), tap(p + o[8], k[8]));
        acc[ox] = _mm512_add_epi32(_mm512_add_epi32(s0, s1), s2);
      }
      store(acc, s.out_w, b, oy * s.out_w);
    }
  }
}

namespace {

// The inputs in chunks: a chunk of a 4-block panel (4 x 16 x 128 floats, 32 KiB) stays in L1
// while the examples pass over it; partial sums wait in y between chunks.
constexpr int kF32Chunk = 128;

// Stores 16 channel sums of one example over a chunk of inputs: added to the partial sums of the
// chunks before it, then, after the last chunk, the bias and ReLU (max_of(v, 0): NaN and -0
// stay). Not inlined, as the int8 epilogue, so that the tile's accumulators stay in registers.
GREENAI_VNNI __attribute__((noinline)) void store_f32(__m512 acc, int block, int out,
                                                      const float* bias, bool relu,
                                                      bool first_chunk, bool last_chunk, float* y) {
  const int first = block * 16, end = min_of(16, out - first);
  const __mmask16 lanes = end == 16 ? 0xFFFF : static_cast<__mmask16>((1u << end) - 1);
  if (!first_chunk) acc = _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, y + first), acc);
  if (last_chunk) {
    if (bias) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(lanes, bias + first));
    if (relu) acc = _mm512_max_ps(_mm512_setzero_ps(), acc);
  }
  _mm512_mask_storeu_ps(y + first, lanes, acc);
}

// NB blocks of 16 channels x NE examples over inputs [k0, k1): one FMA per weight vector and
// example.
template <int NB, int NE>
GREENAI_VNNI inline void f32_tile(const float* wb, size_t block_floats, int in, int k0, int k1,
                                  const float* x, int block, int n0, int out, const float* bias,
                                  bool relu, float* y) {
  __m512 acc[NB][NE];
  for (int j = 0; j < NB; ++j)
    for (int e = 0; e < NE; ++e) acc[j][e] = _mm512_setzero_ps();
  for (int i = k0; i < k1; ++i) {
    __m512 w[NB];
    for (int j = 0; j < NB; ++j)
      w[j] = _mm512_load_ps(wb + j * block_floats + static_cast<size_t>(i) * 16);
    for (int e = 0; e < NE; ++e) {
      const __m512 v = _mm512_set1_ps(x[static_cast<long>(e) * in + i]);
      for (int j = 0; j < NB; ++j) acc[j][e] = _mm512_fmadd_ps(w[j], v, acc[j][e]);
    }
  }
#pragma GCC unroll 16
  for (int j = 0; j < NB; ++j)
#pragma GCC unroll 16
    for (int e = 0; e < NE; ++e)
      store_f32(acc[j][e], block + j, out, bias, relu, k0 == 0, k1 == in,
                y + static_cast<long>(n0 + e) * out);
}

// The last `count` (< NE) examples of a pass in one tile of that height.
template <int NB, int NE>
GREENAI_VNNI void f32_rest(const float* wb, size_t block_floats, int in, int k0, int k1,
                           const float* x, int count, int block, int n, int out, const float* bias,
                           bool relu, float* y) {
  if constexpr (NE > 1) {
    if (count < NE)
      return f32_rest<NB, NE - 1>(wb, block_floats, in, k0, k1, x, count, block, n, out, bias, relu,
                                  y);
  }
  f32_tile<NB, NE>(wb, block_floats, in, k0, k1, x, block, n, out, bias, relu, y);
}

template <int NB, int NE>
GREENAI_VNNI void f32_blocks_pass(const float* packed, int in, const float* x, int batch, int block,
                                  int out, const float* bias, bool relu, float* y) {
  const size_t block_floats = static_cast<size_t>(in) * 16;
  const float* wb = packed + block * block_floats;
  for (int k0 = 0; k0 < in; k0 += kF32Chunk) {
    const int k1 = min_of(in, k0 + kF32Chunk);
    int n = 0;
    for (; n + NE <= batch; n += NE)
      f32_tile<NB, NE>(wb, block_floats, in, k0, k1, x + static_cast<long>(n) * in, block, n, out,
                       bias, relu, y);
    if (n < batch)
      f32_rest<NB, NE - 1>(wb, block_floats, in, k0, k1, x + static_cast<long>(n) * in, batch - n,
                           block, n, out, bias, relu, y);
  }
}

}  // namespace

// 4 blocks x 6 examples (24 accumulators, 4 weight vectors, a broadcast: 29 of the 32 zmm
// registers), each weight vector used 6 times and each broadcast 4; the last blocks 2 or 1 at a
// time (tiles of 6 examples for them too: each tile height is a function, and the runtime's size
// counts).
GREENAI_VNNI void linear_f32_avx512(const float* x, int batch, int in, int out, const float* packed,
                                    const float* b, bool relu, float* y) {
  const int blocks = (out + 15) / 16;
  int block = 0;
  for (; block + 4 <= blocks; block += 4)
    f32_blocks_pass<4, 6>(packed, in, x, batch, block, out, b, relu, y);
  for (; block + 2 <= blocks; block += 2)
    f32_blocks_pass<2, 6>(packed, in, x, batch, block, out, b, relu, y);
  for (; block < blocks; ++block)
    f32_blocks_pass<1, 6>(packed, in, x, batch, block, out, b, relu, y);
}

// The fp32 depthwise convolution, 16 channels a vector (depthwise.h).
GREENAI_VNNI void depthwise_f32_avx512(const float* x, const Conv2dShape& s, const float* packed,
                                       const float* bias, bool relu, uint8_t* scratch, float* y) {
  depthwise_f32_hwc<16>(x, s, packed, bias, relu, scratch, y);
}

// ref::add_i8 on two values of the same shape: code = q_a m_a + q_b m_b + c, each operation a
// separate float one in the reference's order (no fused multiply-add: -ffp-contract=off),
// clamped with NaN going to the low bound, rounded half to even by adding and taking away
// 1.5 x 2^23, as the reference does.
GREENAI_VNNI void add_i8_avx512(const int8_t* a, const int8_t* b, long count, const QBinary& q,
                                int8_t* y) {
  const float ma = q.scale_a / q.scale_out, mb = q.scale_b / q.scale_out;
  const float c = static_cast<float>(q.zero_point_out) - static_cast<float>(q.zero_point_a) * ma -
                  static_cast<float>(q.zero_point_b) * mb;
  const __m512 vma = _mm512_set1_ps(ma), vmb = _mm512_set1_ps(mb), vc = _mm512_set1_ps(c);
  const __m512 lo = _mm512_set1_ps(static_cast<float>(q.min));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(q.max));
  const __m512 magic = _mm512_set1_ps(12582912.0f);
  for (long i = 0; i < count; i += 16) {
    const __mmask16 lanes =
        count - i >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (count - i)) - 1);
    const __m512 u = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(lanes, a + i)));
    const __m512 v = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(lanes, b + i)));
    __m512 code = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(u, vma), _mm512_mul_ps(v, vmb)), vc);
    // clamp_codes: v > lo ? (v < hi ? v : hi) : lo
    const __m512 below_hi =
        _mm512_mask_blend_ps(_mm512_cmp_ps_mask(code, hi, _CMP_LT_OQ), hi, code);
    code = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(code, lo, _CMP_GT_OQ), lo, below_hi);
    code = _mm512_sub_ps(_mm512_add_ps(code, magic), magic);
    _mm_mask_storeu_epi8(y + i, lanes, _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(code)));
  }
}

namespace {

struct QuantizeConstants {
  __m512 s, inv, zp, half, one, lo, hi, window;
  __m512i sign_bit;
  bool exact_only;
};

// 16 floats to their int8 codes, as int32 lanes.
GREENAI_VNNI inline __m512i quantize_lanes(__m512 xv, __mmask16 lanes, const QuantizeConstants& k) {
  __m512 v, t, fraction;
  bool exact = k.exact_only;
  if (!exact) {
    v = _mm512_mul_ps(xv, k.inv);
    t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    fraction = _mm512_abs_ps(_mm512_sub_ps(v, t));
    // In range (|v| < 512) the error is below 512 x 2^-22 = 2^-13: a lane within 2^-11 of a
    // tie is divided exactly. Out of range both clamp; an extra division there is harmless.
    const __m512 distance = _mm512_abs_ps(_mm512_sub_ps(fraction, k.half));
    exact = _mm512_mask_cmp_ps_mask(lanes, distance, k.window, _CMP_LE_OQ) != 0;
  }
  if (exact) {
    v = _mm512_div_ps(xv, k.s);
    t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    fraction = _mm512_abs_ps(_mm512_sub_ps(v, t));
  }
  const __mmask16 away = _mm512_cmp_ps_mask(fraction, k.half, _CMP_GE_OQ);
  const __m512 step = _mm512_castsi512_ps(_mm512_or_si512(  // copysign(1, v)
      _mm512_castps_si512(k.one), _mm512_and_si512(_mm512_castps_si512(v), k.sign_bit)));
  __m512 q = _mm512_add_ps(_mm512_mask_add_ps(t, away, t, step), k.zp);
  const __mmask16 nan = _mm512_cmp_ps_mask(q, q, _CMP_UNORD_Q);
  q = _mm512_min_ps(_mm512_max_ps(q, k.lo), k.hi);
  q = _mm512_mask_mov_ps(q, nan, k.zp);
  return _mm512_cvttps_epi32(q);
}

// The common case of quantize_lanes, fewer operations: v = x / scale by the reciprocal. Sets
// `careful` when a lane is within 2^-11 of a tie, NaN or infinite: the caller then redoes the
// vectors with quantize_lanes.
GREENAI_VNNI inline __m512i quantize_lanes_fast(__m512 xv, const QuantizeConstants& k,
                                                __mmask16& careful) {
  const __m512 v = _mm512_mul_ps(xv, k.inv);
  // Round to nearest even: it differs from half away from zero only at exact ties, and every
  // lane within 2^-11 of a tie is sent to the careful path anyway. |v - r| is 0.5 at a tie; it
  // is NaN for a NaN or infinite v, which the unordered compare also sends to the careful path.
  const __m512 r = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 distance = _mm512_abs_ps(_mm512_sub_ps(_mm512_abs_ps(_mm512_sub_ps(v, r)), k.half));
  careful |= _mm512_cmp_ps_mask(distance, k.window, _CMP_NGT_UQ);
  const __m512 q = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(r, k.zp), k.lo), k.hi);
  return _mm512_cvttps_epi32(q);
}

}  // namespace

// ref::quantize on 16 floats at a time, with the same result: x / scale rounded half away from
// zero (truncate, then step away when the fraction is at least a half), plus the zero point, NaN
// to the zero point, clamped. Division is slow (a 16-lane divide issues every ~10 cycles), so
// t = x x (1 / scale) is used instead, within 2^-22 of the true quotient: its rounding can only
// differ where the fraction is that close to one half, and only in range (|t| < 512: beyond,
// both clamp alike). A vector with a lane near a tie is divided exactly. 64 codes are packed
// and stored at once (a masked narrowing store per 16 costs more than the arithmetic).
GREENAI_VNNI void quantize_avx512(const float* x, long count, float scale, int32_t zero_point,
                                  int8_t* y) {
  const float inverse = 1.0f / scale;
  QuantizeConstants k{_mm512_set1_ps(scale),
                      _mm512_set1_ps(inverse),
                      _mm512_set1_ps(static_cast<float>(zero_point)),
                      _mm512_set1_ps(0.5f),
                      _mm512_set1_ps(1.0f),
                      _mm512_set1_ps(-128.0f),
                      _mm512_set1_ps(127.0f),
                      _mm512_set1_ps(0x1p-11f),
                      _mm512_set1_epi32(static_cast<int>(0x80000000u)),
                      !(isnormal(scale) && isnormal(inverse) && inverse > 0)};
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  long i = 0;
  for (; i + 64 <= count; i += 64) {
    __m512i a, b, c, d;
    __mmask16 careful = 0;
    if (!k.exact_only) {
      a = quantize_lanes_fast(_mm512_loadu_ps(x + i), k, careful);
      b = quantize_lanes_fast(_mm512_loadu_ps(x + i + 16), k, careful);
      c = quantize_lanes_fast(_mm512_loadu_ps(x + i + 32), k, careful);
      d = quantize_lanes_fast(_mm512_loadu_ps(x + i + 48), k, careful);
    }
    if (k.exact_only || careful) {
      a = quantize_lanes(_mm512_loadu_ps(x + i), 0xFFFF, k);
      b = quantize_lanes(_mm512_loadu_ps(x + i + 16), 0xFFFF, k);
      c = quantize_lanes(_mm512_loadu_ps(x + i + 32), 0xFFFF, k);
      d = quantize_lanes(_mm512_loadu_ps(x + i + 48), 0xFFFF, k);
    }
    // Per 128-bit lane the packs give a0-3 b0-3 c0-3 d0-3; the permute puts a, b, c, d in order.
    const __m512i bytes = _mm512_packs_epi16(_mm512_packs_epi32(a, b), _mm512_packs_epi32(c, d));
    _mm512_storeu_si512(y + i, _mm512_permutexvar_epi32(order, bytes));
  }
  for (; i < count; i += 16) {
    const __mmask16 lanes =
        count - i >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (count - i)) - 1);
    const __m512i q = quantize_lanes(_mm512_maskz_loadu_ps(lanes, x + i), lanes, k);
    _mm_mask_storeu_epi8(y + i, lanes, _mm512_cvtepi32_epi8(q));
  }
}

namespace {

// DynamicLinear's epilogue: y = s_x[n] s_w[c] (acc - zp[n] row_sum[c]) + b[c], as
// ref::dynamic_linear computes it in float (a separate multiply and add: this file is compiled
// with -ffp-contract=off, so no fused multiply-add rounds differently) (the integer difference
// exact in int32 for in <= 65536), ReLU as std::max; an example whose row had no usable scale gets
// b alone.
struct DynamicStore {
  int out;
  const float* w_scale;
  const int64_t* row_sum;
  const float* bias;
  bool relu;
  const float* row_scale;
  const int32_t* row_zero_point;
  float* y;
  GREENAI_VNNI __attribute__((noinline)) void operator()(const __m512i* acc, int count, int block,
                                                         int n) const {
    for (int e = 0; e < count; ++e) one(acc[e], block, n + e);
  }
  GREENAI_VNNI void one(__m512i acc, int block, int n) const {
    const int first = block * 16, end = min_of(16, out - first);
    const __mmask16 lanes = end == 16 ? 0xFFFF : static_cast<__mmask16>((1u << end) - 1);
    const __m512 b = bias ? _mm512_maskz_loadu_ps(lanes, bias + first) : _mm512_setzero_ps();
    __m512 v = b;
    const float s = row_scale[n];
    if (s > 0) {  // ref: scale > 0 and finite (row_scale is 0 otherwise)
      const __mmask8 low = static_cast<__mmask8>(lanes), high = static_cast<__mmask8>(lanes >> 8);
      const __m256i sum_lo = _mm512_cvtepi64_epi32(_mm512_maskz_loadu_epi64(low, row_sum + first));
      const __m256i sum_hi =
          _mm512_cvtepi64_epi32(_mm512_maskz_loadu_epi64(high, row_sum + first + 8));
      const __m512i sums = _mm512_inserti64x4(_mm512_castsi256_si512(sum_lo), sum_hi, 1);
      const __m512i diff =
          _mm512_sub_epi32(acc, _mm512_mullo_epi32(_mm512_set1_epi32(row_zero_point[n]), sums));
      const __m512 factor =
          _mm512_mul_ps(_mm512_set1_ps(s), _mm512_maskz_loadu_ps(lanes, w_scale + first));
      v = _mm512_add_ps(b, _mm512_mul_ps(factor, _mm512_cvtepi32_ps(diff)));
    }
    if (relu)  // std::max(v, 0): 0 where v < 0, v otherwise (NaN stays)
      v = _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ),
                             _mm512_setzero_ps());
    _mm512_mask_storeu_ps(y + static_cast<long>(n) * out + first, lanes, v);
  }
};

}  // namespace

GREENAI_VNNI void dynamic_linear_avx512_vnni(const float* x, int batch, int in, int out,
                                             const int8_t* packed, const float* w_scale,
                                             const int64_t* row_sum, const float* b, bool relu,
                                             uint8_t* scratch, float* y) {
  const int groups = (in + 3) / 4, blocks = (out + 15) / 16, stride = groups * 4;
  // Per example: the unsigned row, then (after all rows) its scale and zero point.
  auto* row_scale = reinterpret_cast<float*>(scratch + static_cast<size_t>(batch) * stride);
  auto* row_zero_point = reinterpret_cast<int32_t*>(row_scale + batch);
  for (int n = 0; n < batch; ++n) {
    const float* row = x + static_cast<long>(n) * in;
    uint8_t* u = scratch + static_cast<long>(n) * stride;
    // The range, widened to contain 0; min_ps/max_ps(x, acc) return acc for a NaN x, as
    // std::min/std::max(acc, x) do.
    __m512 lo16 = _mm512_setzero_ps(), hi16 = _mm512_setzero_ps();
    for (int i = 0; i < in; i += 16) {
      const __mmask16 lanes = in - i >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (in - i)) - 1);
      const __m512 v = _mm512_maskz_loadu_ps(lanes, row + i);
      lo16 = _mm512_mask_min_ps(lo16, lanes, v, lo16);
      hi16 = _mm512_mask_max_ps(hi16, lanes, v, hi16);
    }
    const float lo = _mm512_reduce_min_ps(lo16), hi = _mm512_reduce_max_ps(hi16);
    const float scale = (hi - lo) / 255.0f;
    row_scale[n] = 0;
    row_zero_point[n] = 0;
    if (scale > 0 && isfinite(scale)) {
      const int32_t zp = static_cast<int32_t>(clamp_of(roundf(-lo / scale), 0.0f, 255.0f));
      row_scale[n] = scale;
      row_zero_point[n] = zp;
      const float inverse = 1.0f / scale;
      const QuantizeConstants k{_mm512_set1_ps(scale),
                                _mm512_set1_ps(inverse),
                                _mm512_set1_ps(static_cast<float>(zp)),
                                _mm512_set1_ps(0.5f),
                                _mm512_set1_ps(1.0f),
                                _mm512_set1_ps(0.0f),
                                _mm512_set1_ps(255.0f),
                                _mm512_set1_ps(0x1p-11f),
                                _mm512_set1_epi32(static_cast<int>(0x80000000u)),
                                !(isnormal(scale) && isnormal(inverse) && inverse > 0)};
      for (int i = 0; i < in; i += 16) {
        const __mmask16 lanes =
            in - i >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (in - i)) - 1);
        const __m512 v = _mm512_maskz_loadu_ps(lanes, row + i);
        __m512i q;
        __mmask16 careful = 0;
        if (!k.exact_only) q = quantize_lanes_fast(v, k, careful);
        if (k.exact_only || careful) q = quantize_lanes(v, lanes, k);
        _mm_mask_storeu_epi8(u + i, lanes, _mm512_cvtusepi32_epi8(q));
      }
    } else {
      memset(u, 0, static_cast<size_t>(in));
    }
    for (int i = in; i < stride; ++i) u[i] = 0;
  }
  packed_gemm(packed, groups, blocks, DenseRows{scratch, stride}, batch,
              DynamicStore{out, w_scale, row_sum, b, relu, row_scale, row_zero_point, y});
}

}  // namespace greenai::edge::internal::x86
