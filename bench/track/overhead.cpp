// Overhead of `greenai run`: the same fixed CPU-bound workload with and without tracking, at a
// 1 s and a 0.1 s interval, runs interleaved so that drift in the machine's speed hits all
// variants alike; and the start-up cost of `greenai run -- true` against `true`.
//
//   build/release/bench/greenai_overhead_bench [--repeats N] [--products N]
// Prints medians and ratios; never fails on timing.
#include <fcntl.h>
#include <spawn.h>
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

double run_seconds(const std::vector<std::string>& argv) {
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
  waitpid(pid, &status, 0);
  posix_spawn_file_actions_destroy(&actions);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 7;
  std::string products = "400";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--repeats")) repeats = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--products")) products = argv[i + 1];
  }
  const std::string exe = GREENAI_EXE;
  const std::vector<std::string> bare = {exe, "workload", "--products", products};
  auto tracked = [&](const char* interval) {
    std::vector<std::string> v = {exe, "run", "--interval", interval, "--"};
    v.insert(v.end(), bare.begin(), bare.end());
    return v;
  };
  const auto at_1s = tracked("1"), at_100ms = tracked("0.1");
  std::vector<double> t_bare, t_1s, t_100ms, t_true, t_run_true;
  run_seconds(bare);  // warm the page cache
  for (int r = 0; r < repeats; ++r) {
    t_bare.push_back(run_seconds(bare));
    t_1s.push_back(run_seconds(at_1s));
    t_100ms.push_back(run_seconds(at_100ms));
  }
  for (int r = 0; r < 5 * repeats; ++r) {
    t_true.push_back(run_seconds({"/bin/true"}));
    t_run_true.push_back(run_seconds({exe, "run", "--", "/bin/true"}));
  }
  const double b = median(t_bare);
  std::printf("workload: %s matrix products, %d interleaved repeats, medians\n", products.c_str(), repeats);
  std::printf("  untracked            %8.4f s\n", b);
  std::printf("  greenai run 1 s      %8.4f s  ratio %.4f  (overhead %+.2f %%)\n", median(t_1s), median(t_1s) / b,
              100 * (median(t_1s) / b - 1));
  std::printf("  greenai run 0.1 s    %8.4f s  ratio %.4f  (overhead %+.2f %%)\n", median(t_100ms),
              median(t_100ms) / b, 100 * (median(t_100ms) / b - 1));
  std::printf("start-up and stop, %d repeats, medians\n", 5 * repeats);
  std::printf("  true                 %8.2f ms\n", 1e3 * median(t_true));
  std::printf("  greenai run -- true  %8.2f ms  (+%.2f ms)\n", 1e3 * median(t_run_true),
              1e3 * (median(t_run_true) - median(t_true)));
  return 0;
}
