#include "greenai/compress/prune.h"

#include <gtest/gtest.h>

#include "greenai/error.h"

namespace greenai::compress {
namespace {

// Tensors are handles: the copies returned here alias the module's parameters.
torch::Tensor weight(nn::Net& net, size_t layer) {
  return net->layer(layer)->named_parameters(false)["weight"];
}
torch::Tensor bias(nn::Net& net, size_t layer) {
  return net->layer(layer)->named_parameters(false)["bias"];
}

TEST(MagnitudePrune, ZeroesTheSmallestWeightsGlobally) {
  nn::Net net(nn::mlp_spec("tiny", {2, 2, 1}, 0.0, {2}));
  torch::NoGradGuard no_grad;
  weight(net, 0).copy_(torch::tensor({{0.1f, -5.0f}, {0.3f, 2.0f}}));
  weight(net, 2).copy_(torch::tensor({{-0.2f, 4.0f}}));
  Masks masks = magnitude_prune(net, 0.5);  // 3 of 6 weights: 0.1, -0.2, 0.3
  EXPECT_TRUE(torch::equal(weight(net, 0), torch::tensor({{0.0f, -5.0f}, {0.0f, 2.0f}})));
  EXPECT_TRUE(torch::equal(weight(net, 2), torch::tensor({{0.0f, 4.0f}})));
  EXPECT_DOUBLE_EQ(masks.sparsity(), 0.5);
  // Fine-tuning moves pruned weights; apply() puts them back to zero, the rest untouched.
  weight(net, 0).add_(1.0f);
  masks.apply();
  EXPECT_TRUE(torch::equal(weight(net, 0), torch::tensor({{0.0f, -4.0f}, {0.0f, 3.0f}})));
  EXPECT_EQ(nn::count_nonzero(net), 3 + 3);  // three weights and three biases
}

TEST(MagnitudePrune, HitsTheRequestedSparsityOnTheTeacher) {
  torch::manual_seed(0);
  nn::Net net(nn::teacher_spec());
  Masks masks = magnitude_prune(net, 0.9);
  EXPECT_NEAR(masks.sparsity(), 0.9, 1e-6);
  EXPECT_THROW(magnitude_prune(net, 1.0), Error);
}

TEST(StructuredPrune, TeacherToTenPercentShrinksBothHiddenLayers) {
  std::vector<int64_t> keep = structured_keep_counts(nn::teacher_spec(), 0.9);
  ASSERT_EQ(keep.size(), 2u);
  // Weights: 784h + h^2 + 10h <= 0.1 x 2,392,800 = 239,280 gives h = 232 (238,032; 233 gives
  // 239,291).
  EXPECT_EQ(keep[0], 232);
  EXPECT_EQ(keep[1], 232);
  torch::manual_seed(0);
  nn::Net small = structured_prune(nn::Net(nn::teacher_spec()), 0.9);
  EXPECT_EQ(small->spec().describe(), "784-232-232-10");
  double kept = static_cast<double>(prunable_weight_count(small->spec())) /
                prunable_weight_count(nn::teacher_spec());
  EXPECT_NEAR(kept, 0.10, 0.002);
  EXPECT_EQ(small->spec().arch, "teacher-pruned");
}

TEST(StructuredPrune, RemovingDeadNeuronsLeavesOutputsUnchanged) {
  torch::manual_seed(1);
  nn::Net net(nn::mlp_spec("mlp", {6, 8, 4}, 0.0, {6}));
  {
    torch::NoGradGuard no_grad;
    // Neurons 1, 4, 6, 7 get the largest incoming weights; the other four are dead (zero
    // weights and bias), so removing exactly them cannot change the output.
    weight(net, 0).zero_();
    bias(net, 0).zero_();
    for (int64_t n : {1, 4, 6, 7}) {
      weight(net, 0)[n].uniform_(0.5, 1.0);
      bias(net, 0)[n].fill_(0.1);
    }
  }
  nn::Net small = structured_prune(net, 0.5);
  ASSERT_EQ(small->spec().describe(), "6-4-4");
  torch::Tensor x = torch::rand({5, 6});
  EXPECT_TRUE(torch::allclose(net->forward(x), small->forward(x), 1e-6, 1e-6));
}

TEST(StructuredPrune, ConvChannelsCarryTheirFlattenedColumns) {
  torch::manual_seed(2);
  nn::ModelSpec spec;
  spec.arch = "cnn";
  spec.input_shape = {1, 4, 4};
  spec.layers = {
      {.kind = nn::LayerKind::kConv2d, .in = 1, .out = 4, .kernel = 3, .stride = 1, .padding = 1},
      {nn::LayerKind::kReLU},
      {nn::LayerKind::kFlatten},
      {nn::LayerKind::kLinear, 4 * 16, 3}};
  nn::Net net(spec);
  {
    torch::NoGradGuard no_grad;
    for (int64_t c : {0, 2}) {  // dead channels
      weight(net, 0)[c].zero_();
      bias(net, 0)[c].zero_();
    }
  }
  nn::Net small = structured_prune(net, 0.5);
  EXPECT_EQ(small->spec().layers[0].out, 2);
  EXPECT_EQ(small->spec().layers[3].in, 2 * 16);
  torch::Tensor x = torch::rand({2, 1, 4, 4});
  EXPECT_TRUE(torch::allclose(net->forward(x), small->forward(x), 1e-6, 1e-6));
}

TEST(StructuredPrune, NeedsAHiddenLayer) {
  EXPECT_THROW(structured_keep_counts(nn::mlp_spec("linear", {4, 2}, 0.0, {4}), 0.5), Error);
}

}  // namespace
}  // namespace greenai::compress
