// AVX-512 VNNI kernel for QLinear; matches ref::qlinear bit for bit.
//
// vpdpbusd multiplies 64 unsigned bytes by 64 signed bytes and adds each group of four products
// into an int32 lane, without intermediate saturation: exact for u in 0..255, w in -127..127.
// Inputs are made unsigned (u = q + 128) as in the AVX2 kernel; Requant::bias_unsigned carries
// the correction. Four examples share each load of a weight row.
#include <immintrin.h>

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
      y[static_cast<long>(n) * out + o] = requantize(bias + sum_lanes(acc0), o, r);
      y[static_cast<long>(n + 1) * out + o] = requantize(bias + sum_lanes(acc1), o, r);
      y[static_cast<long>(n + 2) * out + o] = requantize(bias + sum_lanes(acc2), o, r);
      y[static_cast<long>(n + 3) * out + o] = requantize(bias + sum_lanes(acc3), o, r);
    }
    for (; n < batch; ++n) {
      const uint8_t* u = scratch + static_cast<long>(n) * in;
      __m512i acc = _mm512_setzero_si512();
      for (int i = 0; i < vector_end; i += 64)
        acc = _mm512_dpbusd_epi32(acc, _mm512_loadu_si512(u + i), _mm512_loadu_si512(row + i));
      if (tail)
        acc = _mm512_dpbusd_epi32(acc, _mm512_maskz_loadu_epi8(tail_mask, u + vector_end),
                                  _mm512_maskz_loadu_epi8(tail_mask, row + vector_end));
      y[static_cast<long>(n) * out + o] = requantize(r.bias_unsigned[o] + sum_lanes(acc), o, r);
    }
  }
}

}  // namespace greenai::edge::internal::x86
