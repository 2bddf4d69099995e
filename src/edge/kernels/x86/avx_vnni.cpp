// AVX-VNNI kernel (the 256-bit, VEX-encoded vpdpbusd of Alder Lake, Sapphire Rapids and Zen 5):
// matches ref::qlinear bit for bit. vpdpbusd multiplies 32 unsigned bytes by 32 signed bytes and
// adds each group of four products into an int32 lane without intermediate saturation, so the
// inputs are made unsigned (u = q + 128) and Requant::bias_unsigned carries the correction, as in
// the AVX-512 VNNI kernel. Same packed layout and tiling as qlinear_avx2_packed (gemm256.h).
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "edge/internal/kernels.h"
#include "edge/internal/scalar.h"
#include "edge/kernels/rows.h"

namespace greenai::edge::internal::x86 {
namespace {

#define GREENAI_X86_TARGET __attribute__((target("avx2,fma,avxvnni")))
#include "edge/kernels/x86/gemm256.h"

struct UnsignedDot {
  static constexpr int kExamples = 6;  // 2 x 6 accumulators, 2 weights, the input
  using Prepared = __m256i;
  GREENAI_X86_TARGET Prepared load(const uint8_t* u) const { return broadcast_u8x4(u); }
  GREENAI_X86_TARGET static __m256i accumulate(__m256i acc, const Prepared& u, __m256i w) {
    return _mm256_dpbusd_avx_epi32(acc, u, w);
  }
};

}  // namespace

GREENAI_X86_TARGET void qlinear_avx_vnni_packed(const int8_t* x, int batch, int in, int out,
                                                const int8_t* packed, const Requant& r,
                                                uint8_t* scratch, int8_t* y) {
  const int stride = (in + 3) / 4 * 4;
  unsigned_rows(x, batch, in, stride, scratch);
  s8_packed_gemm(UnsignedDot{}, RequantStore{out, r.bias_unsigned, r, y}, packed, stride / 4, out,
                 DenseRows{scratch, stride}, batch);
}

// The direct convolution on the unsigned image (u = q + 128); Requant::bias_unsigned.
GREENAI_X86_TARGET void qconv2d_avx_vnni(const int8_t* x, const Conv2dShape& s,
                                         const int8_t* packed, const Requant& r, uint8_t* scratch,
                                         int8_t* y) {
  unsigned_conv(UnsignedDot{}, x, s, packed, r, scratch, y);
}

// Rows quantized as ref::dynamic_linear does, unsigned as vpdpbusd takes them.
GREENAI_X86_TARGET void dynamic_linear_avx_vnni(const float* x, int batch, int in, int out,
                                                const int8_t* packed, const float* w_scale,
                                                const int64_t* row_sum, const float* b, bool relu,
                                                uint8_t* scratch, float* y) {
  dynamic_gemm(x, batch, in, out, packed, w_scale, row_sum, b, relu, scratch, y, 0,
               [](uint8_t*, long) { return UnsignedDot{}; });
}

// The depthwise convolution (gemm256.h).
GREENAI_X86_TARGET void qdepthwise_avx_vnni(const int8_t* x, const Conv2dShape& s,
                                            const int8_t* packed, const Requant& r,
                                            uint8_t* scratch, int8_t* y) {
  depthwise_256(x, s, packed, r, scratch, y);
}

}  // namespace greenai::edge::internal::x86
