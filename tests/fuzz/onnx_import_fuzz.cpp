// libFuzzer target: any bytes given to the ONNX importer become an edge file that loads and runs,
// or are refused with greenai::Error; never another exception or a crash. Build and run:
// `make fuzz-check`; seeds in tests/fuzz/corpus/onnx_import/ (an fp32 graph with a residual add,
// a grouped convolution and a concat, and its int8 QDQ export).
#include <cstdint>
#include <string>
#include <vector>

#include "greenai/edge/format.h"
#include "greenai/edge/greenai_edge.h"
#include "greenai/error.h"
#include "greenai/interop/onnx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> edge_bytes;
  try {
    edge_bytes =
        greenai::interop::onnx_to_edge(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const greenai::Error&) {
    return 0;
  }
  const greenai::edge::AlignedBytes aligned(edge_bytes);
  greenai_edge_model* model = nullptr;
  char error[256];
  if (greenai_edge_load_memory(aligned.data(), aligned.size(), 2, &model, error, sizeof error) !=
      GREENAI_EDGE_OK)
    __builtin_trap();  // what the importer writes must load
  std::vector<float> x(greenai_edge_input_size(model) * 2, 0.25f),
      y(greenai_edge_output_size(model) * 2);
  greenai_edge_infer(model, 2, x.data(), x.size(), y.data(), y.size());
  greenai_edge_free(model);
  return 0;
}
