// greenai::dist on loopback: ranks are dist_worker processes started here with torchrun's
// variables. A 2-rank all-reduce and gather, 2-rank data-parallel training against one process
// on the same global batch, a rank whose peers never come, and the store: keys, counters, waits
// that time out, a store nobody hosts, one that outlives a connection.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "greenai/dist/process_group.h"
#include "greenai/dist/store.h"
#include "greenai/error.h"
#include "support/temp_dir.h"

namespace greenai::dist {
namespace {

struct Ranks {
  std::vector<int> codes;
  std::vector<std::string> outputs, errors;
};

// Runs `world` workers in `mode`, each writing OUT; returns their exit codes, outputs and stderr.
// `alone` starts rank 0 only, of a job of `world` (its peers never come).
Ranks run(const std::string& mode, int world, bool alone = false, double timeout_s = 30) {
  testing::TempDir dir;
  LocalJob job;
  job.world = alone ? 1 : world;
  job.argv = {DIST_WORKER, mode, dir.file("out")};
  job.extra_env = {"GREENAI_DIST_TIMEOUT_S=" + std::to_string(timeout_s)};
  if (alone) job.extra_env.push_back("WORLD_SIZE=" + std::to_string(world));
  for (int r = 0; r < job.world; ++r)
    job.stderr_paths.push_back(dir.file("err" + std::to_string(r)));
  Ranks result;
  result.codes = run_local_job(job);
  for (int r = 0; r < job.world; ++r) {
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
  const Ranks r = run("join", 2, /*alone=*/true, /*timeout_s=*/1);
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

TEST(DistStore, KeysCountersAndWaitsOutliveAConnection) {
  const int port = free_loopback_port();
  auto host = Store::host(port, 5);
  EXPECT_EQ(host->address(), "127.0.0.1:" + std::to_string(port));
  {
    auto peer = Store::connect("127.0.0.1", port, 5);
    peer->set("k", {1, 2, 3});
    EXPECT_EQ(peer->add("n", 2), 2);
  }  // the peer's connection closes: the store and its keys stay
  EXPECT_TRUE(host->check({"k"}));
  EXPECT_EQ(host->get("k"), (Store::Bytes{1, 2, 3}));
  EXPECT_EQ(host->add("n", 0), 2);
  EXPECT_FALSE(host->wait({"never"}, 0.1));
  host->erase("k");
  EXPECT_FALSE(host->check({"k"}));
  EXPECT_THROW(Store::host(port, 1), Error);  // the port is taken
}

TEST(DistStore, AStoreNobodyHostsIsAnErrorNamingItsAddress) {
  const int port = free_loopback_port();
  try {
    Store::connect("127.0.0.1", port, 0.5);
    FAIL() << "connected to nothing";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace greenai::dist
