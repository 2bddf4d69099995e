// A small CPU-bound stand-in for an AI workload (`greenai workload`, what `greenai run` tracks
// when given no command): fp32 matrix products of 256 x 256 on one thread, for the meter's own
// tests and overhead benchmarks.
//
//   track::WorkloadResult r = track::run_workload({.seconds = 2});
//   std::cout << r.to_text();
#pragma once

#include <string>

namespace greenai::track {

struct WorkloadOptions {
  double seconds = 2;  ///< run this long, unless `products` is given
  long products = 0;   ///< run exactly this many products (0: by time)
};

struct WorkloadResult {
  long products = 0;
  int n = 256;  ///< matrix side
  double seconds = 0;
  double checksum = 0;  ///< an element of the result, so the work cannot be optimised away
  double gflop() const { return 2.0 * n * n * n * static_cast<double>(products) / 1e9; }
  /// "workload: N matrix products of 256x256 (G GFLOP) in S s, checksum C"
  std::string to_text() const;
};

/// Throws greenai::Error for a negative duration or count.
WorkloadResult run_workload(const WorkloadOptions& options);

}  // namespace greenai::track
