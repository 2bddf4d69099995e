#include "greenai/grid/replay.h"

#include <string>

#include "greenai/error.h"

namespace greenai::grid {
namespace {

std::vector<double> prefix_sums(const std::vector<double>& x, size_t from, size_t count) {
  std::vector<double> p(count + 1, 0);
  for (size_t i = 0; i < count; ++i) p[i + 1] = p[i] + x[from + i];
  return p;
}

}  // namespace

size_t cleanest_start(const std::vector<double>& p, size_t first, size_t last_start,
                      size_t duration) {
  // With whole-step jobs on a step series, the mean is piecewise linear in the start between
  // step boundaries, so the best start is on one: checking every step is exact.
  size_t best = first;
  for (size_t s = first + 1; s <= last_start; ++s)
    if (p[s + duration] - p[s] < p[best + duration] - p[best]) best = s;
  return best;
}

Replay replay_schedules(const std::vector<double>& actual, const std::vector<size_t>& arrivals,
                        const std::vector<std::vector<double>>* forecasts, const ReplayOptions& o) {
  const size_t window = static_cast<size_t>(o.window_steps);
  for (int d : o.durations_steps)
    if (d < 1 || d > o.window_steps)
      throw Error("cannot replay (duration=" + std::to_string(d) + " steps)",
                  "every job must be at least one step and fit the window of " +
                      std::to_string(o.window_steps) + " steps");
  if (forecasts && forecasts->size() != arrivals.size())
    throw Error("cannot replay", "one forecast per arrival is needed");
  Replay r;
  for (int d : o.durations_steps) r.rows.push_back({.duration_steps = d});
  for (size_t k = 0; k < arrivals.size(); ++k) {
    const size_t a = arrivals[k];
    if (a + window > actual.size())
      throw Error("cannot replay (arrival=" + std::to_string(a) + ")",
                  "the window runs past the series' end");
    const std::vector<double> truth = prefix_sums(actual, a, window);
    std::vector<double> predicted;
    if (forecasts) {
      if ((*forecasts)[k].size() < window)
        throw Error("cannot replay", "a forecast is shorter than the window");
      predicted = prefix_sums((*forecasts)[k], 0, window);
    }
    for (ReplayRow& row : r.rows) {
      const size_t d = static_cast<size_t>(row.duration_steps), last = window - d;
      const size_t best = cleanest_start(truth, 0, last, d);
      row.jobs += 1;
      row.now += truth[d] - truth[0];
      row.perfect += truth[best + d] - truth[best];
      if (forecasts) {
        const size_t chosen = cleanest_start(predicted, 0, last, d);
        row.forecast += truth[chosen + d] - truth[chosen];
      }
    }
  }
  for (const ReplayRow& row : r.rows) {
    r.all.jobs += row.jobs;
    r.all.now += row.now;
    r.all.perfect += row.perfect;
    r.all.forecast += row.forecast;
  }
  return r;
}

}  // namespace greenai::grid
