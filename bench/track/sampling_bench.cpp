// Cost of one tracker sample and of its parts, so per-step accounting in a training loop has a
// known price. Run: build/release/bench/greenai_sampling_bench
#include <benchmark/benchmark.h>
#include <unistd.h>

#include "greenai/meter/estimator.h"
#include "greenai/meter/system.h"
#include "greenai/track/tracker.h"

namespace {

void BM_SystemStatsRead(benchmark::State& state) {
  greenai::meter::SystemStats stats;
  for (auto _ : state) benchmark::DoNotOptimize(stats.read());
}
BENCHMARK(BM_SystemStatsRead);

void BM_SelfUsageRead(benchmark::State& state) {
  greenai::meter::SelfUsage usage;
  for (auto _ : state) benchmark::DoNotOptimize(usage.read());
}
BENCHMARK(BM_SelfUsageRead);

// Scans every /proc/<pid>/stat: the cost grows with the number of processes on the machine.
void BM_DescendantsUsageRead(benchmark::State& state) {
  greenai::meter::DescendantsUsage usage(::getpid());
  for (auto _ : state) benchmark::DoNotOptimize(usage.read());
}
BENCHMARK(BM_DescendantsUsageRead);

void BM_TrackerStep(benchmark::State& state) {
  auto tracker = greenai::track::Tracker::for_this_process({.background_sampler = false});
  tracker->start();
  for (auto _ : state) benchmark::DoNotOptimize(tracker->step());
  tracker->stop();
}
BENCHMARK(BM_TrackerStep);

}  // namespace

BENCHMARK_MAIN();
