// Overhead of `greenai run`, three ways:
//  1. greenai's own CPU time while it tracks an idle command (`sleep`), as a fraction of one
//     core: the work the meter adds, free of the workload's noise. On a machine whose every
//     core is busy with the workload this is the wall-time overhead at most (divided by the
//     number of cores); with a core to spare it costs no wall time at all.
//  2. The same fixed CPU-bound workload with and without tracking, interleaved (A B A B ...),
//     median of the per-pair ratios: the end-to-end figure, noisy on a shared VM.
//  3. Start-up and stop: `greenai run -- true` against `true`.
//
//   build/release/bench/greenai_overhead_bench [--repeats N] [--products N]
// Never fails on timing.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace {

struct Timing {
  double wall_s, cpu_s;  // cpu: the process and its waited-for descendants
};

Timing run(const std::vector<std::string>& argv) {
  std::vector<char*> raw;
  for (const auto& a : argv) raw.push_back(const_cast<char*>(a.c_str()));
  raw.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, raw[0], &actions, nullptr, raw.data(), environ) != 0) {
    std::perror("posix_spawn");
    std::exit(1);
  }
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  posix_spawn_file_actions_destroy(&actions);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto seconds = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return {wall, seconds(usage.ru_utime) + seconds(usage.ru_stime)};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 7;
  std::string products = "1000";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--repeats")) repeats = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--products")) products = argv[i + 1];
  }
  const std::string exe = GREENAI_EXE;
  auto tracked = [&](const char* interval, std::vector<std::string> command) {
    std::vector<std::string> v = {exe, "run", "--interval", interval, "--"};
    v.insert(v.end(), command.begin(), command.end());
    return v;
  };

  std::printf(
      "1. greenai's own CPU while tracking `sleep 3` (fraction of one core), %d repeats, median\n",
      repeats);
  for (const char* interval : {"1", "0.1"}) {
    std::vector<double> fraction;
    for (int r = 0; r < repeats; ++r) {
      Timing t = run(tracked(interval, {"/bin/sleep", "3"}));
      fraction.push_back(t.cpu_s / t.wall_s);
    }
    std::printf("  interval %-4s s   %.3f %% of one core\n", interval, 100 * median(fraction));
  }

  const std::vector<std::string> bare = {exe, "workload", "--products", products};
  const auto at_1s = tracked("1", bare), at_100ms = tracked("0.1", bare);
  std::vector<double> r_1s, r_100ms, t_bare;
  run(bare);  // warm-up
  for (int r = 0; r < repeats; ++r) {
    double b = run(bare).wall_s;
    t_bare.push_back(b);
    r_1s.push_back(run(at_1s).wall_s / b);
    r_100ms.push_back(run(at_100ms).wall_s / run(bare).wall_s);
  }
  std::printf(
      "2. workload of %s matrix products (untracked median %.3f s), tracked / untracked wall "
      "time,\n"
      "   median of %d interleaved pairs\n",
      products.c_str(), median(t_bare), repeats);
  std::printf("  interval 1    s   ratio %.4f\n", median(r_1s));
  std::printf("  interval 0.1  s   ratio %.4f\n", median(r_100ms));

  std::vector<double> t_true, t_run_true;
  for (int r = 0; r < 5 * repeats; ++r) {
    t_true.push_back(run({"/bin/true"}).wall_s);
    t_run_true.push_back(run({exe, "run", "--", "/bin/true"}).wall_s);
  }
  std::printf("3. start-up and stop, median of %d\n", 5 * repeats);
  std::printf("  true                 %6.2f ms\n", 1e3 * median(t_true));
  std::printf("  greenai run -- true  %6.2f ms\n", 1e3 * median(t_run_true));
  return 0;
}
