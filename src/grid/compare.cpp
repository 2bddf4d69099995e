#include "greenai/grid/compare.h"

#include <cmath>
#include <fstream>

#include "greenai/carbon/intensity.h"
#include "greenai/error.h"
#include "greenai/util/text.h"

namespace greenai::grid {

using util::Json;

Json MeteredEvaluation::to_json() const {
  const Evaluation& r = evaluation;
  Json per_step = Json::array();
  for (size_t j = 0; j < r.mape.size(); ++j)
    per_step.push(Json::object()
                      .set("step", static_cast<double>(j + 1))
                      .set("mape", r.mape[j])
                      .set("mae", r.mae[j])
                      .set("rmse", r.rmse[j]));
  Json fit_json = Json::object();
  if (fit)
    fit_json.set("epochs_run", fit->epochs_run)
        .set("best_epoch", fit->best_epoch)
        .set("train_loss", fit->train_loss)
        .set("validation_loss", fit->validation_loss)
        .set("windows", static_cast<double>(fit->windows))
        .set("seconds", fit->seconds);
  return Json::object()
      .set("model", r.model)
      .set("mape", r.mape_all)
      .set("mae", r.mae_all)
      .set("rmse", r.rmse_all)
      .set("origins", static_cast<double>(r.origins))
      .set("energy_j", cost.energy_j)
      .set("seconds", cost.seconds)
      .set("fit", fit_json)
      .set("per_step", per_step);
}

std::vector<MeteredEvaluation> compare_forecasters(
    const std::vector<std::unique_ptr<Forecaster>>& models, const Series& series, size_t train_end,
    int horizon, int stride, const CostMeter& meter, std::vector<std::string>& skipped) {
  std::vector<MeteredEvaluation> results;
  if (meter) meter();
  for (const auto& m : models) {
    try {
      MeteredEvaluation r{evaluate(*m, series.values, train_end, horizon, stride)};
      if (meter) r.cost = meter();
      if (const LstmFitReport* fit = lstm_fit_report(*m)) r.fit = *fit;
      results.push_back(std::move(r));
    } catch (const Error& e) {
      if (models.size() == 1) throw;
      if (meter) meter();
      skipped.push_back(m->name() + ": " + e.what());
    }
  }
  if (results.empty()) throw Error("cannot forecast", skipped.front());
  return results;
}

void write_forecasts_csv(const std::string& path, const Series& series,
                         const std::vector<MeteredEvaluation>& results, int horizon) {
  std::ofstream f(path);
  f << "origin,step,timestamp,actual";
  for (const auto& r : results) f << "," << r.evaluation.model;
  f << "\n";
  const Evaluation& first = results.at(0).evaluation;
  for (size_t k = 0; k < first.origins; ++k)
    for (int j = 0; j < horizon; ++j) {
      const size_t i = first.origin_index[k] + static_cast<size_t>(j);
      f << carbon::format_timestamp(series.times[first.origin_index[k]]) << "," << j + 1 << ","
        << carbon::format_timestamp(series.times[i]) << "," << series.values[i];
      for (const auto& r : results) f << "," << r.evaluation.forecasts[k][static_cast<size_t>(j)];
      f << "\n";
    }
  if (!f.flush()) throw Error("cannot write forecasts (path=" + path + ")", "write failed");
}

util::Json Comparison::to_json() const {
  util::Json rows = util::Json::array();
  for (const auto& m : models) rows.push(m.to_json().set("energy_provenance", provenance));
  util::Json filled = util::Json::array();
  for (size_t i : series->filled) filled.push(carbon::format_timestamp(series->times[i]));
  util::Json skipped_json = util::Json::array();
  for (const auto& why : skipped) skipped_json.push(why);
  return util::Json::object()
      .set("series", series->origin)
      .set("values", static_cast<double>(series->values.size()))
      .set("step_s", series->step_s)
      .set("filled", filled)
      .set("train", static_cast<double>(train_end))
      .set("horizon", horizon)
      .set("seasons", util::Json::array().push(seasons.first).push(seasons.second))
      .set("models", rows)
      .set("skipped", skipped_json);
}

std::vector<std::pair<std::string, std::vector<double>>> Comparison::held_out_lines() const {
  const size_t tail = series->values.size() - train_end;
  std::vector<std::pair<std::string, std::vector<double>>> lines{
      {"actual", {series->values.begin() + static_cast<long>(train_end), series->values.end()}}};
  for (const MeteredEvaluation& m : models) {
    const Evaluation& r = m.evaluation;
    std::vector<double> y(tail, std::nan(""));
    for (size_t k = 0; k < r.origins; ++k)
      for (size_t j = 0; j < r.forecasts[k].size(); ++j)
        y[r.origin_index[k] - train_end + j] = r.forecasts[k][j];
    lines.emplace_back(r.model, std::move(y));
  }
  return lines;
}

std::string Comparison::to_text() const {
  std::string text;
  util::appendf(text,
                "%s: %zu values every %.0f s; trained on %zu, %zu origins every %d steps, "
                "horizon %d\n",
                series->origin.c_str(), series->values.size(), series->step_s, train_end,
                models.empty() ? size_t{0} : models[0].evaluation.origins, stride, horizon);
  if (!series->filled.empty())
    util::appendf(text, "%zu missing values filled by linear interpolation (first at %s)\n",
                  series->filled.size(),
                  carbon::format_timestamp(series->times[series->filled[0]]).c_str());
  util::appendf(text, "\n%-20s %8s %12s %12s %9s %9s %9s %10s\n", "model", "MAPE %", "MAE", "RMSE",
                "step 1", "step h/2", "step h", "energy J");
  for (const std::string& why : skipped) util::appendf(text, "skipped %s\n", why.c_str());
  for (const MeteredEvaluation& m : models) {
    const Evaluation& r = m.evaluation;
    util::appendf(text, "%-20s %8.2f %12.4g %12.4g %8.2f%% %8.2f%% %8.2f%% %10.2f\n",
                  r.model.c_str(), r.mape_all, r.mae_all, r.rmse_all, r.mape[0],
                  r.mape[r.mape.size() / 2], r.mape.back(), m.cost.energy_j);
  }
  return text;
}

}  // namespace greenai::grid
