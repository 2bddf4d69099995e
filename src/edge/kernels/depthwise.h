// The depthwise int8 convolution of the fast kernel sets (groups = in = out channels: MobileNet's
// 3x3 and 5x5 layers), on channels-last values: every channel of an output pixel is a contiguous
// run of bytes, so a vector holds L channels and each of the window's taps is one vector
// multiply-add per L channels. Included by one .cpp per kernel set, which defines
// GREENAI_DEPTHWISE_TARGET (its target attribute, or nothing) first and includes it inside its
// own unnamed namespace, so that each set gets the loops compiled (and vectorized) for its ISA.
//
// The sums are the reference's exact integers: bias_signed + sum q w over the window, the padding
// holding the input zero point (real 0); the set's own requantization epilogue finishes them:
// bit for bit ref::qconv2d.
#ifndef GREENAI_DEPTHWISE_TARGET
#error "define GREENAI_DEPTHWISE_TARGET before including depthwise.h"
#endif

// One output row of a depthwise convolution: for each block of L channels and each output pixel,
// the window's sums, into acc laid out [block][pixel][L] (a block's pixels are consecutive
// vectors, as the sets' GEMM epilogues take them); then store(block's vectors, pixel count,
// block) requantizes them into the row's channels-last output.
template <int L, typename Store>
GREENAI_DEPTHWISE_TARGET void depthwise_hwc(const int8_t* x, const Conv2dShape& s,
                                            const int8_t* packed, const Requant& r,
                                            uint8_t* scratch, const Store& store) {
  const DepthwiseImage d = depthwise_image(s);
  fill_depthwise_image(x, s, d, static_cast<int8_t>(r.input_zero_point), scratch);
  const auto* image = reinterpret_cast<const int8_t*>(scratch);
  // 64-byte aligned: the epilogues load whole vectors from it.
  uint8_t* sums_at = scratch + d.image_bytes;
  auto* acc =
      reinterpret_cast<int32_t*>(sums_at + (64 - reinterpret_cast<uintptr_t>(sums_at) % 64) % 64);
  const auto* w = reinterpret_cast<const int32_t*>(packed);  // [tap][channels16]
  const int channels = s.in_channels, blocks = (channels + L - 1) / L;
  const int taps = s.kernel * s.kernel_w;
  const long pixel_step = static_cast<long>(s.stride_w) * channels;
  // Block by block, row by row: the epilogue's constants for a block are made once.
  for (int b = 0; b < blocks; ++b)
    for (int oy = 0; oy < s.out_h; ++oy) {
      const int8_t* row = image + static_cast<long>(oy) * s.stride * d.row_bytes;
      int32_t* out = acc;
      for (int ox = 0; ox < s.out_w; ++ox) {
        const int8_t* window = row + ox * pixel_step + b * L;
        int32_t sums[L] = {};
        for (int t = 0; t < taps; ++t) {
          const int8_t* in = window + d.tap_offset[t];
          const int32_t* wt = w + static_cast<long>(t) * d.channels16 + b * L;
#pragma GCC unroll 16
          for (int l = 0; l < L; ++l) sums[l] += static_cast<int32_t>(in[l]) * wt[l];
        }
#pragma GCC unroll 16
        for (int l = 0; l < L; ++l) out[ox * L + l] = sums[l];
      }
      store(acc, s.out_w, b, static_cast<long>(oy) * s.out_w);
    }
}

// The fp32 depthwise convolution on channels-last values, L channels a step: per output pixel
// and block, bias + each tap's product in the reference's order (ky, then kx), so that the sums
// round as ref::conv2d_f32's do where no fused multiply-add is made; ReLU as max_of(v, 0).
template <int L>
GREENAI_DEPTHWISE_TARGET void depthwise_f32_hwc(const float* x, const Conv2dShape& s,
                                                const float* w, const float* bias, bool relu,
                                                uint8_t* scratch, float* y) {
  const DepthwiseImage d = depthwise_image(s);
  auto* image = reinterpret_cast<float*>(scratch);
  fill_depthwise_image_f32(x, s, d, image);
  const int channels = s.in_channels, blocks = (channels + L - 1) / L;
  const int taps = s.kernel * s.kernel_w;
  const long pixel_step = static_cast<long>(s.stride_w) * channels;
  for (int oy = 0; oy < s.out_h; ++oy) {
    const float* row = image + static_cast<long>(oy) * s.stride * d.row_bytes;
    for (int ox = 0; ox < s.out_w; ++ox) {
      float* out = y + (static_cast<long>(oy) * s.out_w + ox) * channels;
      for (int b = 0; b < blocks; ++b) {
        const float* window = row + ox * pixel_step + b * L;
        const int n = min_of(L, channels - b * L);
        float sums[L];
#pragma GCC unroll 16
        for (int l = 0; l < L; ++l) sums[l] = 0.0f;
        if (bias)
          for (int l = 0; l < n; ++l) sums[l] = bias[b * L + l];
        for (int t = 0; t < taps; ++t) {
          const float* in = window + d.tap_offset[t];
          const float* wt = w + static_cast<long>(t) * d.channels16 + b * L;
#pragma GCC unroll 16
          for (int l = 0; l < L; ++l) sums[l] += in[l] * wt[l];
        }
        for (int l = 0; l < n; ++l) out[b * L + l] = relu ? max_of(sums[l], 0.0f) : sums[l];
      }
    }
  }
}
