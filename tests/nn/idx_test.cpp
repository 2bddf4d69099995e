#include "greenai/nn/idx.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>

#include "greenai/error.h"
#include "support/errors.h"
#include "support/temp_dir.h"

namespace greenai::nn {
namespace {

using greenai::testing::TempDir;

std::vector<uint8_t> idx_bytes(const std::vector<uint32_t>& dims, uint8_t type = 0x08) {
  std::vector<uint8_t> bytes = {0, 0, type, static_cast<uint8_t>(dims.size())};
  uint64_t count = 1;
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<uint8_t>(d >> shift));
    count *= d;
  }
  for (uint64_t i = 0; i < count; ++i) bytes.push_back(static_cast<uint8_t>(i * 7));
  return bytes;
}

std::string write_gz(const TempDir& dir, const std::string& name,
                     const std::vector<uint8_t>& bytes) {
  std::string path = dir.file(name);
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
  return path;
}

using greenai::testing::error_of;

TEST(Idx, ReadsGzipAndPlainFiles) {
  TempDir dir;
  auto bytes = idx_bytes({3, 2, 2});
  IdxArray gz = read_idx(write_gz(dir, "a.gz", bytes));
  EXPECT_EQ(gz.dims, (std::vector<uint32_t>{3, 2, 2}));
  ASSERT_EQ(gz.data.size(), 12u);
  EXPECT_EQ(gz.data[5], 35);
  std::string plain = dir.write("a.idx", std::string(bytes.begin(), bytes.end()));
  EXPECT_EQ(read_idx(plain).data, gz.data);
}

TEST(Idx, RefusesMalformedFilesWithTheReason) {
  auto bytes = idx_bytes({4, 3});
  auto wrong_magic = bytes;
  wrong_magic[0] = 0x1f;
  EXPECT_EQ(error_of([&] { parse_idx(wrong_magic, "x"); }),
            "cannot read IDX file (path=x): wrong magic number 0x1f000802: not an IDX file");
  EXPECT_EQ(
      error_of([&] { parse_idx(idx_bytes({2}, 0x0D), "x"); }),
      "cannot read IDX file (path=x): unsupported element type 0x0d (only 0x08, unsigned byte)");
  auto truncated = bytes;
  truncated.resize(truncated.size() - 5);
  EXPECT_EQ(
      error_of([&] { parse_idx(truncated, "x"); }),
      "cannot read IDX file (path=x): truncated: header promises 12 bytes of data, file has 7");
  auto trailing = bytes;
  trailing.push_back(1);
  EXPECT_EQ(error_of([&] { parse_idx(trailing, "x"); }),
            "cannot read IDX file (path=x): 1 bytes after the data the header describes");
  EXPECT_EQ(error_of([&] {
              parse_idx({0, 0}, "x");
            }),
            "cannot read IDX file (path=x): truncated: shorter than the 4-byte magic number");
  EXPECT_EQ(error_of([&] {
              parse_idx({0, 0, 8, 3, 0, 0}, "x");
            }),
            "cannot read IDX file (path=x): truncated inside the header");
  EXPECT_EQ(error_of([&] {
              parse_idx({0, 0, 8, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "x");
            }),
            "cannot read IDX file (path=x): dimensions multiply past the size limit");
  EXPECT_EQ(error_of([] { read_idx("/nonexistent.gz"); }),
            "cannot read IDX file (path=/nonexistent.gz): No such file or directory");
}

TEST(Idx, TruncatedOrCorruptGzipIsAnError) {
  TempDir dir;
  std::string path = write_gz(dir, "t.gz", idx_bytes({200, 28, 28}));
  std::string gz = TempDir::read(path);
  std::string cut = dir.write("cut.gz", gz.substr(0, gz.size() / 2));
  EXPECT_NE(error_of([&] { read_idx(cut); }).find("cannot read IDX file (path=" + cut + ")"),
            std::string::npos);
  std::string flipped = gz;
  for (size_t i = 20; i < 60; ++i) flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
  std::string corrupt = dir.write("corrupt.gz", flipped);
  EXPECT_NE(
      error_of([&] { read_idx(corrupt); }).find("cannot read IDX file (path=" + corrupt + ")"),
      std::string::npos);
}

TEST(IdxFuzz, MutatedBytesParseOrFailCleanly) {
  std::mt19937 rng(7);
  const auto valid = idx_bytes({5, 3, 2});
  for (int i = 0; i < 5000; ++i) {
    auto bytes = valid;
    int mutations = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations; ++m) {
      size_t pos = rng() % bytes.size();
      switch (rng() % 3) {
        case 0:
          bytes[pos] = static_cast<uint8_t>(rng());
          break;
        case 1:
          bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(pos));
          break;
        case 2:
          bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(pos),
                       static_cast<uint8_t>(rng()));
          break;
      }
      if (bytes.empty()) break;
    }
    try {
      IdxArray a = parse_idx(bytes, "fuzz");
      uint64_t count = 1;
      for (uint32_t d : a.dims) count *= d;
      ASSERT_EQ(count, a.data.size());
    } catch (const Error& e) {
      ASSERT_EQ(std::string(e.what()).rfind("cannot read IDX file (path=fuzz): ", 0), 0u);
    }
  }
}

}  // namespace
}  // namespace greenai::nn

#include "greenai/nn/dataset.h"

namespace greenai::nn {
namespace {

// A Fashion-MNIST folder of 3 tiny examples, written by the test.
void write_fake_fashion_mnist(const TempDir& dir, uint8_t last_label) {
  std::vector<uint8_t> images = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 28, 0, 0, 0, 28};
  for (int i = 0; i < 3 * 784; ++i) images.push_back(static_cast<uint8_t>(i % 256));
  std::vector<uint8_t> labels = {0, 0, 8, 1, 0, 0, 0, 3, 1, 9, last_label};
  for (const char* split : {"train", "t10k"}) {
    write_gz(dir, std::string(split) + "-images-idx3-ubyte.gz", images);
    write_gz(dir, std::string(split) + "-labels-idx1-ubyte.gz", labels);
  }
}

TEST(Dataset, LoadsImagesScaledToUnitRangeAndLabels) {
  TempDir dir;
  write_fake_fashion_mnist(dir, 4);
  Dataset data = load_fashion_mnist(Split::kTrain, dir.path());
  EXPECT_EQ(data.images.sizes(), (std::vector<int64_t>{3, 1, 28, 28}));
  // Pixel i of the file holds i % 256; scaled by 1/255.
  EXPECT_FLOAT_EQ(data.images.flatten()[0].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(data.images.flatten()[255].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(data.images.flatten()[258].item<float>(), 2.0f / 255);
  EXPECT_EQ(data.labels[1].item<int64_t>(), 9);
  EXPECT_EQ(data.head(2).size(), 2);
  EXPECT_EQ(data.head(0).size(), 3);
}

TEST(Dataset, LabelOutOfRangeIsRefused) {
  TempDir dir;
  write_fake_fashion_mnist(dir, 12);
  try {
    load_fashion_mnist(Split::kTest, dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot read Fashion-MNIST (path=" + dir.path() +
                                         "/t10k-labels-idx1-ubyte.gz): label 12 outside 0..9");
  }
}

}  // namespace
}  // namespace greenai::nn
