// Reader of the IDX format (MNIST, Fashion-MNIST), gzip-compressed or plain, without LibTorch.
//
// Layout: two zero bytes, an element type byte (0x08 = unsigned byte, the only one these data
// sets use), the number of dimensions, each dimension as a big-endian uint32, then the data.
//
//   greenai::nn::IdxArray images = greenai::nn::read_idx("train-images-idx3-ubyte.gz");
//   // images.dims == {60000, 28, 28}, images.data.size() == 60000 * 784
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace greenai::nn {

struct IdxArray {
  std::vector<uint32_t> dims;
  std::vector<uint8_t> data;  ///< Row-major, dims multiplied out.
};

/// Largest number of elements accepted (guards against absurd headers).
inline constexpr uint64_t kMaxIdxElements = 1ULL << 31;

/// Reads a .gz or plain IDX file of unsigned bytes. Throws greenai::Error naming the file for a
/// missing, truncated, corrupt or wrongly typed file.
IdxArray read_idx(const std::string& path);

/// Parses IDX bytes already in memory (used by read_idx and by the fuzz tests).
IdxArray parse_idx(const std::vector<uint8_t>& bytes, const std::string& origin);

}  // namespace greenai::nn
