#include "greenai/track/workload.h"

#include <chrono>
#include <cstdio>
#include <vector>

#include "greenai/error.h"

namespace greenai::track {

std::string WorkloadResult::to_text() const {
  char text[200];
  std::snprintf(text, sizeof text,
                "workload: %ld matrix products of %dx%d (%.2f GFLOP) in %.2f s, checksum %.3g\n",
                products, n, n, gflop(), seconds, checksum);
  return text;
}

WorkloadResult run_workload(const WorkloadOptions& options) {
  if (options.seconds < 0 || options.products < 0)
    throw Error("cannot run the workload", "--seconds and --products must not be negative");
  WorkloadResult r;
  const int n = r.n;
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  while (options.products > 0 ? r.products < options.products : elapsed() < options.seconds) {
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < n; ++k) {
        const float aik = a[i * n + k];
        for (int j = 0; j < n; ++j) c[i * n + j] += aik * b[k * n + j];
      }
    ++r.products;
  }
  r.seconds = elapsed();
  r.checksum = c[0];
  return r;
}

}  // namespace greenai::track
