#include "greenai/grid/replay_plan.h"

#include <cmath>

#include "greenai/carbon/intensity.h"
#include "greenai/error.h"
#include "greenai/util/text.h"

namespace greenai::grid {

int steps_of(double seconds, const Series& series, const std::string& what) {
  const double steps = seconds / series.step_s;
  if (std::abs(steps - std::round(steps)) > 1e-9 || steps < 1)
    throw Error("cannot schedule on " + series.origin + " (" + what + ")",
                "not a whole number of the series' " + std::to_string(series.step_s) + " s steps");
  return static_cast<int>(std::lround(steps));
}

ReplayPlan plan_replay(Series series, const ReplayRequest& request) {
  ReplayPlan p;
  p.series = std::move(series);
  const Series& s = p.series;
  p.window_s = request.window_s;
  const int window = steps_of(request.window_s, s, "--window");
  p.options.window_steps = window;
  for (double d : request.durations_s)
    p.options.durations_steps.push_back(steps_of(d, s, "--durations"));
  const size_t warm_up = static_cast<size_t>(steps_of(request.warm_up_s, s, "--warm-up"));
  p.refit_steps = static_cast<size_t>(steps_of(request.refit_every_s, s, "--refit-every"));
  if (warm_up + static_cast<size_t>(window) > s.values.size())
    throw Error("cannot replay (--warm-up)", "the series has no arrival left after the warm-up",
                "give a longer series or a shorter --warm-up");
  // filled_before[i]: how many filled values precede index i.
  std::vector<int> filled_before(s.values.size() + 1, 0);
  for (size_t i : s.filled) filled_before[i + 1] = 1;
  for (size_t i = 0; i < s.values.size(); ++i) filled_before[i + 1] += filled_before[i];
  for (size_t a = warm_up; a + static_cast<size_t>(window) <= s.values.size(); ++a) {
    if (filled_before[a + static_cast<size_t>(window)] != filled_before[a])
      ++p.unscored;
    else
      p.arrivals.push_back(a);
  }
  if (p.arrivals.empty())
    throw Error("cannot replay", "every window after the warm-up holds a filled value");
  return p;
}

double window_mape(const std::vector<double>& y, const std::vector<size_t>& arrivals,
                   const std::vector<std::vector<double>>& forecasts, size_t window) {
  double ape = 0;
  size_t n = 0;
  for (size_t k = 0; k < arrivals.size(); ++k)
    for (size_t j = 0; j < window; ++j)
      if (const double actual = y[arrivals[k] + j]; actual > 0) {
        ape += std::abs(forecasts[k][j] - actual) / actual;
        ++n;
      }
  return n ? 100 * ape / static_cast<double>(n) : 0;
}

std::vector<ForecasterReplay> replay_forecasters(
    const ReplayPlan& p, const std::vector<std::unique_ptr<Forecaster>>& models,
    const CostMeter& meter, std::vector<std::string>& skipped, const ReplayProgress& on_progress) {
  const std::vector<double>& y = p.series.values;
  std::vector<ForecasterReplay> results;
  if (meter) meter();
  for (const auto& m : models) {
    try {
      std::function<void(size_t, size_t)> progress;
      if (on_progress)
        progress = [&](size_t done, size_t total) { on_progress(m->name(), done, total); };
      const auto forecasts =
          rolling_forecasts(*m, y, p.arrivals, p.options.window_steps, p.refit_steps, progress);
      ForecasterReplay r{m->name(), replay_schedules(y, p.arrivals, &forecasts, p.options)};
      r.window_mape =
          window_mape(y, p.arrivals, forecasts, static_cast<size_t>(p.options.window_steps));
      r.energy_j = meter ? meter().energy_j : 0;
      results.push_back(std::move(r));
    } catch (const Error& e) {
      if (models.size() == 1) throw;
      if (meter) meter();
      skipped.push_back(m->name() + ": " + e.what());
    }
  }
  return results;
}

using util::Json;

Json replay_to_json(const ReplayPlan& p, const Replay& perfect,
                    const std::vector<ForecasterReplay>& results,
                    const std::vector<std::string>& skipped, const std::string& provenance) {
  const Series& series = p.series;
  auto row_json = [&](const ReplayRow& row) {
    const double jobs_steps =
        row.duration_steps ? static_cast<double>(row.jobs) * row.duration_steps : 0;
    Json j = Json::object()
                 .set("duration_h", row.duration_steps * series.step_s / 3600)
                 .set("jobs", static_cast<double>(row.jobs))
                 .set("perfect_saving", row.perfect_saving())
                 .set("forecast_saving", row.forecast_saving())
                 .set("captured", row.captured());
    if (jobs_steps > 0)
      j.set("now_mean_g_per_kwh", row.now / jobs_steps)
          .set("perfect_mean_g_per_kwh", row.perfect / jobs_steps)
          .set("forecast_mean_g_per_kwh", row.forecast / jobs_steps);
    return j;
  };
  Json models = Json::array();
  for (const auto& r : results) {
    Json rows = Json::array();
    for (const auto& row : r.replay.rows) rows.push(row_json(row));
    models.push(Json::object()
                    .set("model", r.model)
                    .set("window_mape", r.window_mape)
                    .set("energy_j", r.energy_j)
                    .set("energy_provenance", provenance)
                    .set("all", row_json(r.replay.all))
                    .set("by_duration", rows));
  }
  Json filled = Json::array();
  for (size_t i : series.filled) filled.push(carbon::format_timestamp(series.times[i]));
  Json skipped_json = Json::array();
  for (const auto& why : skipped) skipped_json.push(why);
  return Json::object()
      .set("series", series.origin)
      .set("filled", filled)
      .set("first_arrival", carbon::format_timestamp(series.times[p.arrivals.front()]))
      .set("last_arrival", carbon::format_timestamp(series.times[p.arrivals.back()]))
      .set("arrivals", static_cast<double>(p.arrivals.size()))
      .set("unscored_arrivals", static_cast<double>(p.unscored))
      .set("window_s", p.window_s)
      .set("perfect_saving", perfect.all.perfect_saving())
      .set("models", models)
      .set("skipped", skipped_json);
}

std::string replay_to_text(const ReplayPlan& p, const Replay& perfect,
                           const std::vector<ForecasterReplay>& results,
                           const std::vector<std::string>& skipped, const std::string& provenance) {
  std::string text;
  const Series& series = p.series;
  util::appendf(text,
                "%s: %zu arrivals, one every %.0f s from %s to %s;\n"
                "at each, a job of each of %zu lengths that must finish within %.0f h;\n"
                "forecasters refitted every %zu steps on all earlier values\n",
                series.origin.c_str(), p.arrivals.size(), series.step_s,
                carbon::format_timestamp(series.times[p.arrivals.front()]).c_str(),
                carbon::format_timestamp(series.times[p.arrivals.back()]).c_str(),
                p.options.durations_steps.size(), p.window_s / 3600, p.refit_steps);
  if (!series.filled.empty())
    util::appendf(
        text,
        "%zu missing values filled by linear interpolation (first at %s) for the forecasters;\n"
        "%zu arrivals whose window holds one are not scored\n",
        series.filled.size(), carbon::format_timestamp(series.times[series.filled[0]]).c_str(),
        p.unscored);
  for (const std::string& why : skipped) util::appendf(text, "skipped %s\n", why.c_str());
  util::appendf(text, "\nperfect foresight saves %.1f %% of the carbon of running at once\n\n",
                100 * perfect.all.perfect_saving());
  util::appendf(text, "%-20s %12s %12s %10s", "forecaster", "window MAPE", "saving %", "captured");
  for (int d : p.options.durations_steps) util::appendf(text, " %6.0fh", d * series.step_s / 3600);
  util::appendf(text, " %10s\n", "energy J");
  for (const auto& r : results) {
    util::appendf(text, "%-20s %11.2f%% %11.1f%% %9.1f%%", r.model.c_str(), r.window_mape,
                  100 * r.replay.all.forecast_saving(), 100 * r.replay.all.captured());
    for (const auto& row : r.replay.rows) util::appendf(text, " %6.1f%%", 100 * row.captured());
    util::appendf(text, " %10.1f\n", r.energy_j);
  }
  util::appendf(text, "%-20s %12s %11.1f%% %9.1f%%", "perfect foresight", "",
                100 * perfect.all.perfect_saving(), 100.0);
  for (const auto& row : perfect.rows) util::appendf(text, " %6.1f%%", 100 * row.perfect_saving());
  util::appendf(text,
                "\n\n(per-length columns: share of the perfect saving captured; for perfect\n"
                "foresight, its saving). Energy of fitting and forecasting: %s.\n",
                provenance.c_str());
  return text;
}

}  // namespace greenai::grid
