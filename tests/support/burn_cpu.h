// Keeps this thread busy until it has used `seconds` of CPU time (not wall time, so the amount
// of work does not shrink when the machine is loaded).
#pragma once

#include <time.h>

namespace greenai::testing {

inline double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

inline void burn_cpu(double seconds) {
  volatile double sink = 0;
  const double end = thread_cpu_s() + seconds;
  while (thread_cpu_s() < end)
    for (int i = 0; i < 1000; ++i) sink = sink + 1.0;
}

}  // namespace greenai::testing
