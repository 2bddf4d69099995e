#include "greenai/pipeline/pipeline.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "greenai/error.h"
#include "greenai/track/process.h"
#include "support/temp_dir.h"
#include "track/fakes.h"

namespace greenai::pipeline {
namespace {

using greenai::testing::TempDir;
using util::Json;

VariantResult variant(const std::string& name, double accuracy, double energy) {
  VariantResult v;
  v.name = name, v.technique = "t of " + name, v.runtime = "r", v.file = name + ".pt";
  v.accuracy = accuracy, v.parameters = 10, v.size_bytes = 1000, v.energy_per_1000_j = energy;
  return v;
}

PipelineResults sample() {
  PipelineResults r;
  r.version = "v", r.created = "2026-12-02T00:00:00Z", r.dataset = "d", r.test_examples = 100;
  r.hardware = {"x86_64",
                "CPU",
                2,
                {"avx2"},
                {"avx512f"},
                "avx2",
                {"avx2", "reference"},
                {{"GREENAI_EDGE_KERNELS", "avx2"}}};
  r.precision_advice = {"fp32", false, 0.02, "bf16 50x slower"};
  r.variants = {variant("teacher", 0.9, 2.0), variant("teacher-int8", 0.895, 0.1)};
  r.skipped = {{"teacher-bf16", "bf16", "bf16 50x slower", 0.02}};
  r.stages = {{"train", 1, 2, 3, false}, {"quantize", 4, 5, 6, true}};
  r.recommendation = Recommendation{"teacher-int8", 1.0};
  r.total_j = 7, r.emissions_kg = 8, r.seconds = 9;
  r.provenance = {"estimated", {{"cpu", "estimated: a model"}}, "FR", 1.2};
  compare_with_teacher(r.variants, "teacher");
  return r;
}

TEST(PipelineResults, RoundTripsThroughJson) {
  const PipelineResults r = sample();
  const Json json = r.to_json();
  EXPECT_EQ(json.at("schema").string(), "greenai.pipeline/1");
  EXPECT_EQ(PipelineResults::from_json(json).to_json().dump(), json.dump());
  PipelineResults none = r;
  none.recommendation.reset();
  EXPECT_TRUE(json.at("recommendation").is_object());
  EXPECT_TRUE(none.to_json().at("recommendation").is_null());
  EXPECT_FALSE(PipelineResults::from_json(none.to_json()).recommendation);
}

TEST(PipelineResults, AMissingOrMistypedFieldIsNamed) {
  Json json = sample().to_json();
  Json variants = Json::array();
  variants.push(sample().variants[0].to_json().set("accuracy", "high"));
  json.set("variants", variants);
  try {
    PipelineResults::from_json(json);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "cannot read variant teacher (field=accuracy): missing or not a number");
  }
  Json old = sample().to_json().set("schema", "greenai.pipeline/0");
  EXPECT_THROW(PipelineResults::from_json(old), Error);
  Json no_teacher = sample().to_json().set("teacher", "nobody");
  EXPECT_THROW(PipelineResults::from_json(no_teacher), Error);
}

TEST(Recommendation, IsTheLeastEnergyWithinTheBudget) {
  std::vector<VariantResult> v{variant("teacher", 0.900, 10), variant("a", 0.895, 2),
                               variant("b", 0.880, 0.5), variant("c", 0.890, 1)};
  compare_with_teacher(v, "teacher");
  EXPECT_NEAR(v[2].accuracy_drop_points, 2.0, 1e-9);
  EXPECT_DOUBLE_EQ(v[1].energy_ratio, 5.0);
  EXPECT_EQ(least_energy_within(v, 1.0), "c");  // exactly one point: within
  EXPECT_EQ(least_energy_within(v, 0.5), "a");
  EXPECT_EQ(least_energy_within(v, 2.0), "b");
  EXPECT_EQ(least_energy_within(v, 0.0), "teacher");
  v[0].accuracy_drop_points = 5;  // as if no variant were within the budget
  for (auto& x : v) x.accuracy_drop_points = 5;
  EXPECT_FALSE(least_energy_within(v, 1.0));
  EXPECT_THROW(compare_with_teacher(v, "nobody"), Error);
}

// Every "{stage:NAME}" a stage uses names a stage that runs before it.
void expect_wired_by_name(const Recipe& recipe) {
  std::vector<std::string> before{"hardware"};
  for (const RecipeStage& s : recipe.stages) {
    std::vector<std::string> texts = s.spec.args;
    texts.insert(texts.end(), s.spec.inputs.begin(), s.spec.inputs.end());
    for (const std::string& t : texts)
      for (size_t at = t.find("{stage:"); at != std::string::npos; at = t.find("{stage:", at + 1)) {
        const std::string name = t.substr(at + 7, t.find('}', at) - at - 7);
        EXPECT_NE(std::find(before.begin(), before.end(), name), before.end())
            << s.spec.name << " uses " << name << " before it runs";
      }
    before.push_back(s.spec.name);
  }
  for (const VariantSpec& v : recipe.variants)
    EXPECT_NE(std::find(before.begin(), before.end(), v.stage), before.end()) << v.name;
}

TEST(Recipe, MakesTheBf16TeacherOnlyWhereItPays) {
  PipelineOptions options;
  options.quick = true;
  const Recipe with = make_recipe(options, {"bf16", true, 1.8, "1.8x faster"});
  const Recipe without = make_recipe(options, {"fp32", false, 0.02, "55x slower"});
  auto names = [](const Recipe& r) {
    std::vector<std::string> n;
    for (const auto& v : r.variants) n.push_back(v.name);
    return n;
  };
  EXPECT_EQ(names(with), (std::vector<std::string>{"teacher", "teacher-bf16", "student", "pruned",
                                                   "teacher-int8", "pruned-int8", "student-int8"}));
  EXPECT_EQ(names(without),
            (std::vector<std::string>{"teacher", "student", "pruned", "teacher-int8", "pruned-int8",
                                      "student-int8"}));
  EXPECT_TRUE(with.skipped.empty());
  ASSERT_EQ(without.skipped.size(), 1u);
  EXPECT_EQ(without.skipped[0].reason, "55x slower");
  EXPECT_EQ(with.stages.size(), 4 + 3 + 7 + 1u);
  EXPECT_EQ(without.stages.size(), 3 + 3 + 6 + 1u);
  expect_wired_by_name(with);
  expect_wired_by_name(without);
  // --quick's slice, unless told another.
  const auto& teacher = with.stages[0].spec.args;
  EXPECT_NE(std::find(teacher.begin(), teacher.end(), "10000"), teacher.end());
  options.limit_train = "300";
  const std::vector<std::string> limited = make_recipe(options, {}).stages[0].spec.args;
  EXPECT_NE(std::find(limited.begin(), limited.end(), "300"), limited.end());
}

// A stage program: prints its arguments as JSON, logs a line, fails when asked to.
std::string fake_program(const TempDir& dir) {
  const std::string path =
      dir.write("stage.sh",
                "#!/bin/sh\n"
                "echo \"working on $*\" >&2\n"
                "if [ \"$1\" = fail ]; then echo 'bad input: x' >&2; exit 3; fi\n"
                "if [ \"$1\" = write ]; then echo made > \"$2\"; fi\n"
                "printf '{\"args\": \"%s\"}\\n' \"$*\"\n");
  ::chmod(path.c_str(), 0755);
  return path;
}

struct Harness {
  TempDir dir;
  meter::DescendantsUsage* tree = nullptr;
  std::unique_ptr<track::Tracker> tracker;
  std::vector<StageEvent::Kind> events;
  Harness() {
    auto usage = std::make_unique<meter::DescendantsUsage>(::getpid());
    tree = usage.get();
    meter::SensorSet sensors;
    sensors.sensors.push_back(std::make_unique<track::testing::FakeSensor>());
    tracker = std::make_unique<track::Tracker>(std::move(sensors), std::move(usage),
                                               track::TrackerOptions{});
    tracker->start();
  }
  RunnerOptions options() {
    return {dir.file("out"), false, fake_program(dir), {"--pue", "1"}, "cpu"};
  }
  Progress progress() {
    return [this](const StageEvent& e) { events.push_back(e.kind); };
  }
};

TEST(StageEvent, HeadingAndOutcomeMakeOneLinePerStage) {
  const StageSpec spec{"t", "train the teacher", {}, {}};
  StageResult done{"t", "/out/stages/t-0123", {}, 12.34, 45.6, 0, false};
  using K = StageEvent::Kind;
  const StageEvent finished{K::kFinished, spec, 3, 15, &done};
  EXPECT_EQ(finished.heading(), "[ 3/15] train the teacher" + std::string(27, ' '));
  EXPECT_EQ(finished.outcome(), "   12.3 s,     45.6 J\n");
  EXPECT_EQ((StageEvent{K::kStarted, spec, 3, 0, &done}.heading().rfind("[ 3/..] train", 0)), 0u);
  EXPECT_EQ((StageEvent{K::kStarted, spec, 3, 15, &done}.outcome()), "");
  EXPECT_EQ((StageEvent{K::kCached, spec, 3, 15, &done}.outcome()), " cached (t-0123)\n");
  EXPECT_EQ((StageEvent{K::kFailed, spec, 3, 15, nullptr}.outcome()), " failed\n");
  EXPECT_EQ((StageEvent{K::kStopped, spec, 3, 15, nullptr}.outcome()), " stopped\n");
}

TEST(StageRunner, CachesByContentAndWiresStagesByName) {
  Harness h;
  track::Supervisor supervisor(*h.tree, {SIGTERM});
  const StageSpec a{"a", "stage a", {"write", "{dir}/model.pt"}, {}};
  const StageSpec b{"b", "stage b", {"read", "{stage:a}/model.pt"}, {"{stage:a}/model.pt"}};
  {
    StageRunner runner(h.options(), *h.tracker, supervisor, h.progress());
    const StageResult ra = runner.run(a, 1, 2);
    EXPECT_FALSE(ra.cached);
    EXPECT_TRUE(std::filesystem::exists(ra.dir + "/stage.json"));
    EXPECT_EQ(ra.output.at("args").string(), "write " + ra.dir + "/model.pt --pue 1");
    const StageResult rb = runner.run(b, 2, 2);
    EXPECT_EQ(rb.output.at("args").string(), "read " + ra.dir + "/model.pt --pue 1");
    EXPECT_EQ(TempDir::read(rb.dir + "/log.txt"),
              "working on read " + ra.dir + "/model.pt --pue 1\n");
  }
  StageRunner again(h.options(), *h.tracker, supervisor, h.progress());
  EXPECT_TRUE(again.run(a, 1, 2).cached);
  EXPECT_TRUE(again.run(b, 2, 2).cached);
  using K = StageEvent::Kind;
  EXPECT_EQ(h.events, (std::vector<K>{K::kStarted, K::kFinished, K::kStarted, K::kFinished,
                                      K::kCached, K::kCached}));
  // Another CPU, or other input bytes: another key, run anew.
  RunnerOptions elsewhere = h.options();
  elsewhere.cache_salt = "another cpu";
  StageRunner there(elsewhere, *h.tracker, supervisor, {});
  EXPECT_FALSE(there.run(a, 1, 2).cached);
  EXPECT_THROW(there.result("nobody"), Error);
}

TEST(StageRunner, AFailedStageSaysWhyAndIsNotCached) {
  Harness h;
  track::Supervisor supervisor(*h.tree, {SIGTERM});
  StageRunner runner(h.options(), *h.tracker, supervisor, h.progress());
  const StageSpec bad{"bad", "a failing stage", {"fail"}, {}};
  try {
    runner.run(bad, 1, 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("(stage=bad): exit status 3: bad input: x"),
              std::string::npos)
        << e.what();
    EXPECT_NE(e.hint().find("log.txt"), std::string::npos);
  }
  EXPECT_EQ(h.events.back(), StageEvent::Kind::kFailed);
  EXPECT_THROW(runner.run({"in", "missing input", {"x"}, {h.dir.file("none")}}, 1, 1), Error);
}

TEST(StageRunner, AStopSignalEndsTheRunBeforeTheNextStage) {
  Harness h;
  track::Supervisor supervisor(*h.tree, {SIGUSR2});
  StageRunner runner(h.options(), *h.tracker, supervisor, h.progress());
  ::raise(SIGUSR2);  // caught and recorded: no child runs
  EXPECT_EQ(supervisor.received_signal(), SIGUSR2);
  try {
    runner.run({"a", "stage a", {"x"}, {}}, 1, 1);
    FAIL() << "not stopped";
  } catch (const Stopped& s) {
    EXPECT_EQ(s.signal, SIGUSR2);
    EXPECT_EQ(s.stage, "a");
  }
}

TEST(Supervisor, ReturnsTheExitStatusAndForwardsSignals) {
  Harness h;
  track::Supervisor supervisor(*h.tree, {SIGTERM});
  EXPECT_EQ(supervisor.run({"sh", "-c", "exit 3"}), 3);
  EXPECT_EQ(supervisor.run({"sh", "-c", "kill -KILL $$"}), 128 + SIGKILL);
  EXPECT_EQ(supervisor.received_signal(), 0);
  // The child signals us; we pass it on; it dies of it (the default disposition is restored
  // for it even though we catch the signal).
  EXPECT_EQ(supervisor.run({"sh", "-c", "kill -TERM $PPID; sleep 5"}), 128 + SIGTERM);
  EXPECT_EQ(supervisor.received_signal(), SIGTERM);
  EXPECT_THROW(supervisor.run({"/nonexistent/program"}), Error);
}

TEST(ResolveProgram, TellsMissingFromNotExecutable) {
  TempDir dir;
  EXPECT_EQ(track::resolve_program("sh"), 0);
  EXPECT_EQ(track::resolve_program("/nonexistent/x"), ENOENT);
  EXPECT_EQ(track::resolve_program("greenai-surely-not-a-program"), ENOENT);
  EXPECT_EQ(track::resolve_program(dir.path()), EACCES);
  const std::string plain = dir.write("plain", "x");
  EXPECT_EQ(track::resolve_program(plain), EACCES);
  EXPECT_FALSE(track::self_executable().empty());
}

}  // namespace
}  // namespace greenai::pipeline
