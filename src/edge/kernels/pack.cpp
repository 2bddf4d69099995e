// Weight layouts shared by the kernel sets that read 8 output channels at a time (x86 AVX2 and
// AVX-VNNI, ARM64 NEON): rearranged once, at load.
#include "edge/internal/kernels.h"

namespace greenai::edge::internal {

size_t pack_qlinear_blocks(const int8_t* w, int in, int out, int channels, int8_t* packed) {
  const int groups = (in + 3) / 4, blocks = (out + channels - 1) / channels;
  const size_t group_bytes = static_cast<size_t>(channels) * 4;
  const size_t bytes = static_cast<size_t>(blocks) * groups * group_bytes;
  if (!packed) return bytes;
  for (int b = 0; b < blocks; ++b)
    for (int g = 0; g < groups; ++g)
      for (int lane = 0; lane < channels; ++lane)
        for (int k = 0; k < 4; ++k) {
          const int o = b * channels + lane, i = g * 4 + k;
          packed[(static_cast<size_t>(b) * groups + g) * group_bytes + lane * 4 + k] =
              o < out && i < in ? w[static_cast<long>(o) * in + i] : 0;
        }
  return bytes;
}

size_t pack_qlinear_blocks8(const int8_t* w, int in, int out, int8_t* packed) {
  return pack_qlinear_blocks(w, in, out, 8, packed);
}

size_t pack_linear_f32_blocks8(const float* w, int in, int out, float* packed) {
  const int blocks = (out + 7) / 8;
  const size_t bytes = static_cast<size_t>(blocks) * in * 8 * sizeof(float);
  if (!packed) return bytes;
  for (int b = 0; b < blocks; ++b)
    for (int i = 0; i < in; ++i)
      for (int lane = 0; lane < 8; ++lane) {
        const int o = b * 8 + lane;
        packed[(static_cast<size_t>(b) * in + i) * 8 + lane] =
            o < out ? w[static_cast<long>(o) * in + i] : 0.0f;
      }
  return bytes;
}

}  // namespace greenai::edge::internal
