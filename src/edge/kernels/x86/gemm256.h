// The register-tiled int8 GEMM shared by the 256-bit kernel sets (AVX2 and AVX-VNNI), over
// weights packed by x86::pack_qlinear_blocks8 (blocks of 8 channels x 4 inputs, 32 bytes). It is
// included by one .cpp per kernel set, which defines GREENAI_X86_TARGET (its target attribute)
// first and includes it inside its own unnamed namespace, so that each set gets instantiations
// compiled for its own ISA.
//
// A tile of NB blocks x NE examples keeps NB x NE accumulators in registers: each weight vector
// is loaded once for NE examples and each broadcast input serves NB blocks. The integer sums are
// exact and wrap modulo 2^32 as ref::qlinear's do; the requantization epilogue is
// fixed_point.h's, lane by lane: bit-exact.
#ifndef GREENAI_X86_TARGET
#error "define GREENAI_X86_TARGET before including gemm256.h"
#endif

// Four consecutive unsigned inputs in every 32-bit lane: what one step of the GEMM multiplies
// the 8 channels' packed weights by.
GREENAI_X86_TARGET inline __m256i broadcast_u8x4(const uint8_t* u) {
  int32_t v;
  memcpy(&v, u, 4);
  return _mm256_set1_epi32(v);
}

// fixed_point.h's multiply_by_quantized_multiplier for right shifts (shift <= 0), 8 channels at
// a time, in one rounding step per 64-bit product (the AVX-512 kernel's derivation):
//   floor((a q + 2^30 + (h - n) 2^31) / 2^(31 + r)),  h = 2^r / 2, n = 1 where a q < -2^30 and
//   r > 0.
// AVX2 has no 64-bit arithmetic shift: 2^62 is added first, so that the sum is non-negative as
// an unsigned 64-bit number and a logical shift divides it, and 2^(62 - 31 - r) taken off the
// 32-bit result. The same integers as the reference.
struct RequantConstants {  // per 64-bit lane: even channels, then odd ones
  __m256i q_even, q_odd, add_even, add_odd, add_negative_even, add_negative_odd;
  __m256i shift_even, shift_odd;
  __m256i offset;  // per 32-bit lane: 2^(31 - r), modulo 2^32
};

GREENAI_X86_TARGET inline void lane_constants(__m256i r64, __m256i& add, __m256i& add_negative,
                                              __m256i& shift) {
  const __m256i rounds = _mm256_cmpgt_epi64(r64, _mm256_setzero_si256());
  const __m256i half = _mm256_and_si256(
      rounds,
      _mm256_sllv_epi64(_mm256_set1_epi64x(1), _mm256_add_epi64(r64, _mm256_set1_epi64x(30))));
  add = _mm256_add_epi64(_mm256_set1_epi64x((1LL << 62) + (1LL << 30)), half);
  add_negative = _mm256_sub_epi64(add, _mm256_and_si256(rounds, _mm256_set1_epi64x(1LL << 31)));
  shift = _mm256_add_epi64(r64, _mm256_set1_epi64x(31));
}

GREENAI_X86_TARGET inline void requant_constants(__m256i q, __m256i right, RequantConstants& k) {
  k.q_even = q;
  k.q_odd = _mm256_srli_epi64(q, 32);
  lane_constants(_mm256_and_si256(right, _mm256_set1_epi64x(0xFFFFFFFF)), k.add_even,
                 k.add_negative_even, k.shift_even);
  lane_constants(_mm256_srli_epi64(right, 32), k.add_odd, k.add_negative_odd, k.shift_odd);
  k.offset =
      _mm256_sllv_epi32(_mm256_set1_epi32(1), _mm256_sub_epi32(_mm256_set1_epi32(31), right));
}

// One rounding step for the signed low 32 bits of each 64-bit lane of `lanes` (plus 2^(31 - r)).
GREENAI_X86_TARGET inline __m256i requantize_half(__m256i lanes, __m256i q, __m256i add,
                                                  __m256i add_negative, __m256i shift) {
  const __m256i ab = _mm256_mul_epi32(lanes, q);
  const __m256i negative = _mm256_cmpgt_epi64(_mm256_set1_epi64x(-(1LL << 30)), ab);
  return _mm256_srlv_epi64(_mm256_add_epi64(ab, _mm256_blendv_epi8(add, add_negative, negative)),
                           shift);
}

// The requantized (not yet offset by the output zero point) value of each 32-bit lane of `a`.
GREENAI_X86_TARGET inline __m256i requantize_lanes(__m256i a, const RequantConstants& k) {
  const __m256i even = requantize_half(a, k.q_even, k.add_even, k.add_negative_even, k.shift_even);
  const __m256i odd = requantize_half(_mm256_srli_epi64(a, 32), k.q_odd, k.add_odd,
                                      k.add_negative_odd, k.shift_odd);
  return _mm256_sub_epi32(_mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA), k.offset);
}

// The first `end` of 8 int32 values from `values`, zeros after.
GREENAI_X86_TARGET inline __m256i load_lanes(const int32_t* values, int end) {
  if (end == 8) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(values));
  alignas(32) int32_t lanes[8] = {};
  for (int lane = 0; lane < end; ++lane) lanes[lane] = values[lane];
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes));
}

// Stores the first `end` of 8 int32 lanes, each already an int8 code, as bytes.
GREENAI_X86_TARGET inline void store_codes8(__m256i v, int end, int8_t* y) {
  const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i bytes = _mm_packs_epi16(words, words);
  if (end == 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y), bytes);
    return;
  }
  alignas(16) int8_t out_bytes[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(out_bytes), bytes);
  for (int lane = 0; lane < end; ++lane) y[lane] = out_bytes[lane];
}

// Requantizes 8 channel sums (without bias) of `count` examples (rows `out` bytes apart from y)
// and stores the channels that exist; the channels' constants are loaded once for them all. Not
// inlined: GCC 12 keeps a tile's accumulators in registers through the loop only when its
// epilogue is a call (inlined, it stored every accumulator to the stack at every step).
GREENAI_X86_TARGET __attribute__((noinline)) void store_rows_q8(const __m256i* acc, int count,
                                                                int block, int out,
                                                                const int32_t* bias,
                                                                const Requant& r, int8_t* y) {
  const int first = block * 8, end = min_of(8, out - first);
  if (r.scale) {  // kFlagFloatRequant: requantize()'s float operations, 8 lanes at once
    const __m256i b = load_lanes(bias + first, end);
    alignas(32) float lanes_scale[8] = {};
    for (int lane = 0; lane < end; ++lane) lanes_scale[lane] = r.scale[first + lane];
    const __m256 scale = _mm256_load_ps(lanes_scale);
    const __m256 lo = _mm256_set1_ps(static_cast<float>(r.min - r.output_zero_point));
    const __m256 hi = _mm256_set1_ps(static_cast<float>(r.max - r.output_zero_point));
    const __m256i zero_point = _mm256_set1_epi32(r.output_zero_point);
    for (int e = 0; e < count; ++e) {
      __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(acc[e], b)), scale);
      f = _mm256_min_ps(_mm256_max_ps(f, lo), hi);
      const __m256i v = _mm256_add_epi32(
          _mm256_cvttps_epi32(_mm256_round_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)),
          zero_point);
      store_codes8(v, end, y + static_cast<long>(e) * out + first);
    }
    return;
  }
  const __m256i shift = load_lanes(r.shift + first, end);
  if (_mm256_movemask_epi8(_mm256_cmpgt_epi32(shift, _mm256_setzero_si256()))) {
    // A multiplier of 1 or more (rare): the scalar path, with its saturating left shift.
    for (int e = 0; e < count; ++e) {
      alignas(32) int32_t sums[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(sums), acc[e]);
      for (int lane = 0; lane < end; ++lane) {
        const int c = first + lane;
        y[static_cast<long>(e) * out + c] = requantize(wrapping_add(bias[c], sums[lane]), c, r);
      }
    }
    return;
  }
  RequantConstants k;
  requant_constants(load_lanes(r.multiplier + first, end),
                    _mm256_sub_epi32(_mm256_setzero_si256(), shift), k);
  const __m256i b = load_lanes(bias + first, end);
  const __m256i zero_point = _mm256_set1_epi32(r.output_zero_point);
  const __m256i lo = _mm256_set1_epi32(r.min), hi = _mm256_set1_epi32(r.max);
  for (int e = 0; e < count; ++e) {
    __m256i v = _mm256_add_epi32(requantize_lanes(_mm256_add_epi32(acc[e], b), k), zero_point);
    v = _mm256_min_epi32(_mm256_max_epi32(v, lo), hi);
    store_codes8(v, end, y + static_cast<long>(e) * out + first);
  }
}

// Stores a tile's sums as QLinear's int8 outputs (store_rows_q8 with the layer's bias and
// Requant): 8 channels of `count` examples from n.
struct RequantStore {
  int out;
  const int32_t* bias;
  const Requant& r;
  int8_t* y;
  GREENAI_X86_TARGET void operator()(const __m256i* acc, int count, int block, int n) const {
    store_rows_q8(acc, count, block, out, bias, r, y + static_cast<long>(n) * out);
  }
};

// DynamicLinear's epilogue for 8 channels of example n: the exact integer
//   D = acc + row_offset[n] row_sum[c]   (= sum_i u_i w[c][i] - zp[n] row_sum[c])
// (row_offset folds the kernel's input shift and the zero point; D fits in int32 for
// in <= 65536, so the wrapping int32 arithmetic is exact), then
//   y = b[c] + (s_x[n] s_w[c]) D
// as ref::dynamic_linear computes it in float (separate multiply and add: the including file is
// compiled with -ffp-contract=off), ReLU as max_of(v, 0); an example whose row had no usable
// scale (row_scale 0) gets b alone. Not inlined, as store_q8.
struct DynamicStore {
  int out;
  const float* w_scale;
  const int64_t* row_sum;
  const float* bias;
  bool relu;
  const float* row_scale;
  const int32_t* row_offset;
  float* y;
  GREENAI_X86_TARGET __attribute__((noinline)) void operator()(const __m256i* acc, int count,
                                                               int block, int n) const {
    for (int e = 0; e < count; ++e) one(acc[e], block, n + e);
  }
  GREENAI_X86_TARGET void one(__m256i acc, int block, int n) const {
    const int first = block * 8, end = min_of(8, out - first);
    alignas(32) int32_t sums[8] = {};
    alignas(32) float scales[8] = {}, biases[8] = {};
    for (int lane = 0; lane < end; ++lane) {
      sums[lane] = static_cast<int32_t>(row_sum[first + lane]);
      scales[lane] = w_scale[first + lane];
      biases[lane] = bias ? bias[first + lane] : 0.0f;
    }
    __m256 v = _mm256_load_ps(biases);
    const float s = row_scale[n];
    if (s > 0) {  // ref: scale > 0 and finite (row_scale is 0 otherwise)
      const __m256i d = _mm256_add_epi32(
          acc, _mm256_mullo_epi32(_mm256_set1_epi32(row_offset[n]),
                                  _mm256_load_si256(reinterpret_cast<const __m256i*>(sums))));
      const __m256 factor = _mm256_mul_ps(_mm256_set1_ps(s), _mm256_load_ps(scales));
      v = _mm256_add_ps(v, _mm256_mul_ps(factor, _mm256_cvtepi32_ps(d)));
    }
    if (relu)  // max_of(v, 0): 0 where v < 0; NaN and -0 stay
      v = _mm256_blendv_ps(v, _mm256_setzero_ps(),
                           _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ));
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, v);
    float* yn = y + static_cast<long>(n) * out + first;
    for (int lane = 0; lane < end; ++lane) yn[lane] = lanes[lane];
  }
};

// The int8 rows made unsigned (u = q + 128) for the GEMMs that take unsigned inputs, padded
// with zeros to `stride` (a multiple of 4; a zero input adds nothing).
GREENAI_X86_TARGET inline void unsigned_rows(const int8_t* x, int batch, int in, int stride,
                                             uint8_t* rows) {
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  for (int n = 0; n < batch; ++n) {
    const int8_t* src = x + static_cast<long>(n) * in;
    uint8_t* row = rows + static_cast<long>(n) * stride;
    int i = 0;
    for (; i + 32 <= in; i += 32)
      _mm256_storeu_si256(
          reinterpret_cast<__m256i*>(row + i),
          _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i)), flip));
    for (; i < in; ++i) row[i] = static_cast<uint8_t>(src[i] ^ 0x80);
    for (i = in; i < stride; ++i) row[i] = 0;
  }
}

// The int8 GEMM: rows (rows.h: dense rows of a multiple of 4 bytes, zero padded, or a direct
// convolution's pixels) against packed weights. Dot supplies load(the address of four input
// bytes), which broadcasts them (and whatever it keeps beside them), and accumulate(acc, loaded,
// weights): the one place the 256-bit sets differ.
template <typename Dot, typename Store, int NB, int NE, typename Rows>
GREENAI_X86_TARGET inline void s8_tile(const Dot& dot, const Store& store, const int8_t* wb,
                                       size_t block_bytes, int groups, const Rows& rows, int block,
                                       int n0) {
  __m256i acc[NB][NE];
  for (int j = 0; j < NB; ++j)
    for (int e = 0; e < NE; ++e) acc[j][e] = _mm256_setzero_si256();
  for (int g = 0; g < groups; ++g) {
    __m256i w[NB];
    for (int j = 0; j < NB; ++j)
      w[j] = _mm256_load_si256(
          reinterpret_cast<const __m256i*>(wb + j * block_bytes + static_cast<size_t>(g) * 32));
    for (int e = 0; e < NE; ++e) {
      const typename Dot::Prepared x = dot.load(rows.at(e, g));
      for (int j = 0; j < NB; ++j) acc[j][e] = Dot::accumulate(acc[j][e], x, w[j]);
    }
  }
#pragma GCC unroll 16
  for (int j = 0; j < NB; ++j) {
    __m256i sums[NE];
#pragma GCC unroll 16
    for (int e = 0; e < NE; ++e) sums[e] = acc[j][e];
    store(sums, NE, block + j, n0);
  }
}

// The rows of one pass, `Dot::kExamples` at a time, then the rest in one smaller tile.
template <typename Dot, typename Store, int NB, int NE = Dot::kExamples, typename Rows>
GREENAI_X86_TARGET void s8_rest(const Dot& dot, const Store& store, const int8_t* wb,
                                size_t block_bytes, int groups, const Rows& rows, int count,
                                int block, int n) {
  if constexpr (NE > 1) {
    if (count < NE)
      return s8_rest<Dot, Store, NB, NE - 1>(dot, store, wb, block_bytes, groups, rows, count,
                                             block, n);
  }
  s8_tile<Dot, Store, NB, NE>(dot, store, wb, block_bytes, groups, rows, block, n);
}

template <typename Dot, typename Store, int NB, typename Rows>
GREENAI_X86_TARGET void s8_blocks_pass(const Dot& dot, const Store& store, const int8_t* packed,
                                       int groups, const Rows& rows, int batch, int block) {
  constexpr int kTile = Dot::kExamples;
  const size_t block_bytes = static_cast<size_t>(groups) * 32;
  const int8_t* wb = packed + block * block_bytes;
  int n = 0;
  for (; n + kTile <= batch; n += kTile)
    s8_tile<Dot, Store, NB, kTile>(dot, store, wb, block_bytes, groups, rows.from(n), block, n);
  if constexpr (!Rows::kPadded) {
    if (n < batch)
      s8_rest<Dot, Store, NB>(dot, store, wb, block_bytes, groups, rows.from(n), batch - n, block,
                              n);
  }
}

// 2 blocks x Dot::kExamples rows: the accumulators, 2 weight vectors and the loaded input fit
// in the 16 ymm registers. Few rows: 4 blocks a pass keep enough independent chains in flight.
template <typename Dot, typename Store, typename Rows>
GREENAI_X86_TARGET void s8_packed_gemm(const Dot& dot, const Store& store, const int8_t* packed,
                                       int groups, int out, const Rows& rows, int batch) {
  const int blocks = (out + 7) / 8;
  int b = 0;
  if constexpr (!Rows::kPadded) {
    if (batch < 3)
      for (; b + 4 <= blocks; b += 4)
        s8_blocks_pass<Dot, Store, 4>(dot, store, packed, groups, rows, batch, b);
  }
  for (; b + 2 <= blocks; b += 2)
    s8_blocks_pass<Dot, Store, 2>(dot, store, packed, groups, rows, batch, b);
  for (; b < blocks; ++b) s8_blocks_pass<Dot, Store, 1>(dot, store, packed, groups, rows, batch, b);
}

// A direct convolution on the unsigned image (u = q + 128, the padding the input zero point's u)
// through Dot, for the sets that multiply unsigned inputs; Requant::bias_unsigned.
template <typename Dot>
GREENAI_X86_TARGET void unsigned_conv(const Dot& dot, const int8_t* x, const Conv2dShape& s,
                                      const int8_t* packed, const Requant& r, uint8_t* scratch,
                                      int8_t* y) {
  const ConvImage c = conv_image(s);
  const int32_t* pixel = conv_offsets(packed);
  fill_conv_image(x, s, c, 0x80, static_cast<uint8_t>(r.input_zero_point + 128), scratch);
  s8_packed_gemm(dot, RequantStore{s.out_channels, r.bias_unsigned, r, y}, conv_weights(packed, c),
                 c.groups, s.out_channels, ImageRows{scratch, pixel, pixel + c.padded_pixels},
                 c.padded_pixels);
}

#define GREENAI_DEPTHWISE_TARGET GREENAI_X86_TARGET
#include "edge/kernels/depthwise.h"

// The depthwise convolution, 8 channels a vector, with the GEMM's epilogue on
// Requant::bias_signed (the sums are of signed inputs).
GREENAI_X86_TARGET void depthwise_256(const int8_t* x, const Conv2dShape& s, const int8_t* packed,
                                      const Requant& r, uint8_t* scratch, int8_t* y) {
  depthwise_hwc<8>(x, s, packed, r, scratch,
                   [&](const int32_t* acc, int count, int block, long pixel) {
                     store_rows_q8(reinterpret_cast<const __m256i*>(acc), count, block,
                                   s.out_channels, r.bias_signed, r, y + pixel * s.out_channels);
                   });
}

// DynamicLinear on a 256-bit set: the rows quantized as ref::dynamic_linear does and shifted by
// `shift` for the set's GEMM (scratch: the rows, then room for what make_dot keeps beside them,
// then each row's scale and offset), then the GEMM with DynamicStore's epilogue. make_dot(rows,
// rows_bytes) finishes the rows and returns the Dot.
template <typename MakeDot>
GREENAI_X86_TARGET void dynamic_gemm(const float* x, int batch, int in, int out,
                                     const int8_t* packed, const float* w_scale,
                                     const int64_t* row_sum, const float* b, bool relu,
                                     uint8_t* scratch, float* y, int shift, MakeDot make_dot) {
  const int stride = (in + 3) / 4 * 4;
  const long rows_bytes = static_cast<long>(batch) * stride;
  auto* row_scale = reinterpret_cast<float*>(scratch + 2 * rows_bytes);
  auto* row_offset = reinterpret_cast<int32_t*>(row_scale + batch);
  quantize_rows(x, batch, in, stride, shift, scratch, row_scale, row_offset);
  s8_packed_gemm(make_dot(scratch, rows_bytes),
                 DynamicStore{out, w_scale, row_sum, b, relu, row_scale, row_offset, y}, packed,
                 stride / 4, out, DenseRows{scratch, stride}, batch);
}
