// greenai-edge: the standalone edge runtime as a small executable, for devices that have nothing
// else installed. Loads an edge model, runs it on inputs, or times it.
//
//   greenai-edge MODEL.edge                      runs one all-zero input, prints the outputs
//   greenai-edge MODEL.edge --input x.f32        runs the float32 examples in x.f32 (raw,
//                                                little-endian), one line of outputs each
//   greenai-edge MODEL.edge --bench [--batch N] [--seconds S] [--input x.f32]
//                                                latency p50/p99 and throughput
//   greenai-edge --kernels                       the kernel sets this CPU runs, and the one
//                                                chosen (GREENAI_EDGE_KERNELS forces another)
//
// Like the runtime, it uses the C library only, so the portable build links it statically with
// a small C library and no C++ standard library (scripts/build-edge-portable).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "greenai/edge/greenai_edge.h"

namespace {

int usage() {
  fprintf(stderr,
          "usage: greenai-edge MODEL.edge [--input FILE.f32] [--bench] [--batch N] [--seconds S]\n"
          "       greenai-edge --kernels\n");
  return 2;
}

double now_seconds() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

int compare_doubles(const void* a, const void* b) {
  const double x = *static_cast<const double*>(a), y = *static_cast<const double*>(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// The whole file as floats; returns null (and says why) when it cannot be read.
float* read_floats(const char* path, size_t* count) {
  FILE* f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "greenai-edge: cannot read %s\n", path);
    return nullptr;
  }
  size_t capacity = 1024, n = 0;
  auto* values = static_cast<float*>(malloc(capacity * sizeof(float)));
  while (values) {
    if (n == capacity) {
      capacity *= 2;
      auto* grown = static_cast<float*>(realloc(values, capacity * sizeof(float)));
      if (!grown) {
        free(values);
        values = nullptr;
        break;
      }
      values = grown;
    }
    const size_t got = fread(values + n, sizeof(float), capacity - n, f);
    n += got;
    if (got == 0) break;
  }
  fclose(f);
  if (!values) fprintf(stderr, "greenai-edge: out of memory reading %s\n", path);
  *count = n;
  return values;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !strcmp(argv[1], "--help")) return usage();
  if (!strcmp(argv[1], "--kernels")) {
    char names[256];
    greenai_edge_runnable_kernels(names, sizeof names);
    const char* selected = greenai_edge_selected_kernels();
    printf("kernels: %s (this CPU runs: %s)\n",
           *selected ? selected : "none: GREENAI_EDGE_KERNELS names a set this CPU cannot run",
           names);
    return *selected ? 0 : 2;
  }
  const char* path = argv[1];
  const char* input_path = nullptr;
  bool bench = false;
  int batch = 1;
  double seconds = 2.0;
  for (int i = 2; i < argc; ++i) {
    if (!strcmp(argv[i], "--bench"))
      bench = true;
    else if (!strcmp(argv[i], "--input") && i + 1 < argc)
      input_path = argv[++i];
    else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
      batch = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
      seconds = atof(argv[++i]);
    else
      return usage();
  }
  if (batch < 1 || batch > 65536 || !(seconds > 0)) return usage();
  greenai_edge_model* model = nullptr;
  char error[256] = "";
  if (greenai_edge_load_file(path, batch, &model, error, sizeof error) != GREENAI_EDGE_OK) {
    fprintf(stderr, "greenai-edge: cannot load %s: %s\n", path, error);
    return 2;
  }
  const size_t in = greenai_edge_input_size(model), out = greenai_edge_output_size(model);
  size_t count = 0;
  float* inputs = nullptr;
  if (input_path) {
    inputs = read_floats(input_path, &count);
    if (inputs &&
        (count == 0 || count % in != 0 || (bench && count < in * static_cast<size_t>(batch)))) {
      fprintf(stderr, "greenai-edge: %s holds %zu floats; the model takes %zu per example%s\n",
              input_path, count, in, bench ? " and --bench needs a whole batch" : "");
      free(inputs);
      inputs = nullptr;
    }
  } else {
    count = in * static_cast<size_t>(batch);
    inputs = static_cast<float*>(calloc(count, sizeof(float)));
  }
  auto* outputs = static_cast<float*>(malloc(out * static_cast<size_t>(batch) * sizeof(float)));
  int status = 0;
  if (!inputs || !outputs) {
    status = 2;
  } else if (bench) {
    const size_t batch_floats = in * static_cast<size_t>(batch);
    size_t capacity = 4096, runs = 0;
    auto* latencies = static_cast<double*>(malloc(capacity * sizeof(double)));
    const double begin = now_seconds();
    while (latencies && now_seconds() - begin < seconds) {
      const double t0 = now_seconds();
      if (greenai_edge_infer(model, batch, inputs, batch_floats, outputs,
                             out * static_cast<size_t>(batch)) != GREENAI_EDGE_OK) {
        fprintf(stderr, "greenai-edge: %s\n", greenai_edge_last_error(model));
        status = 1;
        break;
      }
      const double micros = (now_seconds() - t0) * 1e6;
      if (runs == capacity) {
        capacity *= 2;
        auto* grown = static_cast<double*>(realloc(latencies, capacity * sizeof(double)));
        if (!grown) break;
        latencies = grown;
      }
      latencies[runs++] = micros;
    }
    if (status == 0 && runs > 0) {
      qsort(latencies, runs, sizeof(double), compare_doubles);
      const double p50 = latencies[runs / 2], p99 = latencies[runs * 99 / 100];
      printf("%s: %s kernels, batch %d, %zu runs: p50 %.1f us, p99 %.1f us, %.0f inferences/s\n",
             path, greenai_edge_kernels(model), batch, runs, p50, p99, batch * 1e6 / p50);
    }
    free(latencies);
  } else {
    const size_t examples = count / in;
    for (size_t start = 0; start < examples && status == 0; start += static_cast<size_t>(batch)) {
      const size_t remaining = examples - start;
      const int n = remaining < static_cast<size_t>(batch) ? static_cast<int>(remaining) : batch;
      if (greenai_edge_infer(model, n, inputs + start * in, static_cast<size_t>(n) * in, outputs,
                             out * static_cast<size_t>(batch)) != GREENAI_EDGE_OK) {
        fprintf(stderr, "greenai-edge: %s\n", greenai_edge_last_error(model));
        status = 1;
        break;
      }
      for (int e = 0; e < n; ++e) {
        for (size_t j = 0; j < out; ++j) printf("%s%g", j ? " " : "", outputs[e * out + j]);
        printf("\n");
      }
    }
  }
  free(inputs);
  free(outputs);
  greenai_edge_free(model);
  return status;
}
