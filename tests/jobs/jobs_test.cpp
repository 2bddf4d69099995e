// The jobs end to end on a slice of the real Fashion-MNIST (installed by scripts/setup): what
// `greenai train`, `quantize`, `eval` and `bench` print is what these calls return.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "greenai/error.h"
#include "greenai/jobs/convert.h"
#include "greenai/jobs/measure.h"
#include "greenai/jobs/training.h"
#include "greenai/track/measurements.h"
#include "support/temp_dir.h"

namespace greenai::jobs {
namespace {

std::unique_ptr<track::Tracker> quiet_tracker() {
  return track::Tracker::for_this_process({.background_sampler = false});
}

TrainData slice() {
  return {nn::load_fashion_mnist(nn::Split::kTrain).head(2000),
          nn::load_fashion_mnist(nn::Split::kTest).head(500)};
}

TrainSetup one_epoch() {
  TrainSetup s;
  s.options.epochs = 1;
  s.options.batch_size = 64;
  s.options.seed = 3;
  return s;
}

TEST(Jobs, TrainEvaluateConvertAndBenchAgreeWithEachOther) {
  torch::set_num_threads(1);
  testing::TempDir dir;
  const TrainData data = slice();
  const std::string ckpt = dir.file("student.pt");
  auto tracker = quiet_tracker();
  const TrainedModel t =
      train_model("student", nn::student_spec(16), one_epoch(), data, ckpt, *tracker);
  ASSERT_TRUE(std::filesystem::exists(ckpt));
  EXPECT_EQ(t.info.at("accuracy").number(), t.report.final_test.accuracy);
  EXPECT_EQ(t.size_bytes, static_cast<double>(std::filesystem::file_size(ckpt)));
  EXPECT_NE(t.summary.find("wrote " + ckpt), std::string::npos) << t.summary;
  EXPECT_NE(t.epochs_text().find("epoch 1: loss"), std::string::npos);

  // The checkpoint evaluated again gives the trainer's own final accuracy.
  auto eval_tracker = quiet_tracker();
  const CheckpointEvaluation c =
      evaluate_checkpoint(ckpt, data.test, {.batch = 1000, .repeat = 1}, *eval_tracker);
  EXPECT_EQ(c.accuracy, t.report.final_test.accuracy);
  EXPECT_EQ(c.test_examples, 500);
  // The pipeline reads the same JSON through its own type.
  EXPECT_EQ(track::EvalSummary::from_json(c.to_json()).accuracy, c.accuracy);

  // fp32 on the edge runtime reproduces it; int8 stays close.
  ConvertRequest fp32{.model = ckpt, .out = dir.file("s.edge"), .precision = "fp32"};
  const ConvertResult written = convert_model(fp32);
  EXPECT_EQ(written.size_bytes, std::filesystem::file_size(dir.file("s.edge")));
  EXPECT_NE(written.to_text().find("fp32 edge model"), std::string::npos) << written.to_text();
  auto edge_tracker = quiet_tracker();
  const EdgeEvaluation e =
      evaluate_edge(dir.file("s.edge"), data.test, {.batch = 64, .repeat = 1}, *edge_tracker);
  EXPECT_NEAR(e.accuracy, c.accuracy, 0.002);
  ASSERT_EQ(e.predictions.size(), 500u);
  EXPECT_EQ(track::EvalSummary::from_json(e.to_json()).test_examples, 500);
  ConvertRequest int8{.model = ckpt, .out = dir.file("s8.edge"), .calibration = 200};
  const ConvertResult quantized = convert_model(int8);
  EXPECT_LT(quantized.size_bytes, written.size_bytes);
  auto int8_tracker = quiet_tracker();
  EXPECT_NEAR(evaluate_edge(dir.file("s8.edge"), data.test, {.repeat = 1}, *int8_tracker).accuracy,
              c.accuracy, 0.03);

  auto bench_tracker = quiet_tracker();
  const BenchReport b = bench_models({ckpt, dir.file("s8.edge")}, {1, 4}, 0.02, *bench_tracker);
  ASSERT_EQ(b.rows.size(), 4u);
  EXPECT_EQ(b.rows[1].batch, 4);
  EXPECT_EQ(b.rows[2].model, dir.file("s8.edge"));
  EXPECT_EQ(b.rows[2].runtime.rfind("edge ", 0), 0u) << b.rows[2].runtime;
  for (const auto& row : b.rows) EXPECT_GE(row.calls, 20);
  const track::BenchRow back = track::BenchRow::from_json(b.to_json().at("results").items()[3]);
  EXPECT_EQ(back.p50_us, b.rows[3].p50_us);
  EXPECT_NE(b.to_text().find("hardware: "), std::string::npos);
}

TEST(Jobs, ConvertRefusesWhatItCannotHonourBeforeWriting) {
  testing::TempDir dir;
  const TrainData data = slice();
  auto tracker = quiet_tracker();
  TrainSetup setup = one_epoch();
  setup.options.evaluate_every_epoch = false;
  const std::string ckpt = dir.file("s.pt");
  train_model("student", nn::student_spec(4), setup, data, ckpt, *tracker);
  auto refused = [&](ConvertRequest r, const std::string& words) {
    r.model = r.model.empty() ? ckpt : r.model;
    r.out = dir.file("out.bin");
    try {
      convert_model(r);
      ADD_FAILURE() << "accepted: " << words;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(dir.file("out.bin")));
  };
  refused({.format = "onnx", .precision = "dynamic"}, "edge format only");
  refused({.format = "tflite"}, "unknown format");
  refused({.precision = "int4"}, "unknown precision");
  ConvertRequest kept{.precision = "fp32"};
  kept.keep_fp32_auto = true;
  refused(kept, "int8 only");
  convert_model({.model = ckpt, .out = dir.file("s.edge"), .precision = "fp32"});
  refused({.model = dir.file("s.edge"), .precision = "int8"}, "precision is fixed");
  // An edge file with no precision asked keeps its own.
  const ConvertResult copy =
      convert_model({.model = dir.file("s.edge"), .out = dir.file("copy.edge"), .precision = ""});
  EXPECT_EQ(copy.precision, "unchanged");
  EXPECT_TRUE(copy.from_edge);
}

TEST(Jobs, PruningWithoutFineTuningReportsTheAccuracyRightAfter) {
  testing::TempDir dir;
  const TrainData data = slice();
  auto tracker = quiet_tracker();
  train_model("student", nn::student_spec(32), one_epoch(), data, dir.file("s.pt"), *tracker);
  TrainSetup none = one_epoch();
  none.options.epochs = 0;
  none.options.batch_size = 0;  // the default of the source's architecture
  auto prune_tracker = quiet_tracker();
  const Pruned p = prune_model({dir.file("s.pt"), 0.5, /*structured=*/true}, none, data,
                               dir.file("p.pt"), *prune_tracker);
  EXPECT_LT(p.weights_left, p.weights_before);
  EXPECT_EQ(p.accuracy, p.right_after.accuracy);
  EXPECT_TRUE(p.report.epochs.empty());
  EXPECT_EQ(p.info.at("method").string(), "structured");
  EXPECT_EQ(p.info.at("hyperparameters").at("batch").number(), default_batch("student"));
  EXPECT_EQ(default_batch("student"), 128);
  EXPECT_EQ(default_batch("teacher"), 512);
  EXPECT_NE(p.summary.find("structured pruning"), std::string::npos) << p.summary;
}

}  // namespace
}  // namespace greenai::jobs
