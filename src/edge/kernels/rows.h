// Where the int8 GEMMs find their inputs: the four bytes of group g (inputs 4g..4g+3) of row e.
// A GEMM over dense rows (QLinear, DynamicLinear, im2col rows) and a direct convolution (each
// output pixel a row, read from the padded image: see ConvImage) differ only here.
#pragma once

#include <stdint.h>

namespace greenai::edge::internal {

/// Rows of `stride` bytes, one after another.
struct DenseRows {
  /// Any number of rows: the GEMMs take a leftover tile, and wider tiles for few rows.
  static constexpr bool kPadded = false;
  const uint8_t* u;
  long stride;
  const uint8_t* at(int e, int g) const { return u + e * stride + 4 * g; }
  DenseRows from(int n) const { return {u + n * stride, stride}; }
};

/// Output pixels of a direct convolution: pixel e's group g at image + pixel[e] + group[g].
/// The pixel count is padded (conv_image's padded_pixels: offsets repeated, results discarded)
/// to a multiple of every tile height, so the GEMMs over them are compiled without leftover or
/// wide tiles: a smaller runtime.
struct ImageRows {
  static constexpr bool kPadded = true;
  const uint8_t* image;
  const int32_t* pixel;
  const int32_t* group;
  const uint8_t* at(int e, int g) const { return image + pixel[e] + group[g]; }
  ImageRows from(int n) const { return {image, pixel + n, group}; }
};

}  // namespace greenai::edge::internal
