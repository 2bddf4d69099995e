// A short training run on a slice of the real Fashion-MNIST (installed by scripts/setup).
#include "greenai/nn/trainer.h"

#include <gtest/gtest.h>

#include "greenai/compress/distill.h"
#include "greenai/error.h"

namespace greenai::nn {
namespace {

struct Slices {
  Slices() {
    train = load_fashion_mnist(Split::kTrain).head(3000);
    test = load_fashion_mnist(Split::kTest).head(1000);
  }
  Dataset train, test;
};

const Slices& slices() {
  static const Slices data;
  return data;
}

TEST(TrainProgress, SaysTheEpochTheBarAndTheTimeLeft) {
  const TrainProgress p{2, 5, 25, 100, 0.43121, 51234.4, 70};
  EXPECT_EQ(p.to_text(/*bar=*/true),
            "epoch 2/5 [#####...............]  25% loss 0.4312, 51234 ex/s, 1 min 10 s left");
  EXPECT_EQ(p.to_text(/*bar=*/false), "epoch 2/5  25% loss 0.4312, 51234 ex/s, 1 min 10 s left");
}

TEST(Trainer, LossFallsAndAccuracyRisesAboveChance) {
  torch::set_num_threads(1);
  Net net(student_spec(32));
  EvalReport untrained = evaluate(net, slices().test);
  auto tracker = track::Tracker::for_this_process({.background_sampler = false});
  tracker->start();
  TrainOptions options{.epochs = 3, .batch_size = 64, .seed = 5, .tracker = tracker.get()};
  TrainReport report = train(net, slices().train, slices().test, cross_entropy_loss(), options);
  tracker->stop();
  ASSERT_EQ(report.epochs.size(), 3u);
  EXPECT_LT(report.epochs[2].train_loss, report.epochs[0].train_loss);
  EXPECT_GT(report.final_test.accuracy, 0.6);  // chance is 0.1
  EXPECT_GT(report.final_test.accuracy, untrained.accuracy + 0.3);
  EXPECT_GT(report.energy.total_j(), 0);
  EXPECT_GT(report.epochs[0].energy.total_j(), 0);
  EXPECT_GT(report.final_test.energy.total_j(), 0);
}

TEST(Trainer, SameSeedSameWeights) {
  torch::set_num_threads(1);
  auto run = [] {
    Net net(student_spec(8));
    TrainOptions options{.epochs = 1, .batch_size = 100, .seed = 11, .evaluate_every_epoch = false};
    torch::manual_seed(options.seed);
    Net fresh(student_spec(8));
    train(fresh, slices().train.head(500), slices().test.head(100), cross_entropy_loss(), options);
    return fresh->parameters()[0].clone();
  };
  EXPECT_TRUE(torch::equal(run(), run()));
}

TEST(Trainer, Bf16TrainsToo) {
  torch::set_num_threads(1);
  torch::manual_seed(3);
  Net net(student_spec(32));
  TrainOptions options{.epochs = 2, .batch_size = 64, .precision = Precision::kBf16, .seed = 3};
  TrainReport report = train(net, slices().train, slices().test, cross_entropy_loss(), options);
  EXPECT_GT(report.final_test.accuracy, 0.6);
  EXPECT_EQ(net->parameters()[0].scalar_type(), torch::kFloat32) << "master weights stay fp32";
}

TEST(Trainer, DistillationLossTrainsAStudent) {
  torch::set_num_threads(1);
  torch::manual_seed(4);
  Net teacher(student_spec(64));
  train(teacher, slices().train, slices().test, cross_entropy_loss(),
        {.epochs = 2, .batch_size = 64, .seed = 4});
  torch::Tensor logits = predict_logits(teacher, slices().train);
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{3000, 10}));
  Net student(student_spec(16));
  TrainReport report =
      train(student, slices().train, slices().test,
            compress::distillation_loss_fn(logits, {.temperature = 4, .alpha = 0.7}),
            {.epochs = 3, .batch_size = 64, .seed = 4});
  EXPECT_GT(report.final_test.accuracy, 0.5);  // chance is 0.1; soft targets learn slower here
}

TEST(Trainer, BadOptionsAreRefused) {
  Net net(student_spec(4));
  EXPECT_THROW(train(net, slices().train, slices().test, cross_entropy_loss(), {.epochs = 0}),
               Error);
  EXPECT_THROW(train(net, slices().train, slices().test, cross_entropy_loss(), {.batch_size = 0}),
               Error);
  EXPECT_THROW(
      train(net, slices().train, slices().test, cross_entropy_loss(), {.optimizer = "lion"}),
      Error);
  EXPECT_THROW(train(net, slices().train, slices().test, cross_entropy_loss(),
                     {.precision = Precision::kFp16}),
               Error);
}

}  // namespace
}  // namespace greenai::nn

namespace greenai::nn {
namespace {

TEST(TrainReport, JsonHoldsEveryEpochAndTheFinalTest) {
  TrainReport r;
  EpochReport e;
  e.epoch = 1;
  e.train_loss = 0.5;
  e.energy[meter::Component::kCpu] = 2;
  r.epochs = {e, e};
  r.epochs[1].epoch = 2;
  r.epochs[1].test.examples = 100;
  r.epochs[1].test.accuracy = 0.75;
  r.final_test = r.epochs[1].test;
  r.energy[meter::Component::kCpu] = 4;
  const util::Json json = r.to_json();
  ASSERT_EQ(json.at("epochs").items().size(), 2u);
  EXPECT_EQ(json.at("epochs").items()[0].find("test"), nullptr);  // not evaluated that epoch
  EXPECT_EQ(json.at("epochs").items()[1].at("test").at("accuracy").number(), 0.75);
  EXPECT_EQ(json.at("energy").at("total_j").number(), 4);
  EXPECT_EQ(json.at("test").at("examples").number(), 100);
}

}  // namespace
}  // namespace greenai::nn
