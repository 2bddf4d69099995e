// The linear program over CLP (internal/linear_program.h).
#include "site/internal/linear_program.h"

#include <ClpSimplex.hpp>
#include <CoinPackedMatrix.hpp>

#include "greenai/error.h"

namespace greenai::site::internal {

struct LinearProgram::Impl {
  std::vector<double> lo, hi, cost, row_lo, row_hi;
  std::vector<int> rows, columns;
  std::vector<double> elements;
  ClpSimplex model;
  bool finished = false;
};

LinearProgram::LinearProgram() : impl_(std::make_unique<Impl>()) { impl_->model.setLogLevel(0); }
LinearProgram::~LinearProgram() = default;

int LinearProgram::add_variable(double lo, double hi, double cost) {
  impl_->lo.push_back(lo);
  impl_->hi.push_back(hi);
  impl_->cost.push_back(cost);
  return static_cast<int>(impl_->lo.size()) - 1;
}

int LinearProgram::add_row(double lo, double hi, const std::vector<std::pair<int, double>>& terms) {
  const int r = static_cast<int>(impl_->row_lo.size());
  impl_->row_lo.push_back(lo);
  impl_->row_hi.push_back(hi);
  for (const auto& [v, c] : terms) {
    impl_->rows.push_back(r);
    impl_->columns.push_back(v);
    impl_->elements.push_back(c);
  }
  return r;
}

void LinearProgram::finish() {
  Impl& m = *impl_;
  const CoinPackedMatrix matrix(/*colordered=*/true, m.rows.data(), m.columns.data(),
                                m.elements.data(), static_cast<CoinBigIndex>(m.elements.size()));
  CoinPackedMatrix full(matrix);
  // Columns or rows without a term still count.
  full.setDimensions(static_cast<int>(m.row_lo.size()), static_cast<int>(m.lo.size()));
  m.model.loadProblem(full, m.lo.data(), m.hi.data(), m.cost.data(), m.row_lo.data(),
                      m.row_hi.data());
  m.finished = true;
}

void LinearProgram::set_variable_bounds(int v, double lo, double hi) {
  impl_->model.setColumnBounds(v, lo, hi);
}
void LinearProgram::set_row_bounds(int r, double lo, double hi) {
  impl_->model.setRowBounds(r, lo, hi);
}
void LinearProgram::set_cost(int v, double cost) { impl_->model.setObjectiveCoefficient(v, cost); }

bool LinearProgram::solve() {
  if (!impl_->finished) throw Error("cannot solve the linear program", "finish() was not called");
  impl_->model.dual();
  if (!impl_->model.isProvenOptimal()) impl_->model.primal();  // from where dual left it
  return impl_->model.isProvenOptimal();
}

double LinearProgram::value(int v) const { return impl_->model.primalColumnSolution()[v]; }
double LinearProgram::objective() const { return impl_->model.objectiveValue(); }

}  // namespace greenai::site::internal
