// Chooses the kernel set for the CPU at load time: the best set the CPU can run, or the one
// GREENAI_EDGE_KERNELS names (for comparisons, and so that a machine with AVX-512 also tests its
// AVX2 kernels against the reference).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)  // Linux's arch/arm64/include/uapi/asm/hwcap.h
#endif
#endif

#include "edge/internal/kernels.h"

namespace greenai::edge::internal {

const KernelSet& reference_kernels() {
  static const KernelSet set{"reference",   ref::linear_f32,     nullptr, ref::qlinear, nullptr,
                             ref::quantize, ref::dynamic_linear, false};
  return set;
}

int kernel_sets_for(const IsaFeatures& isa, const KernelSet** sets, int capacity) {
  int count = 0;
  auto add = [&](const KernelSet& set) {
    if (count < capacity) sets[count] = &set;
    ++count;
  };
#if defined(__x86_64__)
  // The 256-bit sets share the AVX2+FMA fp32 GEMM; AVX-512 has its own, 16 channels a vector
  // (the convolutions of imported networks are compute-bound).
  static const KernelSet avx512_vnni{"avx512-vnni",
                                     x86::linear_f32_avx512,
                                     pack_linear_f32_blocks16,
                                     x86::qlinear_avx512_vnni_packed,
                                     x86::pack_qlinear_vnni,
                                     x86::quantize_avx512,
                                     x86::dynamic_linear_avx512_vnni,
                                     false,
                                     nullptr,
                                     x86::qconv2d_avx512_vnni,
                                     x86::pack_qconv2d_vnni,
                                     nullptr,
                                     x86::qdepthwise_avx512_vnni,
                                     x86::add_i8_avx512,
                                     x86::depthwise_f32_avx512};
  static const KernelSet avx_vnni{"avx-vnni",
                                  x86::linear_f32_avx2_packed,
                                  pack_linear_f32_blocks8,
                                  x86::qlinear_avx_vnni_packed,
                                  pack_qlinear_blocks8,
                                  x86::quantize_avx2,
                                  x86::dynamic_linear_avx_vnni,
                                  false,
                                  nullptr,
                                  x86::qconv2d_avx_vnni,
                                  pack_qconv2d_blocks8,
                                  nullptr,
                                  x86::qdepthwise_avx_vnni,
                                  nullptr,
                                  x86::depthwise_f32_avx2};
  static const KernelSet avx2{"avx2",
                              x86::linear_f32_avx2_packed,
                              pack_linear_f32_blocks8,
                              x86::qlinear_avx2_packed,
                              pack_qlinear_blocks8,
                              x86::quantize_avx2,
                              x86::dynamic_linear_avx2,
                              true,
                              x86::qlinear_avx2_small_weights,
                              x86::qconv2d_avx2,
                              pack_qconv2d_blocks8,
                              x86::qconv2d_avx2_small_weights,
                              x86::qdepthwise_avx2,
                              nullptr,
                              x86::depthwise_f32_avx2};
  const bool has_avx2 = isa.avx2 && isa.fma;
  if (has_avx2 && isa.avx512vnni && isa.avx512bw && isa.avx512vl) add(avx512_vnni);
  if (has_avx2 && isa.avxvnni) add(avx_vnni);
  if (has_avx2) add(avx2);
#elif defined(__aarch64__)
  static const KernelSet neon_dotprod{"neon-dotprod",
                                      arm64::linear_f32_neon,
                                      pack_linear_f32_blocks8,
                                      arm64::qlinear_neon_dotprod,
                                      pack_qlinear_blocks8,
                                      ref::quantize,
                                      arm64::dynamic_linear_neon_dotprod,
                                      false,
                                      nullptr,
                                      arm64::qconv2d_neon_dotprod,
                                      pack_qconv2d_blocks8,
                                      nullptr,
                                      arm64::qdepthwise_neon,
                                      nullptr,
                                      arm64::depthwise_f32_neon};
  static const KernelSet neon{"neon",
                              arm64::linear_f32_neon,
                              pack_linear_f32_blocks8,
                              arm64::qlinear_neon,
                              pack_qlinear_blocks8,
                              ref::quantize,
                              arm64::dynamic_linear_neon,
                              false,
                              nullptr,
                              arm64::qconv2d_neon,
                              pack_qconv2d_blocks8,
                              nullptr,
                              arm64::qdepthwise_neon,
                              nullptr,
                              arm64::depthwise_f32_neon};
  if (isa.asimddp) add(neon_dotprod);
  add(neon);  // Advanced SIMD is part of every AArch64 CPU
#endif
  add(reference_kernels());
  return count;
#if !defined(__x86_64__) && !defined(__aarch64__)
  (void)isa;
#endif
}

IsaFeatures detect_isa() {
  IsaFeatures isa;
#if defined(__x86_64__)
  __builtin_cpu_init();
  isa.avx2 = __builtin_cpu_supports("avx2");
  isa.fma = __builtin_cpu_supports("fma");
  isa.avx512bw = __builtin_cpu_supports("avx512bw");
  isa.avx512vl = __builtin_cpu_supports("avx512vl");
  isa.avx512vnni = __builtin_cpu_supports("avx512vnni");
  // AVX-VNNI is CPUID leaf 7, sub-leaf 1, EAX bit 4 (Intel SDM); clang 14's
  // __builtin_cpu_supports does not know it. Its ymm state is the one AVX2 needs.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  isa.avxvnni = __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) && (eax >> 4 & 1);
#elif defined(__aarch64__)
  isa.asimddp = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
  return isa;
}

int runnable_kernel_sets(const KernelSet** sets, int capacity) {
  return kernel_sets_for(detect_isa(), sets, capacity);
}

const KernelSet* select_kernels() {
  const KernelSet* sets[8];
  const int count = runnable_kernel_sets(sets, 8);
  const char* forced = getenv("GREENAI_EDGE_KERNELS");
  if (!forced || !*forced) return sets[0];
  for (int i = 0; i < count; ++i)
    if (strcmp(forced, sets[i]->name) == 0) return sets[i];
  return nullptr;
}

void runnable_kernel_names(char* names, size_t size) {
  const KernelSet* sets[8];
  const int count = runnable_kernel_sets(sets, 8);
  size_t used = 0;
  if (size) names[0] = '\0';
  for (int i = 0; i < count && used < size; ++i)
    used += static_cast<size_t>(
        snprintf(names + used, size - used, "%s%s", i ? ", " : "", sets[i]->name));
}

}  // namespace greenai::edge::internal
