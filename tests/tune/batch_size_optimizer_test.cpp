// The persistent batch-size optimizer: against a seeded simulated recurring job, its state file
// round trip (the same decisions after save and load), and malformed state files.
#include "greenai/tune/batch_size_optimizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "greenai/error.h"

namespace greenai::tune {
namespace {

namespace fs = std::filesystem;

// A recurring job: at batch size b it needs epochs[b] +- 1 epochs (uniform) at cost_per_epoch[b];
// 256 never reaches the target within the 20-epoch cap. Expected costs: 32 -> 10 x 30 = 300,
// 64 -> 8 x 25 = 200, 128 -> 9 x 26 = 234. The best is 64.
struct Job {
  std::map<int, double> epochs{{32, 10}, {64, 8}, {128, 9}, {256, 0}};
  std::map<int, double> cost_per_epoch{{32, 30}, {64, 25}, {128, 26}, {256, 20}};
  BatchSizeRun run(int b, double stop_cost, std::mt19937_64& rng) {
    std::uniform_int_distribution<int> jitter(-1, 1);
    const double need = epochs[b] > 0 ? epochs[b] + jitter(rng) : 0;
    const double cap = std::min(20.0, std::floor(stop_cost / cost_per_epoch[b]));
    BatchSizeRun r{b, 0, 0, false};
    r.reached = need > 0 && need <= cap;
    r.epochs = r.reached ? need : cap;
    r.cost = r.epochs * cost_per_epoch[b];
    return r;
  }
};

TEST(BatchSizeOptimizer, ExploresOncePrunesTheFailureAndSettlesOnTheCheapest) {
  Job job;
  BatchSizeOptimizer opt({32, 64, 128, 256}, 64, 2, 20);
  std::mt19937_64 rng(1), world(2);
  std::vector<int> chosen;
  for (int i = 0; i < 60; ++i) {
    const int b = opt.next(rng);
    chosen.push_back(b);
    opt.observe(job.run(b, opt.stop_cost(), world));
  }
  // The default, down, then up until 256 fails (stopped at 2 x the best: 400 / 20 = 20 epochs).
  EXPECT_EQ((std::vector<int>(chosen.begin(), chosen.begin() + 4)),
            (std::vector<int>{64, 32, 128, 256}));
  EXPECT_EQ(opt.survivors(), (std::vector<int>{32, 64, 128}));
  EXPECT_FALSE(opt.exploring());
  int at_64 = 0;
  for (size_t i = 30; i < chosen.size(); ++i) at_64 += chosen[i] == 64;
  EXPECT_GE(at_64, 27) << "the last 30 runs";
  EXPECT_NEAR(opt.cost_per_epoch(64), 25, 1e-12);
  EXPECT_NEAR(opt.stop_cost(), 2 * opt.mean_epochs(64) * 25, 1e-9);
  EXPECT_EQ(opt.runs(), 60);
}

TEST(BatchSizeOptimizer, TheStateFileKeepsEveryDecision) {
  Job job;
  const std::string path =
      (fs::temp_directory_path() / ("greenai_bso_" + std::to_string(::getpid()) + ".json"))
          .string();
  fs::remove(path);
  BatchSizeOptimizer live({32, 64, 128, 256}, 64, 2, 20);
  std::mt19937_64 world(5);
  for (int i = 0; i < 25; ++i) {
    // Each run reloads the file, as separate invocations of the job would.
    BatchSizeOptimizer stored =
        BatchSizeOptimizer::load_or_create(path, {32, 64, 128, 256}, 64, 2, 20);
    std::mt19937_64 a(100 + i), b(100 + i);
    const int from_file = stored.next(a);
    ASSERT_EQ(from_file, live.next(b)) << "run " << i;
    EXPECT_EQ(stored.stop_cost(), live.stop_cost());
    const BatchSizeRun r = job.run(from_file, live.stop_cost(), world);
    stored.observe(r);
    live.observe(r);
    stored.save(path);
  }
  EXPECT_EQ(BatchSizeOptimizer::load_or_create(path, {}, 0, 2, 20).to_json().dump(),
            live.to_json().dump());
  try {
    BatchSizeOptimizer::load_or_create(path, {16, 32}, 16, 2, 20);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("made for other batch sizes"), std::string::npos);
  }
  fs::remove(path);
}

TEST(BatchSizeOptimizer, BadInputIsRefusedWithTheReason) {
  EXPECT_THROW(BatchSizeOptimizer({}, 1, 2, 10), Error);
  EXPECT_THROW(BatchSizeOptimizer({32, 32}, 32, 2, 10), Error);
  EXPECT_THROW(BatchSizeOptimizer({32, 64}, 16, 2, 10), Error);
  EXPECT_THROW(BatchSizeOptimizer({32, 64}, 32, 1, 10), Error);
  BatchSizeOptimizer opt({32, 64}, 32, 2, 10);
  EXPECT_THROW(opt.observe({48, 3, 10, true}), Error);
  EXPECT_THROW(opt.observe({32, 0, 10, true}), Error);
  EXPECT_THROW(opt.observe({32, 3, -1, true}), Error);
}

// Property: mutated state files load or fail with greenai::Error, never crash; what loads can
// still choose.
TEST(BatchSizeOptimizer, MutatedStateFilesLoadOrFailCleanly) {
  BatchSizeOptimizer opt({32, 64, 128}, 64, 2, 20);
  Job job;
  std::mt19937_64 rng(3), world(4);
  for (int i = 0; i < 6; ++i) {
    const int b = opt.next(rng);
    opt.observe(job.run(b, opt.stop_cost(), world));
  }
  const std::string good = opt.to_json().dump();
  std::mt19937 mutate(9);
  for (int i = 0; i < 400; ++i) {
    std::string text = good;
    for (int k = 0; k < 1 + static_cast<int>(mutate() % 3); ++k) {
      const size_t at = mutate() % text.size();
      if (mutate() % 2)
        text[at] = "0123456789-.,:[]{}\"ex"[mutate() % 21];
      else
        text.erase(at, 1 + mutate() % 6);
      if (text.empty()) text = "{";
    }
    try {
      BatchSizeOptimizer loaded = BatchSizeOptimizer::from_json(util::Json::parse(text), "t.json");
      std::mt19937_64 r(1);
      const int b = loaded.next(r);
      EXPECT_GT(b, 0);
    } catch (const Error&) {
    }
  }
}

}  // namespace
}  // namespace greenai::tune
