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

}  // namespace greenai::edge::internal
