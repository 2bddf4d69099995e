#include "greenai/grid/schedule.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>

#include "greenai/error.h"

namespace greenai::grid {
namespace {

// The series' step boundaries strictly inside (t0, t1).
std::vector<double> boundaries_within(const carbon::IntensitySeries& series, double t0, double t1) {
  const auto& times = series.times_unix_s();  // ascending
  std::vector<double> out;
  for (auto it = std::upper_bound(times.begin(), times.end(), t0); it != times.end() && *it < t1;
       ++it)
    out.push_back(*it);
  return out;
}

}  // namespace

double parse_duration(const std::string& text, const std::string& what) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  const std::string unit = end ? std::string(end) : "";
  double scale = 0;
  if (unit.empty() || unit == "s")
    scale = 1;
  else if (unit == "m" || unit == "min")
    scale = 60;
  else if (unit == "h")
    scale = 3600;
  else if (unit == "d")
    scale = 86400;
  if (text.empty() || end == text.c_str() || scale == 0 || !std::isfinite(value) || value <= 0)
    throw Error("cannot read duration (" + what + "=" + text + ")",
                "not a positive number of seconds", "write it as 90s, 45m, 3h or 1.5d");
  return value * scale;
}

void sleep_until(double t) {
  for (double left = t - carbon::now_unix_s(); left > 0; left = t - carbon::now_unix_s()) {
    timespec pause{static_cast<time_t>(left), static_cast<long>((left - std::floor(left)) * 1e9)};
    ::nanosleep(&pause, nullptr);
  }
}

double parse_power(const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  const std::string unit = end ? std::string(end) : "";
  const double scale = unit.empty() || unit == "W" ? 1 : unit == "kW" ? 1000 : 0;
  if (end == text.c_str() || scale == 0 || !(value > 0) || !std::isfinite(value))
    throw Error("cannot read power (--power=" + text + ")", "not a positive power",
                "write it as 300W or 1.5kW");
  return value * scale;
}

Schedule best_schedule(const carbon::IntensitySeries& series, const ScheduleRequest& r) {
  if (!(r.duration_s > 0)) throw Error("cannot schedule", "the job's duration must be positive");
  if (!(r.window_s >= r.duration_s))
    throw Error("cannot schedule", "the window is shorter than the job",
                "give a --window at least as long as --duration");
  const double window_end = r.now + r.window_s;
  if (r.now < series.start_unix_s() || window_end > series.end_unix_s())
    throw Error("cannot schedule (series=" + series.origin() + ")",
                "the series does not cover the window",
                "give intensities (history or a forecast) from --now to --now + --window");
  Schedule s;
  s.now_mean_g_per_kwh = series.average_over(r.now, r.now + r.duration_s);
  if (!r.interruptible) {
    // The mean over [t, t + d] of a step function is piecewise linear in t, bending only where t
    // or t + d crosses a step boundary: its minimum is at one of those starts or at an end.
    const double last_start = window_end - r.duration_s;
    std::vector<double> starts{r.now, last_start};
    for (double b : boundaries_within(series, r.now, window_end)) {
      if (b <= last_start) starts.push_back(b);
      if (b - r.duration_s >= r.now) starts.push_back(b - r.duration_s);
    }
    std::sort(starts.begin(), starts.end());  // the earliest of equal bests wins
    double best = series.average_over(starts[0], starts[0] + r.duration_s), best_start = starts[0];
    for (double t : starts) {
      const double mean = series.average_over(t, t + r.duration_s);
      if (mean < best - 1e-12) best = mean, best_start = t;
    }
    s.runs = {{best_start, best_start + r.duration_s}};
    s.mean_g_per_kwh = best;
    return s;
  }
  // Interruptible: the cleanest pieces of the window, cleanest first, until the job fits.
  std::vector<double> edges{r.now};
  for (double b : boundaries_within(series, r.now, window_end)) edges.push_back(b);
  edges.push_back(window_end);
  struct Piece {
    double start, end, g;
  };
  std::vector<Piece> pieces;
  for (size_t i = 0; i + 1 < edges.size(); ++i)
    pieces.push_back({edges[i], edges[i + 1], series.average_over(edges[i], edges[i])});
  std::stable_sort(pieces.begin(), pieces.end(),
                   [](const Piece& a, const Piece& b) { return a.g < b.g; });
  double left = r.duration_s, weighted = 0;
  std::vector<std::pair<double, double>> runs;
  for (const Piece& p : pieces) {
    if (left <= 0) break;
    const double take = std::min(left, p.end - p.start);
    runs.push_back({p.start, p.start + take});
    weighted += take * p.g;
    left -= take;
  }
  std::sort(runs.begin(), runs.end());
  for (const auto& run : runs) {  // merge touching stretches
    if (!s.runs.empty() && std::abs(s.runs.back().second - run.first) < 1e-9)
      s.runs.back().second = run.second;
    else
      s.runs.push_back(run);
  }
  s.mean_g_per_kwh = weighted / r.duration_s;
  return s;
}

double WaitOutcome::avoided_kg(double kwh, double pue) const {
  return carbon::emissions_kg(kwh, pue, asked_g_per_kwh - met_g_per_kwh);
}

WaitOutcome waiting_outcome(const carbon::IntensitySeries& series, double asked, double started,
                            double ended) {
  const double length = std::max(ended - started, 1e-3);  // a run of no length still has a mean
  return {series.average_over(started, ended), series.average_over(asked, asked + length)};
}

}  // namespace greenai::grid
