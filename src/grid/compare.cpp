#include "greenai/grid/compare.h"

#include <fstream>

#include "greenai/carbon/intensity.h"
#include "greenai/error.h"

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

}  // namespace greenai::grid
