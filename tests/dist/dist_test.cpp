// greenai::dist on loopback: ranks are dist_worker processes started here with torchrun's
// variables. A 2-rank all-reduce and gather, 2-rank data-parallel training against one process
// on the same global batch, and a rank whose peers never come.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "greenai/dist/process_group.h"
#include "greenai/error.h"
#include "support/temp_dir.h"

extern char** environ;

namespace greenai::dist {
namespace {

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct Ranks {
  std::vector<int> codes;
  std::vector<std::string> outputs, errors;
};

// Runs `world` workers in `mode` (or only those in `only`), each writing OUT; returns their exit
// codes, outputs and stderr.
Ranks run(const std::string& mode, int world, const std::vector<int>& only = {},
          double timeout_s = 30) {
  testing::TempDir dir;
  const int port = free_port();
  std::vector<pid_t> pids;
  std::vector<int> ranks = only;
  if (ranks.empty())
    for (int r = 0; r < world; ++r) ranks.push_back(r);
  for (int r : ranks) {
    std::vector<std::string> env{"MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + std::to_string(port),
                                 "RANK=" + std::to_string(r), "WORLD_SIZE=" + std::to_string(world),
                                 "GREENAI_DIST_TIMEOUT_S=" + std::to_string(timeout_s)};
    for (char** e = environ; *e; ++e) env.emplace_back(*e);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string exe = DIST_WORKER, out = dir.file("out" + std::to_string(r)),
                err = dir.file("err" + std::to_string(r));
    std::vector<char*> argv{exe.data(), const_cast<char*>(mode.c_str()), out.data(), nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = 0;
    EXPECT_EQ(posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), envp.data()), 0);
    posix_spawn_file_actions_destroy(&actions);
    pids.push_back(pid);
  }
  Ranks result;
  for (size_t i = 0; i < pids.size(); ++i) {
    int status = 0;
    ::waitpid(pids[i], &status, 0);
    result.codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    const int r = ranks[i];
    result.outputs.push_back(testing::TempDir::read(dir.file("out" + std::to_string(r))));
    result.errors.push_back(testing::TempDir::read(dir.file("err" + std::to_string(r))));
  }
  return result;
}

std::vector<double> numbers(const std::string& text) {
  std::istringstream in(text);
  std::vector<double> v;
  for (double x; in >> x;) v.push_back(x);
  return v;
}

TEST(Dist, TwoRanksAllReduceAndGather) {
  const Ranks r = run("allreduce", 2);
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(r.codes[i], 0) << r.errors[i];
    EXPECT_EQ(numbers(r.outputs[i]), (std::vector<double>{3, 30, 0, 1.5}));
  }
}

TEST(Dist, TwoRanksTrainAsOneProcessOnTheSameGlobalBatch) {
  const Ranks one = run("train", 1), two = run("train", 2);
  ASSERT_EQ(one.codes[0], 0) << one.errors[0];
  ASSERT_EQ(two.codes[0], 0) << two.errors[0];
  ASSERT_EQ(two.codes[1], 0) << two.errors[1];
  const auto single = numbers(one.outputs[0]), rank0 = numbers(two.outputs[0]),
             rank1 = numbers(two.outputs[1]);
  ASSERT_EQ(single.size(), 8u * 4 + 8 + 3 * 8 + 3);
  EXPECT_EQ(rank0, rank1);  // identical weights on every rank
  for (size_t i = 0; i < single.size(); ++i)
    EXPECT_NEAR(rank0[i], single[i], 1e-6) << "parameter value " << i;
}

TEST(Dist, ARankWhosePeersNeverComeTimesOutNamingTheAddress) {
  const Ranks r = run("join", 2, /*only=*/{0}, /*timeout_s=*/1);
  EXPECT_EQ(r.codes[0], 3);
  EXPECT_NE(r.errors[0].find("cannot join the job at 127.0.0.1:"), std::string::npos)
      << r.errors[0];
  EXPECT_NE(r.errors[0].find("MASTER_PORT"), std::string::npos) << r.errors[0];
}

TEST(Dist, TorchrunVariablesAreReadAndCheckedInProcess) {
  ::setenv("RANK", "5", 1);
  ::setenv("WORLD_SIZE", "2", 1);
  EXPECT_THROW(Rendezvous::from_env(), Error);
  ::setenv("RANK", "1", 1);
  ::setenv("MASTER_PORT", "29999", 1);
  const Rendezvous r = Rendezvous::from_env();
  EXPECT_EQ(r.rank, 1);
  EXPECT_EQ(r.world_size, 2);
  EXPECT_EQ(r.master_port, 29999);
  ::unsetenv("RANK");
  ::unsetenv("WORLD_SIZE");
  ::unsetenv("MASTER_PORT");
}

}  // namespace
}  // namespace greenai::dist
