// A linear program kept between solves, over COIN-OR CLP (Debian's coinor-libclp-dev): the MPC
// re-solves one model every hour with new bounds and costs, and CLP's dual simplex starts from
// the last basis. Minimises sum cost x over lo <= x <= hi, row_lo <= A x <= row_hi.
#pragma once

#include <memory>
#include <utility>
#include <vector>

namespace greenai::site::internal {

class LinearProgram {
 public:
  LinearProgram();
  ~LinearProgram();
  LinearProgram(const LinearProgram&) = delete;
  LinearProgram& operator=(const LinearProgram&) = delete;

  /// Before finish(): adds a variable or a row (its terms as (variable, coefficient)).
  int add_variable(double lo, double hi, double cost);
  int add_row(double lo, double hi, const std::vector<std::pair<int, double>>& terms);
  /// Builds the solver's model; after it only bounds and costs change.
  void finish();

  void set_variable_bounds(int v, double lo, double hi);
  void set_row_bounds(int r, double lo, double hi);
  void set_cost(int v, double cost);
  /// Solves (from the last basis); false when not proven optimal.
  bool solve();
  double value(int v) const;
  double objective() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// +infinity as the solver reads it.
inline constexpr double kUnbounded = 1e30;

}  // namespace greenai::site::internal
