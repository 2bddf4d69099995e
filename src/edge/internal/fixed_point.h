// Fixed-point requantization of int32 accumulators to int8, as gemmlowp and TensorFlow Lite
// define it, so results match theirs bit for bit.
//
// A real multiplier M in (0, 1) (s_in x s_w / s_out) is stored as a 31-bit mantissa q in
// [2^30, 2^31) and a power-of-two exponent: M = q x 2^(shift - 31). Applying it is a rounding
// doubling high multiply (the high 32 bits of 2 x a x q, rounded to nearest) followed by a
// rounding right shift (round half away from zero).
#pragma once

#include <math.h>
#include <stdint.h>

namespace greenai::edge::internal {

/// a + b modulo 2^32: the accumulator arithmetic of every int8 kernel, as vpdpbusd and vpaddd
/// wrap. A well-formed model never comes near (|acc| <= |bias| + 255 x 127 x inputs); a
/// malformed one must still give the same bytes on every kernel and no undefined behaviour.
inline int32_t wrapping_add(int64_t a, int64_t b) {
  return static_cast<int32_t>(
      static_cast<uint32_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b)));
}

/// Splits M into (q, shift) with M = q x 2^(shift - 31); q = 0 for M = 0.
inline void quantize_multiplier(double m, int32_t* q, int32_t* shift) {
  if (m == 0) {
    *q = 0;
    *shift = 0;
    return;
  }
  int exponent = 0;
  const double mantissa = frexp(m, &exponent);  // m = mantissa x 2^exponent, mantissa in [0.5, 1)
  int64_t q64 = static_cast<int64_t>(llround(mantissa * (1LL << 31)));
  if (q64 == (1LL << 31)) {  // rounding reached 1.0
    q64 /= 2;
    ++exponent;
  }
  *q = static_cast<int32_t>(q64);
  *shift = exponent;
}

/// High 32 bits of 2 a b, rounded to nearest; saturates the single overflow case.
inline int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
  return static_cast<int32_t>((ab + nudge) / (1LL << 31));
}

/// x / 2^exponent rounded to nearest, ties away from zero.
inline int32_t rounding_divide_by_pot(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((1LL << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/// acc x M, with M given as (q, shift). Multipliers of 1 or more (shift > 0) are rare; their
/// left shift saturates instead of overflowing.
inline int32_t multiply_by_quantized_multiplier(int32_t acc, int32_t q, int32_t shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  int64_t shifted = static_cast<int64_t>(acc) * (int64_t{1} << left);
  if (shifted > INT32_MAX) shifted = INT32_MAX;
  if (shifted < INT32_MIN) shifted = INT32_MIN;
  return rounding_divide_by_pot(
      saturating_rounding_doubling_high_mul(static_cast<int32_t>(shifted), q), right);
}

}  // namespace greenai::edge::internal
