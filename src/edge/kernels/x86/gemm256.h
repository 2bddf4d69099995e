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

// (a b + nudge) / 2^31 truncated toward zero, for the signed low 32 bits of each 64-bit lane
// (saturating_rounding_doubling_high_mul; b is a multiplier, never INT32_MIN). The quotient fits
// in 32 bits, so a logical 64-bit shift gives its low half as the arithmetic one would.
GREENAI_X86_TARGET inline __m256i high_mul_lanes(__m256i a, __m256i b) {
  const __m256i zero = _mm256_setzero_si256();
  __m256i ab = _mm256_mul_epi32(a, b);
  const __m256i negative = _mm256_cmpgt_epi64(zero, ab);
  ab = _mm256_add_epi64(ab, _mm256_blendv_epi8(_mm256_set1_epi64x(1LL << 30),
                                               _mm256_set1_epi64x(1 - (1LL << 30)), negative));
  const __m256i still_negative = _mm256_cmpgt_epi64(zero, ab);
  ab = _mm256_add_epi64(ab, _mm256_and_si256(still_negative, _mm256_set1_epi64x((1LL << 31) - 1)));
  return _mm256_srli_epi64(ab, 31);
}

// multiply_by_quantized_multiplier on 8 lanes, for right shifts only (shift <= 0).
GREENAI_X86_TARGET inline __m256i requantize_lanes(__m256i acc, __m256i q, __m256i right) {
  const __m256i even = high_mul_lanes(acc, q);
  const __m256i odd = high_mul_lanes(_mm256_srli_epi64(acc, 32), _mm256_srli_epi64(q, 32));
  const __m256i x = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  // Rounding divide by 2^right, ties away from zero.
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, right), one);
  const __m256i remainder = _mm256_and_si256(x, mask);
  const __m256i x_negative = _mm256_cmpgt_epi32(_mm256_setzero_si256(), x);
  const __m256i threshold = _mm256_sub_epi32(_mm256_srli_epi32(mask, 1), x_negative);
  const __m256i up = _mm256_cmpgt_epi32(remainder, threshold);  // -1 where rounding up
  return _mm256_sub_epi32(_mm256_srav_epi32(x, right), up);
}

// Requantizes 8 channel sums (without bias) of one example and stores the channels that exist.
// Not inlined: GCC 12 keeps a tile's accumulators in registers through the loop only when its
// epilogue is a call (inlined, it stored every accumulator to the stack at every step).
GREENAI_X86_TARGET __attribute__((noinline)) void store_q8(__m256i acc, int block, int out,
                                                           const int32_t* bias, const Requant& r,
                                                           int8_t* y) {
  const int first = block * 8, end = min_of(8, out - first);
  alignas(32) int32_t lanes[8];
  if (end < 8) {
    for (int lane = 0; lane < 8; ++lane) lanes[lane] = lane < end ? r.shift[first + lane] : 0;
  }
  const __m256i shift = end < 8
                            ? _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes))
                            : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r.shift + first));
  if (_mm256_movemask_epi8(_mm256_cmpgt_epi32(shift, _mm256_setzero_si256()))) {
    // A multiplier of 1 or more (rare): the scalar path, with its saturating left shift.
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc);
    for (int lane = 0; lane < end; ++lane) {
      const int c = first + lane;
      y[c] = requantize(wrapping_add(bias[c], lanes[lane]), c, r);
    }
    return;
  }
  __m256i b, q;
  if (end == 8) {
    b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias + first));
    q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r.multiplier + first));
  } else {
    alignas(32) int32_t bias_lanes[8], q_lanes[8];
    for (int lane = 0; lane < 8; ++lane) {
      bias_lanes[lane] = lane < end ? bias[first + lane] : 0;
      q_lanes[lane] = lane < end ? r.multiplier[first + lane] : 0;
    }
    b = _mm256_load_si256(reinterpret_cast<const __m256i*>(bias_lanes));
    q = _mm256_load_si256(reinterpret_cast<const __m256i*>(q_lanes));
  }
  __m256i v = requantize_lanes(_mm256_add_epi32(acc, b), q,
                               _mm256_sub_epi32(_mm256_setzero_si256(), shift));
  v = _mm256_add_epi32(v, _mm256_set1_epi32(r.output_zero_point));
  v = _mm256_max_epi32(v, _mm256_set1_epi32(r.min));
  v = _mm256_min_epi32(v, _mm256_set1_epi32(r.max));
  const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i bytes = _mm_packs_epi16(words, words);
  if (end == 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y + first), bytes);
  } else {
    alignas(16) int8_t out_bytes[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(out_bytes), bytes);
    for (int lane = 0; lane < end; ++lane) y[first + lane] = out_bytes[lane];
  }
}

// Stores a tile's sums as QLinear's int8 outputs (store_q8 with the layer's bias and Requant).
struct RequantStore {
  int out;
  const int32_t* bias;
  const Requant& r;
  int8_t* y;
  GREENAI_X86_TARGET void operator()(__m256i acc, int block, int n) const {
    store_q8(acc, block, out, bias, r, y + static_cast<long>(n) * out);
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
  GREENAI_X86_TARGET __attribute__((noinline)) void operator()(__m256i acc, int block,
                                                               int n) const {
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

// Quantizes each example's row as ref::dynamic_linear does (unsigned 8 bits over its range
// widened to contain 0), into `rows` (batch x stride bytes, zero padded) as u + shift, with the
// row's scale (0 when it has none) and row_offset = -zp - shift, for DynamicStore. shift is -128
// for kernels that take signed inputs (u - 128), 0 for those that take unsigned ones.
GREENAI_X86_TARGET inline void quantize_rows(const float* x, int batch, int in, int stride,
                                             int shift, uint8_t* rows, float* row_scale,
                                             int32_t* row_offset) {
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
    // Padding holds the shifted zero: (0 + shift) with a zero weight adds nothing.
    for (int i = in; i < stride; ++i) u[i] = 0;
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
  for (int j = 0; j < NB; ++j)
#pragma GCC unroll 16
    for (int e = 0; e < NE; ++e) store(acc[j][e], block + j, n0 + e);
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
  if (n < batch)
    s8_rest<Dot, Store, NB>(dot, store, wb, block_bytes, groups, rows.from(n), batch - n, block, n);
}

// 2 blocks x Dot::kExamples rows: the accumulators, 2 weight vectors and the loaded input fit
// in the 16 ymm registers. Few rows: 4 blocks a pass keep enough independent chains in flight.
template <typename Dot, typename Store, typename Rows>
GREENAI_X86_TARGET void s8_packed_gemm(const Dot& dot, const Store& store, const int8_t* packed,
                                       int groups, int out, const Rows& rows, int batch) {
  const int blocks = (out + 7) / 8;
  int b = 0;
  if (batch < 3)
    for (; b + 4 <= blocks; b += 4)
      s8_blocks_pass<Dot, Store, 4>(dot, store, packed, groups, rows, batch, b);
  for (; b + 2 <= blocks; b += 2)
    s8_blocks_pass<Dot, Store, 2>(dot, store, packed, groups, rows, batch, b);
  for (; b < blocks; ++b) s8_blocks_pass<Dot, Store, 1>(dot, store, packed, groups, rows, batch, b);
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
