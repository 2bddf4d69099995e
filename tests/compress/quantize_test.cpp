#include "greenai/compress/quantize.h"

#include <gtest/gtest.h>

#include <cstring>

#include "greenai/edge/format.h"
#include "greenai/edge/greenai_edge.h"
#include "greenai/error.h"

namespace greenai::compress {
namespace {

// Runs an edge file's bytes with the edge runtime.
std::vector<float> run_edge(const std::vector<uint8_t>& bytes, const torch::Tensor& x) {
  const edge::AlignedBytes aligned(bytes);
  greenai_edge_model* model = nullptr;
  char error[256] = "";
  const int batch = static_cast<int>(x.size(0));
  EXPECT_EQ(
      greenai_edge_load_memory(aligned.data(), aligned.size(), batch, &model, error, sizeof error),
      GREENAI_EDGE_OK)
      << error;
  if (!model) return {};
  std::vector<float> y(greenai_edge_output_size(model) * batch);
  torch::Tensor input = x.contiguous();
  EXPECT_EQ(greenai_edge_infer(model, batch, input.data_ptr<float>(),
                               static_cast<size_t>(input.numel()), y.data(), y.size()),
            GREENAI_EDGE_OK);
  greenai_edge_free(model);
  return y;
}

// Zero is exact by construction (it is the zero point); the range must fit the 256 codes.
TEST(ActivationQuant, TheRangeAndZeroAreCovered) {
  for (auto [lo, hi] :
       std::vector<std::pair<float, float>>{{0, 1}, {-3, 5}, {2, 9}, {-4, -1}, {0, 0}}) {
    ActivationQuant q = choose_activation_quant(lo, hi);
    EXPECT_GE(q.zero_point, -128);
    EXPECT_LE(q.zero_point, 127);
    const float represented_lo = q.scale * static_cast<float>(-128 - q.zero_point);
    const float represented_hi = q.scale * static_cast<float>(127 - q.zero_point);
    EXPECT_LE(represented_lo, std::min(lo, 0.0f) + q.scale) << lo << " " << hi;
    EXPECT_GE(represented_hi, std::max(hi, 0.0f) - q.scale) << lo << " " << hi;
  }
  ActivationQuant pixels = choose_activation_quant(0, 1);  // Fashion-MNIST inputs
  EXPECT_FLOAT_EQ(pixels.scale, 1.0f / 255);
  EXPECT_EQ(pixels.zero_point, -128);
}

TEST(ExportFp32, MatchesLibTorch) {
  torch::manual_seed(1);
  for (const nn::ModelSpec& spec : {nn::student_spec(16), nn::cnn_spec()}) {
    nn::Net net(spec);
    net->eval();
    torch::Tensor x = torch::rand({3, 1, 28, 28});
    torch::Tensor expected = net->forward(x).detach();
    std::vector<float> got = run_edge(export_edge_fp32(net), x);
    ASSERT_EQ(got.size(), static_cast<size_t>(expected.numel()));
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], expected.flatten()[static_cast<int64_t>(i)].item<float>(), 1e-4)
          << spec.arch;
  }
}

TEST(QuantizeToEdge, Int8OutputsTrackFp32) {
  torch::manual_seed(2);
  for (const nn::ModelSpec& spec : {nn::student_spec(32), nn::cnn_spec()}) {
    nn::Net net(spec);
    net->eval();
    torch::Tensor calibration = torch::rand({64, 1, 28, 28});
    torch::Tensor x = torch::rand({16, 1, 28, 28});
    torch::Tensor expected = net->forward(x).detach();
    for (Observer observer : {Observer::kMinMax, Observer::kPercentile}) {
      std::vector<float> got = run_edge(quantize_to_edge(net, calibration, {observer}), x);
      ASSERT_EQ(got.size(), static_cast<size_t>(expected.numel()));
      torch::Tensor y = torch::from_blob(got.data(), expected.sizes()).clone();
      // Quantization noise relative to the spread of the outputs.
      const double error = (y - expected).abs().max().item<double>();
      const double spread = (expected.max() - expected.min()).item<double>();
      EXPECT_LT(error, 0.05 * spread) << spec.arch << " " << to_string(observer);
    }
  }
}

// Dynamic quantization needs no calibration data; inputs far outside any calibration range
// (here 50 times larger) still track fp32, since each example gets its own input scale.
TEST(QuantizeDynamic, TracksFp32AtAnyInputScale) {
  torch::manual_seed(4);
  for (const nn::ModelSpec& spec : {nn::student_spec(32), nn::cnn_spec()}) {
    nn::Net net(spec);
    net->eval();
    const std::vector<uint8_t> bytes = quantize_dynamic_to_edge(net);
    for (double gain : {1.0, 50.0}) {
      torch::Tensor x = torch::rand({8, 1, 28, 28}) * gain;
      torch::Tensor expected = net->forward(x).detach();
      std::vector<float> got = run_edge(bytes, x);
      ASSERT_EQ(got.size(), static_cast<size_t>(expected.numel()));
      torch::Tensor y = torch::from_blob(got.data(), expected.sizes()).clone();
      const double error = (y - expected).abs().max().item<double>();
      const double spread = (expected.max() - expected.min()).item<double>();
      EXPECT_LT(error, 0.05 * spread) << spec.arch << " x" << gain;
      EXPECT_GT(error, 0.0);  // quantized, not fp32
    }
  }
}

// Mean squared error of quantizing `values` to int8 over [lo, hi] and back.
double quantization_mse(const torch::Tensor& values, std::pair<float, float> range) {
  ActivationQuant q = choose_activation_quant(range.first, range.second);
  torch::Tensor codes = torch::clamp(torch::round(values / q.scale) + q.zero_point, -128, 127);
  return ((codes - q.zero_point) * q.scale - values).pow(2).mean().item<double>();
}

TEST(Observers, HistogramMinimisesTheQuantizationError) {
  torch::manual_seed(4);
  torch::Tensor gaussian = torch::randn({100000});
  gaussian.narrow(0, 0, 5).fill_(30.0f);  // a few outliers (0.005 %)
  // Laplace(0, 1) by inverse CDF: heavy tails, where clipping pays.
  torch::Tensor u = torch::rand({100000}) - 0.5;
  torch::Tensor laplace = -torch::sign(u) * torch::log1p(-2 * u.abs());
  for (const torch::Tensor& values : {gaussian, laplace}) {
    const double minmax = quantization_mse(values, observe_range(values, Observer::kMinMax));
    const double histogram = quantization_mse(values, observe_range(values, Observer::kHistogram));
    EXPECT_LT(histogram, minmax);
  }
  auto [lo_p, hi_p] = observe_range(gaussian, Observer::kPercentile);
  EXPECT_LT(hi_p, 5.0f);  // the 99.99th percentile ignores the 5 outliers
  EXPECT_GT(lo_p, -5.0f);
  EXPECT_EQ(parse_observer("histogram"), Observer::kHistogram);
  EXPECT_STREQ(to_string(Observer::kHistogram), "histogram");
}

TEST(QuantizeToEdge, KeepFp32LeavesALayerInFloat) {
  torch::manual_seed(5);
  nn::Net net(nn::student_spec(32));
  net->eval();
  torch::Tensor calibration = torch::rand({64, 1, 28, 28}), x = torch::rand({8, 1, 28, 28});
  torch::Tensor expected = net->forward(x).detach();
  QuantizeOptions options;
  options.keep_fp32 = {1};  // the 784 -> 32 layer: Flatten is layer 0
  std::vector<uint8_t> mixed = quantize_to_edge(net, calibration, options);
  std::vector<uint8_t> all_int8 = quantize_to_edge(net, calibration);
  EXPECT_GT(mixed.size(), all_int8.size() + 784 * 32 * 2);  // fp32 weights are 4 bytes, not 1
  auto error = [&](const std::vector<uint8_t>& bytes) {
    std::vector<float> y = run_edge(bytes, x);
    return (torch::from_blob(y.data(), expected.sizes()) - expected).abs().max().item<double>();
  };
  EXPECT_LT(error(mixed), error(all_int8));
  options.keep_fp32 = {0};  // Flatten has no weights
  EXPECT_THROW(quantize_to_edge(net, calibration, options), Error);
}

TEST(LayerSensitivity, TriesEveryWeightedLayerAlone) {
  torch::manual_seed(6);
  nn::Net net(nn::mlp_spec("mlp", {784, 24, 16, 10}, 0.0));
  net->eval();
  torch::Tensor images = torch::rand({200, 1, 28, 28});
  torch::Tensor labels = net->forward(images).argmax(1);  // the fp32 model is 100 % right
  auto trials = layer_sensitivity(net, images.narrow(0, 0, 64), images, labels);
  ASSERT_EQ(trials.size(), 4u);  // all-int8, then layers 1, 3 and 5 (0 is Flatten)
  EXPECT_EQ(trials[0].layer, kNoLayer);
  EXPECT_EQ(trials[1].layer, 1u);
  EXPECT_EQ(trials[3].layer, 5u);
  for (const auto& t : trials) {
    EXPECT_GT(t.accuracy, 0.5);  // int8 mostly agrees with fp32
    EXPECT_LE(t.accuracy, 1.0);
  }
}

TEST(QuantizeToEdge, FileIsAboutAQuarterOfFp32) {
  nn::Net net(nn::teacher_spec());
  const size_t fp32 = export_edge_fp32(net).size();
  const size_t int8 = quantize_to_edge(net, torch::rand({8, 1, 28, 28})).size();
  EXPECT_NEAR(static_cast<double>(fp32) / static_cast<double>(int8), 4.0, 0.1);
  // At most 1 % over the raw int8 weights, int32 biases and requantization parameters.
  const double raw = 2'392'800 + 2410 * 4 * 3;
  EXPECT_LT(static_cast<double>(int8), raw * 1.01);
}

TEST(QuantizeToEdge, UnsupportedLayersAndOptionsAreRefused) {
  nn::ModelSpec policy = nn::mlp_spec("policy", {4, 8, 2}, 0.0, {4});
  policy.layers.push_back({nn::LayerKind::kTanh});
  EXPECT_THROW(export_edge_fp32(nn::Net(policy)), Error);
  EXPECT_THROW(parse_observer("kl-divergence"), Error);
  EXPECT_THROW(quantize_to_edge(nn::Net(nn::student_spec(4)), torch::rand({0, 1, 28, 28})), Error);
}

}  // namespace
}  // namespace greenai::compress

namespace greenai::compress {
namespace {

// 7-bit weights: every code of every int8 layer in [-63, 63], outputs still tracking fp32.
TEST(QuantizeToEdge, SevenBitWeightsStayInTheirRange) {
  torch::manual_seed(6);
  nn::Net net(nn::student_spec(32));
  net->eval();
  torch::Tensor calibration = torch::rand({64, 1, 28, 28}), x = torch::rand({8, 1, 28, 28});
  torch::Tensor expected = net->forward(x).detach();
  QuantizeOptions options;
  options.weight_bits = 7;
  const std::vector<uint8_t> bytes = quantize_to_edge(net, calibration, options);
  edge::FileView view;
  ASSERT_EQ(edge::view_file(bytes, &view), "");
  int weighted = 0, largest = 0;
  for (const edge::OpRecord& op : view.ops) {
    if (op.kind != edge::OpKind::kQLinear) continue;
    ++weighted;
    const auto* w = static_cast<const int8_t*>(view.tensor(op.weight));
    for (uint64_t i = 0; i < view.count(op.weight); ++i)
      largest = std::max(largest, std::abs(w[i]));
  }
  EXPECT_EQ(weighted, 2);
  EXPECT_EQ(largest, 63);  // the largest weight of a channel maps to the limit
  const std::vector<float> y = run_edge(bytes, x);
  const double error = (torch::from_blob(const_cast<float*>(y.data()), expected.sizes()) - expected)
                           .abs()
                           .max()
                           .item<double>();
  EXPECT_LT(error, 0.1 * (expected.max() - expected.min()).item<double>());
  options.weight_bits = 6;
  EXPECT_THROW(quantize_to_edge(net, calibration, options), Error);
}

}  // namespace
}  // namespace greenai::compress
