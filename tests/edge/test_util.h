// Helpers of the edge runtime's tests: aligned model bytes and a loaded model that frees itself.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "greenai/edge/format.h"
#include "greenai/edge/greenai_edge.h"
#include "greenai/edge/records.h"

namespace greenai::edge::testing {

// A buffer with 64-byte alignment, as greenai_edge_load_memory requires.
struct Aligned {
  explicit Aligned(const std::vector<uint8_t>& bytes) : storage(bytes.size() + 64) {
    auto p = reinterpret_cast<uintptr_t>(storage.data());
    data = storage.data() + (64 - p % 64) % 64;
    std::memcpy(data, bytes.data(), bytes.size());
    size = bytes.size();
  }
  std::vector<uint8_t> storage;
  uint8_t* data;
  size_t size;
};

struct Loaded {
  greenai_edge_status status;
  std::string error;
  greenai_edge_model* model = nullptr;
  ~Loaded() { greenai_edge_free(model); }
};

inline std::unique_ptr<Loaded> load(const Aligned& bytes, int max_batch = 4) {
  auto l = std::make_unique<Loaded>();
  char error[256] = "";
  l->status =
      greenai_edge_load_memory(bytes.data, bytes.size, max_batch, &l->model, error, sizeof error);
  l->error = error;
  return l;
}

// A (C, H, W) convolution with every window parameter, textbook loops in double.
struct Window {
  int kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, groups;
};
inline std::vector<float> naive_conv(const std::vector<float>& x, int c, int h, int w,
                                     const std::vector<float>& weight,
                                     const std::vector<float>& bias, int out_c, const Window& k,
                                     int* oh, int* ow) {
  *oh = (h + k.pt + k.pb - (k.kh - 1) * k.dh - 1) / k.sh + 1;
  *ow = (w + k.pl + k.pr - (k.kw - 1) * k.dw - 1) / k.sw + 1;
  const int ipg = c / k.groups, opg = out_c / k.groups;
  std::vector<float> y(static_cast<size_t>(out_c * *oh * *ow));
  for (int o = 0; o < out_c; ++o)
    for (int oy = 0; oy < *oh; ++oy)
      for (int ox = 0; ox < *ow; ++ox) {
        double acc = bias[o];
        for (int g = 0; g < ipg; ++g)
          for (int ky = 0; ky < k.kh; ++ky)
            for (int kx = 0; kx < k.kw; ++kx) {
              const int iy = oy * k.sh - k.pt + ky * k.dh, ix = ox * k.sw - k.pl + kx * k.dw;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const int ic = o / opg * ipg + g;
              acc += double{weight[((o * ipg + g) * k.kh + ky) * k.kw + kx]} *
                     x[(ic * h + iy) * w + ix];
            }
        y[(o * *oh + oy) * *ow + ox] = static_cast<float>(acc);
      }
  return y;
}

inline std::vector<float> random_values(size_t n, uint32_t seed, float lo = -1, float hi = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// An operator record with no tensors.
inline OpRecord op_of(OpKind kind) { return op_record(kind); }

// An operator graph record reading values a (and b).
inline OpGraph reads(uint32_t a, uint32_t b = kNoValue) {
  OpGraph g{};
  g.input[0] = a;
  g.input[1] = b;
  return g;
}

}  // namespace greenai::edge::testing
