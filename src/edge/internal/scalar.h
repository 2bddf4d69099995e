// min, max and clamp with std::min/std::max/std::clamp's exact semantics (a NaN argument comes out
// as std's would), for the runtime, which builds without the C++ standard library (records.h).
#pragma once

namespace greenai::edge::internal {

template <typename T>
constexpr T min_of(T a, T b) {
  return b < a ? b : a;
}
template <typename T>
constexpr T max_of(T a, T b) {
  return a < b ? b : a;
}
template <typename T>
constexpr T clamp_of(T v, T lo, T hi) {
  return v < lo ? lo : hi < v ? hi : v;
}

/// The nearest integer to v, ties to even (as ONNX's QuantizeLinear rounds and as the float
/// requantization is defined), for |v| < 2^22: adding and taking away 1.5 x 2^23 leaves v rounded
/// in the default rounding mode.
inline float round_half_even(float v) {
  constexpr float kMagic = 12582912.0f;
  return (v + kMagic) - kMagic;
}

}  // namespace greenai::edge::internal
