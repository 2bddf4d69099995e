// AVX-512 VNNI kernel for QLinear; matches ref::qlinear bit for bit.
//
// vpdpbusd multiplies 64 unsigned bytes by 64 signed bytes and adds each group of four products
// into an int32 lane, without intermediate saturation: exact for u in 0..255, w in -127..127.
// Inputs are made unsigned (u = q + 128) as in the AVX2 kernel; Requant::bias_unsigned carries
// the correction. Four examples share each load of a weight row.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

// GCC 12's AVX-512 extract intrinsics start from _mm512_undefined and trip this warning (GCC
// bug 105593); the values are fully defined.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "edge/internal/kernels.h"

namespace greenai::edge::internal::x86 {
namespace {

// The sum of the 16 int32 lanes.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) inline int32_t sum_lanes(__m512i v) {
  __m256i s8 = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
  s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(1, 0, 3, 2)));
  s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s4);
}

}  // namespace

__attribute__((target("avx512f,avx512bw,avx512vnni"))) void qlinear_avx512_vnni(
    const int8_t* x, int batch, int in, int out, const int8_t* w, const Requant& r,
    uint8_t* scratch, int8_t* y) {
  const long total = static_cast<long>(batch) * in;
  for (long i = 0; i < total; ++i) scratch[i] = static_cast<uint8_t>(x[i] ^ 0x80);  // q + 128
  const int tail = in % 64;
  const int vector_end = in - tail;
  const __mmask64 tail_mask = tail ? (~0ULL >> (64 - tail)) : 0;
  for (int o = 0; o < out; ++o) {
    const int8_t* row = w + static_cast<long>(o) * in;
    int n = 0;
    for (; n + 4 <= batch; n += 4) {
      const uint8_t* u = scratch + static_cast<long>(n) * in;
      __m512i acc0 = _mm512_setzero_si512(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
      for (int i = 0; i < vector_end; i += 64) {
        const __m512i b = _mm512_loadu_si512(row + i);
        acc0 = _mm512_dpbusd_epi32(acc0, _mm512_loadu_si512(u + i), b);
        acc1 = _mm512_dpbusd_epi32(acc1, _mm512_loadu_si512(u + in + i), b);
        acc2 = _mm512_dpbusd_epi32(acc2, _mm512_loadu_si512(u + 2L * in + i), b);
        acc3 = _mm512_dpbusd_epi32(acc3, _mm512_loadu_si512(u + 3L * in + i), b);
      }
      if (tail) {
        const __m512i b = _mm512_maskz_loadu_epi8(tail_mask, row + vector_end);
        acc0 = _mm512_dpbusd_epi32(acc0, _mm512_maskz_loadu_epi8(tail_mask, u + vector_end), b);
        acc1 =
            _mm512_dpbusd_epi32(acc1, _mm512_maskz_loadu_epi8(tail_mask, u + in + vector_end), b);
        acc2 = _mm512_dpbusd_epi32(acc2,
                                   _mm512_maskz_loadu_epi8(tail_mask, u + 2L * in + vector_end), b);
        acc3 = _mm512_dpbusd_epi32(acc3,
                                   _mm512_maskz_loadu_epi8(tail_mask, u + 3L * in + vector_end), b);
      }
      const int32_t bias = r.bias_unsigned[o];
      y[static_cast<long>(n) * out + o] = requantize(wrapping_add(bias, sum_lanes(acc0)), o, r);
      y[static_cast<long>(n + 1) * out + o] = requantize(wrapping_add(bias, sum_lanes(acc1)), o, r);
      y[static_cast<long>(n + 2) * out + o] = requantize(wrapping_add(bias, sum_lanes(acc2)), o, r);
      y[static_cast<long>(n + 3) * out + o] = requantize(wrapping_add(bias, sum_lanes(acc3)), o, r);
    }
    for (; n < batch; ++n) {
      const uint8_t* u = scratch + static_cast<long>(n) * in;
      __m512i acc = _mm512_setzero_si512();
      for (int i = 0; i < vector_end; i += 64)
        acc = _mm512_dpbusd_epi32(acc, _mm512_loadu_si512(u + i), _mm512_loadu_si512(row + i));
      if (tail)
        acc = _mm512_dpbusd_epi32(acc, _mm512_maskz_loadu_epi8(tail_mask, u + vector_end),
                                  _mm512_maskz_loadu_epi8(tail_mask, row + vector_end));
      y[static_cast<long>(n) * out + o] =
          requantize(wrapping_add(r.bias_unsigned[o], sum_lanes(acc)), o, r);
    }
  }
}

}  // namespace greenai::edge::internal::x86

namespace greenai::edge::internal::x86 {

size_t pack_qlinear_vnni(const int8_t* w, int in, int out, int8_t* packed) {
  const int groups = (in + 3) / 4, blocks = (out + 15) / 16;
  const size_t bytes = static_cast<size_t>(blocks) * groups * 64;
  if (!packed) return bytes;
  for (int b = 0; b < blocks; ++b)
    for (int g = 0; g < groups; ++g)
      for (int lane = 0; lane < 16; ++lane)
        for (int k = 0; k < 4; ++k) {
          const int o = b * 16 + lane, i = g * 4 + k;
          packed[(static_cast<size_t>(b) * groups + g) * 64 + lane * 4 + k] =
              o < out && i < in ? w[static_cast<long>(o) * in + i] : 0;
        }
  return bytes;
}

namespace {

// Requantizes 16 channel sums of one example and stores the channels that exist.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) inline void store_block(__m512i acc,
                                                                               int block, int out,
                                                                               const Requant& r,
                                                                               int8_t* y) {
  alignas(64) int32_t sums[16];
  _mm512_store_si512(sums, acc);
  const int end = std::min(16, out - block * 16);
  for (int lane = 0; lane < end; ++lane) {
    const int c = block * 16 + lane;
    y[c] = requantize(wrapping_add(r.bias_unsigned[c], sums[lane]), c, r);
  }
}

}  // namespace

__attribute__((target("avx512f,avx512bw,avx512vnni"))) void qlinear_avx512_vnni_packed(
    const int8_t* x, int batch, int in, int out, const int8_t* packed, const Requant& r,
    uint8_t* scratch, int8_t* y) {
  const int groups = (in + 3) / 4, blocks = (out + 15) / 16, stride = groups * 4;
  // Unsigned inputs u = q + 128, rows padded with zeros to whole groups of 4.
  for (int n = 0; n < batch; ++n) {
    uint8_t* row = scratch + static_cast<long>(n) * stride;
    for (int i = 0; i < in; ++i)
      row[i] = static_cast<uint8_t>(x[static_cast<long>(n) * in + i] ^ 0x80);
    for (int i = in; i < stride; ++i) row[i] = 0;
  }
  for (int b = 0; b < blocks; ++b) {
    const int8_t* wb = packed + static_cast<size_t>(b) * groups * 64;
    int n = 0;
    for (; n + 4 <= batch; n += 4) {
      const uint8_t* u0 = scratch + static_cast<long>(n) * stride;
      const uint8_t *u1 = u0 + stride, *u2 = u1 + stride, *u3 = u2 + stride;
      __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
      for (int g = 0; g < groups; ++g) {
        const __m512i wv = _mm512_loadu_si512(wb + static_cast<size_t>(g) * 64);
        int32_t v0, v1, v2, v3;  // four inputs of one example, broadcast to the 16 lanes
        std::memcpy(&v0, u0 + 4 * g, 4);
        std::memcpy(&v1, u1 + 4 * g, 4);
        std::memcpy(&v2, u2 + 4 * g, 4);
        std::memcpy(&v3, u3 + 4 * g, 4);
        a0 = _mm512_dpbusd_epi32(a0, _mm512_set1_epi32(v0), wv);
        a1 = _mm512_dpbusd_epi32(a1, _mm512_set1_epi32(v1), wv);
        a2 = _mm512_dpbusd_epi32(a2, _mm512_set1_epi32(v2), wv);
        a3 = _mm512_dpbusd_epi32(a3, _mm512_set1_epi32(v3), wv);
      }
      store_block(a0, b, out, r, y + static_cast<long>(n) * out);
      store_block(a1, b, out, r, y + static_cast<long>(n + 1) * out);
      store_block(a2, b, out, r, y + static_cast<long>(n + 2) * out);
      store_block(a3, b, out, r, y + static_cast<long>(n + 3) * out);
    }
    for (; n < batch; ++n) {
      const uint8_t* u = scratch + static_cast<long>(n) * stride;
      __m512i a = _mm512_setzero_si512();
      for (int g = 0; g < groups; ++g) {
        int32_t v;
        std::memcpy(&v, u + 4 * g, 4);
        a = _mm512_dpbusd_epi32(a, _mm512_set1_epi32(v),
                                _mm512_loadu_si512(wb + static_cast<size_t>(g) * 64));
      }
      store_block(a, b, out, r, y + static_cast<long>(n) * out);
    }
  }
}

}  // namespace greenai::edge::internal::x86
