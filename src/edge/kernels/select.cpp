// Chooses the kernel set for the CPU at load time.
#include "edge/internal/kernels.h"

namespace greenai::edge::internal {

const KernelSet& reference_kernels() {
  static const KernelSet set{"reference", ref::linear_f32, ref::qlinear};
  return set;
}

const KernelSet& select_kernels() { return reference_kernels(); }

}  // namespace greenai::edge::internal
