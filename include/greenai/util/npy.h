// Reader of NumPy's array files: `.npy` (one array) and `.npz` (a zip of `.npy` files, as
// `np.savez` writes it), the format a PyTorch user writes data in with one line. No NumPy, no
// LibTorch. Format: numpy.lib.format (NEP 1): the magic "\x93NUMPY", a version byte pair, a
// little-endian header length (2 bytes in version 1, 4 in 2 and 3), a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (N, C, H, W), } and the data in C order.
//
//   greenai::util::NpyArray x = greenai::util::read_array("x_test.npy");
//   std::vector<float> pixels = x.to_float32();   // x.shape == {N, 1, 28, 28}
//   std::vector<int64_t> labels = greenai::util::read_array("data.npz", "y").to_int64();
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace greenai::util {

/// The element types read: NumPy's float32/64, int8/16/32/64, uint8/16/32/64 and bool, either
/// byte order.
enum class NpyType {
  kFloat32,
  kFloat64,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUint8,
  kUint16,
  kUint32,
  kUint64,
  kBool
};

/// One array, its data in C (row-major) order and native byte order.
struct NpyArray {
  NpyType type = NpyType::kFloat32;
  std::string descr;            ///< As written, e.g. "<f4".
  std::vector<uint64_t> shape;  ///< Empty for a 0-d array (one element).
  std::vector<uint8_t> data;    ///< elements() x element_bytes() bytes.

  uint64_t elements() const;
  size_t element_bytes() const;
  /// Every element as float (float64 and integers rounded to the nearest float).
  std::vector<float> to_float32() const;
  /// Every element as int64; throws greenai::Error for floating-point data and for uint64 values
  /// above INT64_MAX.
  std::vector<int64_t> to_int64() const;
};

/// Largest array accepted, in bytes (guards against absurd headers): 16 GiB.
inline constexpr uint64_t kMaxNpyBytes = 1ULL << 34;

/// Parses the bytes of a `.npy` file. Throws greenai::Error naming `origin` for a bad magic or
/// version, a malformed header, an unsupported dtype, Fortran order, or data shorter or longer
/// than the shape says.
NpyArray parse_npy(const std::vector<uint8_t>& bytes, const std::string& origin);

/// The arrays of a `.npz` file in the order stored, each under its name (the member's name less
/// ".npy"). Members must be stored uncompressed (`np.savez`); a compressed member
/// (`np.savez_compressed`) or a ZIP64 archive is refused with a message saying so.
std::vector<std::pair<std::string, NpyArray>> parse_npz(const std::vector<uint8_t>& bytes,
                                                        const std::string& origin);

/// Reads `path`: a `.npy` file, or from a `.npz` file the array called `name`, or its only array
/// when `name` is empty. Throws greenai::Error for a missing file, a missing or ambiguous name,
/// and everything parse_npy refuses.
NpyArray read_array(const std::string& path, const std::string& name = {});

/// Writes float32 data of `shape` as a .npy file (version 1, little-endian "<f4", C order),
/// atomically. Throws greenai::Error when the file cannot be written or the shape does not hold
/// data.size() elements.
void write_npy(const std::string& path, const std::vector<float>& data,
               const std::vector<uint64_t>& shape);

}  // namespace greenai::util
