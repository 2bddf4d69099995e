// Chooses the kernel set for the CPU at load time. GREENAI_EDGE_KERNELS=reference forces the
// portable set (for comparisons and for checking the fast kernels against it).
#include <stdlib.h>
#include <string.h>

#include "edge/internal/kernels.h"

namespace greenai::edge::internal {

const KernelSet& reference_kernels() {
  static const KernelSet set{"reference", ref::linear_f32, ref::qlinear,
                             nullptr,     ref::quantize,   ref::dynamic_linear};
  return set;
}

const KernelSet& select_kernels() {
  const char* forced = getenv("GREENAI_EDGE_KERNELS");
  if (forced && strcmp(forced, "reference") == 0) return reference_kernels();
#if defined(__x86_64__)
  static const KernelSet vnni{
      "avx512-vnni",          x86::linear_f32_avx2, x86::qlinear_avx512_vnni_packed,
      x86::pack_qlinear_vnni, x86::quantize_avx512, x86::dynamic_linear_avx512_vnni};
  static const KernelSet avx2{"avx2",  x86::linear_f32_avx2, x86::qlinear_avx2,
                              nullptr, ref::quantize,        ref::dynamic_linear};
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma") &&
      (!forced || strcmp(forced, "avx2") != 0))
    return vnni;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return avx2;
#endif
  return reference_kernels();
}

}  // namespace greenai::edge::internal
