#include "greenai/nn/model.h"

#include <gtest/gtest.h>

#include "greenai/error.h"
#include "greenai/nn/checkpoint.h"
#include "greenai/nn/dataset.h"
#include "support/temp_dir.h"

namespace greenai::nn {
namespace {

using greenai::testing::TempDir;

TEST(ModelSpec, TheMissionsModelsHaveTheRightSizes) {
  // 784x1200 + 1200 + 1200x1200 + 1200 + 1200x10 + 10
  EXPECT_EQ(teacher_spec().parameter_count(), 2'395'210);
  EXPECT_EQ(teacher_spec().describe(), "784-1200-1200-10");
  EXPECT_EQ(student_spec(20).parameter_count(), 784 * 20 + 20 + 20 * 10 + 10);
  EXPECT_EQ(cnn_spec().parameter_count(), 16 * 9 + 16 + 12544 * 128 + 128 + 1280 + 10);
  EXPECT_EQ(cnn_spec().macs(), 28 * 28 * 16 * 9 + 12544 * 128 + 1280);
  EXPECT_EQ(teacher_spec().macs(), 784 * 1200 + 1200 * 1200 + 12000);
}

TEST(ModelSpec, JsonRoundTripAndValidation) {
  for (const ModelSpec& spec : {teacher_spec(), student_spec(7), cnn_spec()}) {
    EXPECT_EQ(ModelSpec::from_json(util::Json::parse(spec.to_json().dump())), spec);
  }
  util::Json broken = student_spec(20).to_json();
  ModelSpec bad = student_spec(20);
  bad.layers.back().in = 21;
  try {
    bad.validate();
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "cannot build model: layer 3 (linear) expects 21 features, gets 20");
  }
  EXPECT_THROW(spec_by_name("giant", 20), Error);
  EXPECT_THROW(student_spec(0), Error);
}

TEST(Net, ForwardShapes) {
  torch::manual_seed(0);
  torch::Tensor images = torch::rand({4, 1, 28, 28});
  for (const ModelSpec& spec : {teacher_spec(), student_spec(20), cnn_spec()}) {
    Net net(spec);
    net->eval();
    EXPECT_EQ(net->forward(images).sizes(), (std::vector<int64_t>{4, 10})) << spec.arch;
    int64_t counted = 0;
    for (const auto& p : net->parameters()) counted += p.numel();
    EXPECT_EQ(counted, spec.parameter_count());
  }
}

TEST(Checkpoint, RoundTripGivesTheSameOutputs) {
  TempDir dir;
  torch::manual_seed(3);
  Net net(cnn_spec());
  net->eval();
  const std::string path = dir.file("m.pt");
  save_checkpoint(net, path, util::Json::object().set("accuracy", 0.5));
  Checkpoint back = load_checkpoint(path);
  back.net->eval();
  torch::Tensor x = torch::rand({2, 1, 28, 28});
  EXPECT_TRUE(torch::equal(net->forward(x), back.net->forward(x)));
  EXPECT_EQ(back.info.at("accuracy").number(), 0.5);
  EXPECT_EQ(back.net->spec(), cnn_spec());
}

TEST(Checkpoint, TruncatedMismatchedOrOrphanedFilesAreRefused) {
  TempDir dir;
  Net net(student_spec(5));
  const std::string path = dir.file("s.pt");
  save_checkpoint(net, path, util::Json::object());
  auto message = [&] {
    try {
      load_checkpoint(path);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string weights = TempDir::read(path);
  dir.write("s.pt", weights.substr(0, weights.size() - 10));
  EXPECT_NE(message().find("(truncated or replaced)"), std::string::npos) << message();
  std::string flipped = weights;
  flipped[weights.size() / 2] = static_cast<char>(flipped[weights.size() / 2] ^ 1);
  dir.write("s.pt", flipped);
  EXPECT_NE(message().find("do not match the CRC-32"), std::string::npos) << message();
  // Weights of another architecture, with metadata that claims this one.
  dir.write("s.pt", weights);
  Net other(student_spec(6));
  save_checkpoint(other, dir.file("o.pt"), util::Json::object());
  std::string other_weights = TempDir::read(dir.file("o.pt"));
  util::Json meta = util::Json::parse(TempDir::read(metadata_path(path)));
  auto [crc, size] = file_crc32(dir.file("o.pt"));
  meta.set("weights_bytes", static_cast<double>(size))
      .set("weights_crc32", static_cast<double>(crc));
  dir.write("s.pt", other_weights);
  dir.write("s.pt.json", meta.dump());
  EXPECT_NE(message().find("the weights do not fit the architecture"), std::string::npos)
      << message();
  std::filesystem::remove(metadata_path(path));
  EXPECT_NE(message().find("its metadata " + path + ".json is missing"), std::string::npos)
      << message();
  dir.write("s.pt.json", "{not json");
  EXPECT_NE(message().find("bad metadata"), std::string::npos) << message();
}

TEST(Dataset, MissingFilesNameThePackage) {
  try {
    load_fashion_mnist(Split::kTest, "/nonexistent");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(
        e.what(),
        "cannot read Fashion-MNIST (path=/nonexistent/t10k-images-idx3-ubyte.gz): no such file");
    EXPECT_NE(e.hint().find("apt-get install dataset-fashion-mnist"), std::string::npos);
  }
}

}  // namespace
}  // namespace greenai::nn
