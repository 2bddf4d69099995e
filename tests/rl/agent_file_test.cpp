#include "greenai/rl/agent_file.h"

#include <gtest/gtest.h>

#include "greenai/rl/q_learning.h"
#include "support/errors.h"
#include "support/temp_dir.h"

namespace greenai::rl {
namespace {

using greenai::testing::error_of;
using greenai::testing::TempDir;

TEST(AgentFile, AQTableRoundTripsWithItsContext) {
  TempDir dir;
  QTable q({.bins = {1, 2, 3, 1}}, 3);
  q.at(2, 1) = 4.5;
  AgentContext context;
  context.env = "cartpole-energy";
  context.energy_penalty = 2;
  context.training = util::Json::object().set("seconds", 1.5);
  const std::string path = dir.file("agent.rl");
  q.save(path, context);
  const LoadedAgent back = load_agent(path);
  EXPECT_EQ(back.agent->kind(), "q");
  EXPECT_EQ(back.agent->actions(), 3);
  EXPECT_EQ(back.context.env, "cartpole-energy");
  EXPECT_EQ(back.context.energy_penalty, 2);
  EXPECT_EQ(back.context.training.at("seconds").number(), 1.5);
  EXPECT_EQ(back.config.energy_penalty, 2);
  EXPECT_EQ(dynamic_cast<const QTable&>(*back.agent).at(2, 1), 4.5);
}

TEST(AgentFile, EachBadFileSaysWhat) {
  TempDir dir;
  const std::string missing = dir.file("none.rl");
  EXPECT_EQ(error_of([&] { load_agent(missing); }),
            "cannot read agent (path=" + missing + "): no such file or unreadable");
  const std::string broken = dir.write("broken.rl", "{\"format\": ");
  EXPECT_EQ(error_of([&] {
              load_agent(broken);
            }).rfind("cannot read agent (path=" + broken + "): not valid JSON: ", 0),
            0u);
  const std::string other = dir.write("other.rl", R"({"format": "something-else", "table": {}})");
  EXPECT_EQ(error_of([&] { load_agent(other); }),
            "cannot read agent (path=" + other + "): not a greenai agent file");
  QTable q({.bins = {1, 1, 1, 1}}, 3);
  const std::string no_env =
      dir.write("no-env.rl", util::Json::object()
                                 .set("format", "greenai-rl-agent-1")
                                 .set("context", util::Json::object().set("energy_penalty", 1.0))
                                 .set("table", q.to_json())
                                 .dump());
  EXPECT_EQ(error_of([&] { load_agent(no_env); }),
            "cannot read agent (path=" + no_env + "): no environment recorded");
  // Three actions (push left, push right, coast) saved for plain CartPole's two.
  const std::string mismatch = dir.file("mismatch.rl");
  q.save(mismatch, {});
  EXPECT_EQ(error_of([&] { load_agent(mismatch); }),
            "cannot read agent (path=" + mismatch +
                "): its actions do not match its environment cartpole");
  const std::string binary = dir.write("dqn.pt", "PK\x03\x04 an archive");
  EXPECT_EQ(error_of([&] { load_agent(binary); }),
            "cannot read agent (path=" + binary +
                "): not a JSON agent: a DQN agent needs LibTorch to be read");
  const std::string bad_context = dir.write("ctx.pt", "PK");
  auto loader = [](const std::string&, std::string* context) -> std::unique_ptr<Agent> {
    *context = "{not json";
    return std::make_unique<QTable>(Discretiser{}, 2);
  };
  EXPECT_EQ(
      error_of([&] {
        load_agent(bad_context, loader);
      }).rfind("cannot read agent (path=" + bad_context + "): its context is not valid JSON: ", 0),
      0u);
}

}  // namespace
}  // namespace greenai::rl

namespace greenai::rl {
namespace {

TEST(EvalReport, JsonSaysWhetherItSolvedCartPole) {
  EvalReport r;
  r.episodes = 100;
  r.mean_return = 480;
  r.work_per_step_j = 0.25;
  util::Json json = r.to_json();
  EXPECT_TRUE(json.at("solved").boolean());
  EXPECT_EQ(json.at("work_per_step_j").number(), 0.25);
  r.mean_return = 474.9;
  EXPECT_FALSE(r.to_json().at("solved").boolean());
}

}  // namespace
}  // namespace greenai::rl
