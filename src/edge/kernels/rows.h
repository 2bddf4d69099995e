// Where the int8 GEMMs find their inputs: the four bytes of group g (inputs 4g..4g+3) of row e.
// A GEMM over dense rows (QLinear, DynamicLinear, im2col rows) and a direct convolution (each
// output pixel a row, read from the padded image: see ConvImage) differ only here.
#pragma once

#include <stdint.h>

namespace greenai::edge::internal {

/// Rows of `stride` bytes, one after another.
struct DenseRows {
  const uint8_t* u;
  long stride;
  const uint8_t* at(int e, int g) const { return u + e * stride + 4 * g; }
  DenseRows from(int n) const { return {u + n * stride, stride}; }
};

/// Output pixels of a direct convolution: pixel e's group g at image + pixel[e] + group[g].
struct ImageRows {
  const uint8_t* image;
  const int32_t* pixel;
  const int32_t* group;
  const uint8_t* at(int e, int g) const { return image + pixel[e] + group[g]; }
  ImageRows from(int n) const { return {image, pixel + n, group}; }
};

}  // namespace greenai::edge::internal
