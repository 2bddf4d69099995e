// Helpers of the edge runtime's tests: aligned model bytes and a loaded model that frees itself.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "greenai/edge/greenai_edge.h"

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

}  // namespace greenai::edge::testing
