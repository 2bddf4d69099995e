// AVX2 (+FMA) kernels. qlinear_avx2_packed matches ref::qlinear bit for bit; linear_f32_avx2_packed
// matches ref::linear_f32 within the bound of a reordered float sum (it sums in another order).
//
// qlinear_avx2_packed multiplies the signed inputs q directly, 32 products per vpmaddubsw:
// vpmaddubsw takes unsigned x signed bytes and saturates the sum of each pair to int16, so it is
// fed |q| (0..128) and w with q's sign (vpsignb; |w| <= 127 so the negation never overflows):
// |q| sign(q) w = q w, and a pair sums to at most 2 x 128 x 127 = 32512 < 2^15: exact. vpmaddwd
// by ones then widens the pairs into int32 lanes. The bias is Requant::bias_signed.
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "edge/internal/kernels.h"
#include "edge/internal/scalar.h"
#include "edge/kernels/rows.h"

namespace greenai::edge::internal::x86 {
namespace {

#define GREENAI_X86_TARGET __attribute__((target("avx2,fma")))
#include "edge/kernels/x86/gemm256.h"

// Signed inputs times signed weights through vpmaddubsw (see the top of the file). The rows'
// magnitudes |q| lie `magnitudes` bytes after the rows, computed once per call rather than once
// per weight block.
struct SignedDot {
  static constexpr int kExamples = 4;  // 2 x 4 accumulators, 2 weights, |q|, q and ones
  long magnitudes;
  struct Prepared {
    __m256i magnitude, value;
  };
  GREENAI_X86_TARGET Prepared load(const uint8_t* q) const {
    int32_t value, magnitude;
    memcpy(&value, q, 4);
    memcpy(&magnitude, q + magnitudes, 4);
    return {_mm256_set1_epi32(magnitude), _mm256_set1_epi32(value)};
  }
  GREENAI_X86_TARGET static __m256i accumulate(__m256i acc, const Prepared& x, __m256i w) {
    const __m256i pairs = _mm256_maddubs_epi16(x.magnitude, _mm256_sign_epi8(w, x.value));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
  }
};

// Unsigned inputs times weights in [-63, 63] through vpmaddubsw directly (no sign trick).
struct SmallWeightDot {
  static constexpr int kExamples = 6;  // 2 x 6 accumulators, 2 weights, the input, ones
  using Prepared = __m256i;
  GREENAI_X86_TARGET Prepared load(const uint8_t* u) const { return broadcast_u8x4(u); }
  GREENAI_X86_TARGET static __m256i accumulate(__m256i acc, const Prepared& u, __m256i w) {
    return _mm256_add_epi32(acc,
                            _mm256_madd_epi16(_mm256_maddubs_epi16(u, w), _mm256_set1_epi16(1)));
  }
};

// The inputs are taken in chunks of kInputChunk: a chunk of a 2-block panel (2 x 8 x 256 floats,
// 16 KiB) stays in L1 while every example passes over it. Partial sums wait in y between chunks.
constexpr int kInputChunk = 256;

// The first `count` of 8 lanes, as a vmaskmovps mask.
GREENAI_X86_TARGET inline __m256i first_lanes(int count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Stores 8 channel sums of one example over a chunk of inputs: added to the partial sums of the
// chunks before it (none for the first), then, after the last chunk, the bias and ReLU (as
// max_of(v, 0): NaN and -0 stay). Not inlined: GCC 12 keeps a tile's accumulators in registers
// through the loop only when its epilogue is a call (inlined, it spilled all 12 every step).
GREENAI_X86_TARGET __attribute__((noinline)) void store_f32(__m256 acc, int block, int out,
                                                            const float* bias, bool relu,
                                                            bool first_chunk, bool last_chunk,
                                                            float* y) {
  const int first = block * 8;
  const __m256i mask = first_lanes(out - first);
  if (!first_chunk) acc = _mm256_add_ps(_mm256_maskload_ps(y + first, mask), acc);
  if (last_chunk) {
    if (bias) acc = _mm256_add_ps(acc, _mm256_maskload_ps(bias + first, mask));
    if (relu) acc = _mm256_max_ps(_mm256_setzero_ps(), acc);
  }
  _mm256_maskstore_ps(y + first, mask, acc);
}

// fp32 tiles: NB blocks of 8 channels x NE examples over inputs [k0, k1), one FMA per weight
// vector and example.
template <int NB, int NE>
GREENAI_X86_TARGET inline void f32_tile(const float* wb, size_t block_floats, int in, int k0,
                                        int k1, const float* x, int block, int n0, int out,
                                        const float* bias, bool relu, float* y) {
  __m256 acc[NB][NE];
  for (int j = 0; j < NB; ++j)
    for (int e = 0; e < NE; ++e) acc[j][e] = _mm256_setzero_ps();
  for (int i = k0; i < k1; ++i) {
    __m256 w[NB];
    for (int j = 0; j < NB; ++j)
      w[j] = _mm256_load_ps(wb + j * block_floats + static_cast<size_t>(i) * 8);
    for (int e = 0; e < NE; ++e) {
      const __m256 v = _mm256_broadcast_ss(x + static_cast<long>(e) * in + i);
      for (int j = 0; j < NB; ++j) acc[j][e] = _mm256_fmadd_ps(w[j], v, acc[j][e]);
    }
  }
#pragma GCC unroll 16
  for (int j = 0; j < NB; ++j)
#pragma GCC unroll 16
    for (int e = 0; e < NE; ++e)
      store_f32(acc[j][e], block + j, out, bias, relu, k0 == 0, k1 == in,
                y + static_cast<long>(n0 + e) * out);
}

// The last `count` (< 6) examples of a pass in one tile of that height.
template <int NB, int NE = 5>
GREENAI_X86_TARGET void f32_rest(const float* wb, size_t block_floats, int in, int k0, int k1,
                                 const float* x, int count, int block, int n, int out,
                                 const float* bias, bool relu, float* y) {
  if constexpr (NE > 1) {
    if (count < NE)
      return f32_rest<NB, NE - 1>(wb, block_floats, in, k0, k1, x, count, block, n, out, bias, relu,
                                  y);
  }
  f32_tile<NB, NE>(wb, block_floats, in, k0, k1, x, block, n, out, bias, relu, y);
}

template <int NB>
GREENAI_X86_TARGET void f32_blocks_pass(const float* packed, int in, const float* x, int batch,
                                        int block, int out, const float* bias, bool relu,
                                        float* y) {
  const size_t block_floats = static_cast<size_t>(in) * 8;
  const float* wb = packed + block * block_floats;
  for (int k0 = 0; k0 < in; k0 += kInputChunk) {
    const int k1 = min_of(in, k0 + kInputChunk);
    int n = 0;
    for (; n + 6 <= batch; n += 6)
      f32_tile<NB, 6>(wb, block_floats, in, k0, k1, x + static_cast<long>(n) * in, block, n, out,
                      bias, relu, y);
    if (n < batch)
      f32_rest<NB>(wb, block_floats, in, k0, k1, x + static_cast<long>(n) * in, batch - n, block, n,
                   out, bias, relu, y);
  }
}

}  // namespace

GREENAI_X86_TARGET void qlinear_avx2_packed(const int8_t* x, int batch, int in, int out,
                                            const int8_t* packed, const Requant& r,
                                            uint8_t* scratch, int8_t* y) {
  // Rows padded with zeros to whole groups of 4 (0 adds nothing), then their magnitudes.
  const int stride = (in + 3) / 4 * 4;
  const long rows_bytes = static_cast<long>(batch) * stride;
  for (int n = 0; n < batch; ++n) {
    const int8_t* src = x + static_cast<long>(n) * in;
    uint8_t* row = scratch + static_cast<long>(n) * stride;
    uint8_t* magnitude = row + rows_bytes;
    int i = 0;
    for (; i + 32 <= in; i += 32) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + i), v);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(magnitude + i), _mm256_abs_epi8(v));
    }
    for (; i < in; ++i) {
      row[i] = static_cast<uint8_t>(src[i]);
      magnitude[i] = static_cast<uint8_t>(src[i] < 0 ? -src[i] : src[i]);  // |-128| = 128
    }
    for (; i < stride; ++i) row[i] = magnitude[i] = 0;
  }
  s8_packed_gemm(SignedDot{rows_bytes}, RequantStore{out, r.bias_signed, r, y}, packed, stride / 4,
                 out, DenseRows{scratch, stride}, batch);
}

GREENAI_X86_TARGET void qlinear_avx2_small_weights(const int8_t* x, int batch, int in, int out,
                                                   const int8_t* packed, const Requant& r,
                                                   uint8_t* scratch, int8_t* y) {
  const int stride = (in + 3) / 4 * 4;
  unsigned_rows(x, batch, in, stride, scratch);
  s8_packed_gemm(SmallWeightDot{}, RequantStore{out, r.bias_unsigned, r, y}, packed, stride / 4,
                 out, DenseRows{scratch, stride}, batch);
}

// The direct convolution on the signed image (the padding holds the input zero point, real 0),
// its magnitudes |q| one image further on, for SignedDot; Requant::bias_signed.
GREENAI_X86_TARGET void qconv2d_avx2(const int8_t* x, const Conv2dShape& s, const int8_t* packed,
                                     const Requant& r, uint8_t* scratch, int8_t* y) {
  const ConvImage c = conv_image(s);
  const int32_t* pixel = conv_offsets(packed);
  fill_conv_image(x, s, c, 0, static_cast<uint8_t>(r.input_zero_point), scratch);
  uint8_t* magnitude = scratch + c.image_bytes;
  for (size_t i = 0; i < c.image_bytes; i += 32)  // image_bytes is a multiple of 64
    _mm256_storeu_si256(
        reinterpret_cast<__m256i*>(magnitude + i),
        _mm256_abs_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(scratch + i))));
  const int pixels = c.padded_pixels;
  s8_packed_gemm(SignedDot{static_cast<long>(c.image_bytes)},
                 RequantStore{s.out_channels, r.bias_signed, r, y}, conv_weights(packed, c),
                 c.groups, s.out_channels, ImageRows{scratch, pixel, pixel + pixels}, pixels);
}

// Weights in [-63, 63]: the unsigned image (u = q + 128) straight into vpmaddubsw.
GREENAI_X86_TARGET void qconv2d_avx2_small_weights(const int8_t* x, const Conv2dShape& s,
                                                   const int8_t* packed, const Requant& r,
                                                   uint8_t* scratch, int8_t* y) {
  unsigned_conv(SmallWeightDot{}, x, s, packed, r, scratch, y);
}

// Rows quantized as ref::dynamic_linear does, made signed (u - 128) for SignedDot, with their
// magnitudes; the GEMM's sums of (u - 128) w are corrected by 128 row_sum in DynamicStore.
GREENAI_X86_TARGET void dynamic_linear_avx2(const float* x, int batch, int in, int out,
                                            const int8_t* packed, const float* w_scale,
                                            const int64_t* row_sum, const float* b, bool relu,
                                            uint8_t* scratch, float* y) {
  dynamic_gemm(x, batch, in, out, packed, w_scale, row_sum, b, relu, scratch, y, -128,
               [](uint8_t* rows, long rows_bytes) {
                 for (long i = 0; i < rows_bytes; ++i) {
                   const auto q = static_cast<int8_t>(rows[i]);
                   rows[rows_bytes + i] = static_cast<uint8_t>(q < 0 ? -q : q);  // |-128| = 128
                 }
                 return SignedDot{rows_bytes};
               });
}

// 2 blocks x 6 examples: 12 accumulators, 2 weight vectors and a broadcast in the 16 registers;
// a batch of one or two streams 4 blocks at once so that enough FMA chains are in flight.
GREENAI_X86_TARGET void linear_f32_avx2_packed(const float* x, int batch, int in, int out,
                                               const float* packed, const float* b, bool relu,
                                               float* y) {
  const int blocks = (out + 7) / 8;
  int block = 0;
  if (batch < 3)
    for (; block + 4 <= blocks; block += 4)
      f32_blocks_pass<4>(packed, in, x, batch, block, out, b, relu, y);
  for (; block + 2 <= blocks; block += 2)
    f32_blocks_pass<2>(packed, in, x, batch, block, out, b, relu, y);
  for (; block < blocks; ++block) f32_blocks_pass<1>(packed, in, x, batch, block, out, b, relu, y);
}

// ref::quantize, 8 lanes at a time, with the same result. t = x x (1 / scale) is within 2^-22 of
// the true quotient, so rounding it to nearest can differ from rounding x / scale half away from
// zero only where its fraction is within that of one half (and |t| < 512: beyond, both clamp); a
// group of 8 with a lane within 2^-11 of a tie, or a NaN or infinite lane, goes to the reference.
// The reasoning is quantize_avx512's.
GREENAI_X86_TARGET void quantize_avx2(const float* x, long count, float scale, int32_t zero_point,
                                      int8_t* y) {
  const float inverse = 1.0f / scale;
  if (!(isnormal(scale) && isnormal(inverse) && inverse > 0)) {
    ref::quantize(x, count, scale, zero_point, y);
    return;
  }
  const __m256 inv = _mm256_set1_ps(inverse), half = _mm256_set1_ps(0.5f);
  const __m256 window = _mm256_set1_ps(0x1p-11f),
               zp = _mm256_set1_ps(static_cast<float>(zero_point));
  const __m256 lo = _mm256_set1_ps(-128.0f), hi = _mm256_set1_ps(127.0f);
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  long i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), inv);
    const __m256 r = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256 distance = _mm256_and_ps(
        _mm256_sub_ps(_mm256_and_ps(_mm256_sub_ps(v, r), magnitude), half), magnitude);
    if (_mm256_movemask_ps(_mm256_cmp_ps(distance, window, _CMP_NGT_UQ))) {
      ref::quantize(x + i, 8, scale, zero_point, y + i);
      continue;
    }
    const __m256i q =
        _mm256_cvttps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_add_ps(r, zp), lo), hi));
    const __m128i words =
        _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y + i), _mm_packs_epi16(words, words));
  }
  if (i < count) ref::quantize(x + i, count - i, scale, zero_point, y + i);
}

// The fp32 depthwise convolution (depthwise.h), two 8-lane vectors a block; AVX2's and
// AVX-VNNI's set alike.
GREENAI_X86_TARGET void depthwise_f32_avx2(const float* x, const Conv2dShape& s,
                                           const float* packed, const float* bias, bool relu,
                                           uint8_t* scratch, float* y) {
  depthwise_f32_hwc<16>(x, s, packed, bias, relu, scratch, y);
}

// The depthwise convolution (gemm256.h).
GREENAI_X86_TARGET void qdepthwise_avx2(const int8_t* x, const Conv2dShape& s, const int8_t* packed,
                                        const Requant& r, uint8_t* scratch, int8_t* y) {
  depthwise_256(x, s, packed, r, scratch, y);
}

}  // namespace greenai::edge::internal::x86
