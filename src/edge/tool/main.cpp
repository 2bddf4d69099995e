// greenai-edge: the standalone edge runtime as a small static executable, for devices that have
// nothing else installed. Loads a .edge model, runs it on inputs, or times it.
//
//   greenai-edge MODEL.edge                      runs one all-zero input, prints the outputs
//   greenai-edge MODEL.edge --input x.f32        runs the float32 examples in x.f32 (raw,
//   little-endian) greenai-edge MODEL.edge --bench [--batch N] [--seconds S]   latency p50/p99 and
//   throughput
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "greenai/edge/greenai_edge.h"

namespace {

int usage() {
  std::fprintf(
      stderr,
      "usage: greenai-edge MODEL.edge [--input FILE.f32] [--bench] [--batch N] [--seconds S]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help")) return usage();
  const char* path = argv[1];
  const char* input_path = nullptr;
  bool bench = false;
  int batch = 1;
  double seconds = 2.0;
  for (int i = 2; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--bench"))
      bench = true;
    else if (!std::strcmp(argv[i], "--input") && i + 1 < argc)
      input_path = argv[++i];
    else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc)
      batch = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else
      return usage();
  }
  if (batch < 1 || batch > 65536 || !(seconds > 0)) return usage();
  std::vector<float> inputs;
  if (input_path) {
    std::FILE* f = std::fopen(input_path, "rb");
    if (!f) {
      std::fprintf(stderr, "greenai-edge: cannot read %s\n", input_path);
      return 2;
    }
    float value;
    while (std::fread(&value, sizeof value, 1, f) == 1) inputs.push_back(value);
    std::fclose(f);
  }
  greenai_edge_model* model = nullptr;
  char error[256] = "";
  if (greenai_edge_load_file(path, batch, &model, error, sizeof error) != GREENAI_EDGE_OK) {
    std::fprintf(stderr, "greenai-edge: cannot load %s: %s\n", path, error);
    return 2;
  }
  const size_t in = greenai_edge_input_size(model), out = greenai_edge_output_size(model);
  if (input_path && (inputs.empty() || inputs.size() % in != 0)) {
    std::fprintf(stderr,
                 "greenai-edge: %s holds %zu floats, not a multiple of the model's %zu inputs\n",
                 input_path, inputs.size(), in);
    greenai_edge_free(model);
    return 2;
  }
  if (!input_path) inputs.assign(in * static_cast<size_t>(batch), 0.0f);
  std::vector<float> outputs(out * static_cast<size_t>(batch));
  int status = 0;
  if (bench) {
    std::vector<double> latencies;
    auto begin = std::chrono::steady_clock::now();
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() <
           seconds) {
      auto t0 = std::chrono::steady_clock::now();
      greenai_edge_infer(model, batch, inputs.data(), inputs.size(), outputs.data(), outputs.size());
      latencies.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(latencies.begin(), latencies.end());
    const double p50 = latencies[latencies.size() / 2],
                 p99 = latencies[latencies.size() * 99 / 100];
    std::printf("%s: %s kernels, batch %d, %zu runs: p50 %.1f us, p99 %.1f us, %.0f inferences/s\n",
                path, greenai_edge_kernels(model), batch, latencies.size(), p50, p99,
                batch * 1e6 / p50);
  } else {
    const size_t examples = inputs.size() / in;
    for (size_t start = 0; start < examples && status == 0; start += static_cast<size_t>(batch)) {
      const int count =
          static_cast<int>(std::min<size_t>(static_cast<size_t>(batch), examples - start));
      if (greenai_edge_infer(model, count, inputs.data() + start * in, count * in,
                             outputs.data(), outputs.size()) != GREENAI_EDGE_OK) {
        std::fprintf(stderr, "greenai-edge: %s\n", greenai_edge_last_error(model));
        status = 1;
        break;
      }
      for (int n = 0; n < count; ++n) {
        for (size_t j = 0; j < out; ++j) std::printf("%s%g", j ? " " : "", outputs[n * out + j]);
        std::printf("\n");
      }
    }
  }
  greenai_edge_free(model);
  return status;
}
