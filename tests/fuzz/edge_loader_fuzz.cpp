// libFuzzer target: any bytes given to the edge loader load cleanly or are refused with a
// status and a reason; a model that loads also runs. Build and run: `make fuzz-check`
// (clang, -fsanitize=fuzzer,address,undefined); seeds in tests/fuzz/corpus/edge_loader/.
#include <cstdint>
#include <cstring>
#include <vector>

#include "greenai/edge/format.h"
#include "greenai/edge/greenai_edge.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The loader wants 64-byte aligned bytes; give it an aligned copy.
  static std::vector<uint8_t> storage;
  storage.assign(size + 64, 0);
  uint8_t* aligned = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;
  if (size) std::memcpy(aligned, data, size);
  // Mutated files rarely keep a valid CRC-32: also try the same bytes with it repaired, so that
  // the fuzzer reaches the structural checks behind it.
  for (int repair = 0; repair < 2; ++repair) {
    if (repair) {
      if (size < sizeof(greenai::edge::Header)) break;
      std::memset(aligned + offsetof(greenai::edge::Header, checksum), 0, 4);
      const uint32_t crc = greenai::edge::crc32(aligned, size);
      std::memcpy(aligned + offsetof(greenai::edge::Header, checksum), &crc, 4);
    }
    greenai_edge_model* model = nullptr;
    char error[256];
    if (greenai_edge_load_memory(aligned, size, 2, &model, error, sizeof error) != GREENAI_EDGE_OK)
      continue;
    std::vector<float> x(greenai_edge_input_size(model) * 2, 0.25f),
        y(greenai_edge_output_size(model) * 2);
    greenai_edge_infer(model, 2, x.data(), x.size(), y.data(), y.size());
    greenai_edge_free(model);
  }
  return 0;
}
