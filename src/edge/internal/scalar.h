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

/// roundf(v) (half away from zero) as an int, for |v| < 2^23 (callers clamp first); no libm
/// call. A NaN gives `nan_value`.
inline int round_half_away(float v, int nan_value) {
  if (!(v == v)) return nan_value;
  const int i = static_cast<int>(v);             // toward zero
  const float rest = v - static_cast<float>(i);  // exact: both below 2^23
  return rest >= 0.5f ? i + 1 : rest <= -0.5f ? i - 1 : i;
}

}  // namespace greenai::edge::internal
