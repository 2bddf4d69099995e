// The all-reduce bandwidth of greenai::dist's Gloo group on this machine (loopback): started
// without RANK it spawns --ranks copies of itself with torchrun's variables; rank 0 prints the
// bus bandwidth (NCCL's definition) per message size. A report, never a pass/fail.
//   build/release/bench/greenai_allreduce_bench [--ranks 2]
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "greenai/dist/process_group.h"
#include "greenai/error.h"

int main(int argc, char** argv) {
  int ranks = 2;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--ranks") ranks = std::atoi(argv[i + 1]);
  if (!std::getenv("RANK")) {
    greenai::dist::LocalJob job;
    job.argv.assign(argv, argv + argc);
    job.argv[0] = "/proc/self/exe";
    job.world = ranks;
    for (int code : greenai::dist::run_local_job(job))
      if (code != 0) return 1;
    return 0;
  }
  try {
    torch::set_num_threads(1);
    auto group = greenai::dist::Group::join(greenai::dist::Rendezvous::from_env());
    std::string cpu = "?";
    std::ifstream info("/proc/cpuinfo");
    for (std::string line; std::getline(info, line);)
      if (line.rfind("model name", 0) == 0) {
        cpu = line.substr(line.find(':') + 2);
        break;
      }
    if (group->rank() == 0)
      std::printf("all-reduce over c10d Gloo, %d ranks on loopback, %s (%ld logical CPUs)\n",
                  group->size(), cpu.c_str(), ::sysconf(_SC_NPROCESSORS_ONLN));
    for (size_t bytes : {size_t{1} << 16, size_t{1} << 20, size_t{16} << 20, size_t{64} << 20}) {
      const double gbps = greenai::dist::allreduce_bandwidth_gbps(*group, bytes, 11);
      if (group->rank() == 0)
        std::printf("  %9zu bytes fp32: bus bandwidth %.3f GB/s (median of 11)\n", bytes, gbps);
    }
  } catch (const greenai::Error& e) {
    std::fprintf(stderr, "%s (%s)\n", e.what(), e.hint().c_str());
    return 1;
  }
  return 0;
}
