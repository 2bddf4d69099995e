// AVX2 kernels. qlinear_avx2 matches ref::qlinear bit for bit; linear_f32_avx2 matches
// ref::linear_f32 within kF32Tolerance (it sums in another order).
//
// The int8 dot products use unsigned inputs u = q + 128, so that
//   sum (q - zp) w = sum u w - (128 + zp) sum w,
// with the second term folded into Requant::bias_unsigned at load. Each u (0..255) and w
// (-127..127) is widened to 16 bits and vpmaddwd adds pairs of products into int32: exact.
#include <immintrin.h>

#include "edge/internal/kernels.h"
#include "edge/internal/scalar.h"

namespace greenai::edge::internal::x86 {
namespace {

__attribute__((target("avx2"))) inline int32_t horizontal_sum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

__attribute__((target("avx2"))) inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

}  // namespace

__attribute__((target("avx2"))) void qlinear_avx2(const int8_t* x, int batch, int in, int out,
                                                  const int8_t* w, const Requant& r,
                                                  uint8_t* scratch, int8_t* y) {
  const long total = static_cast<long>(batch) * in;
  for (long i = 0; i < total; ++i) scratch[i] = static_cast<uint8_t>(x[i] ^ 0x80);  // q + 128
  const int vector_end = in - in % 16;
  for (int o = 0; o < out; ++o) {
    const int8_t* row = w + static_cast<long>(o) * in;
    for (int n = 0; n < batch; ++n) {
      const uint8_t* u = scratch + static_cast<long>(n) * in;
      __m256i acc = _mm256_setzero_si256();
      for (int i = 0; i < vector_end; i += 16) {
        __m256i a = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(u + i)));
        __m256i b =
            _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + i)));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
      }
      int32_t sum = horizontal_sum(acc);
      int64_t tail = 0;
      for (int i = vector_end; i < in; ++i) tail += static_cast<int32_t>(u[i]) * row[i];
      y[static_cast<long>(n) * out + o] =
          requantize(wrapping_add(r.bias_unsigned[o], sum + tail), o, r);
    }
  }
}

__attribute__((target("avx2,fma"))) void linear_f32_avx2(const float* x, int batch, int in, int out,
                                                         const float* w, const float* b, bool relu,
                                                         float* y) {
  const int vector_end = in - in % 8;
  for (int o = 0; o < out; ++o) {
    const float* row = w + static_cast<long>(o) * in;
    for (int n = 0; n < batch; ++n) {
      const float* v = x + static_cast<long>(n) * in;
      __m256 acc = _mm256_setzero_ps();
      for (int i = 0; i < vector_end; i += 8)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(row + i), _mm256_loadu_ps(v + i), acc);
      float sum = horizontal_sum(acc) + (b ? b[o] : 0.0f);
      for (int i = vector_end; i < in; ++i) sum += row[i] * v[i];
      y[static_cast<long>(n) * out + o] = relu && sum < 0 ? 0.0f : sum;
    }
  }
}

}  // namespace greenai::edge::internal::x86
