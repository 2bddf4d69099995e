#include "greenai/grid/replay_plan.h"

#include <gtest/gtest.h>

#include "greenai/grid/compare.h"
#include "greenai/grid/forecast_schedule.h"
#include "greenai/grid/models.h"
#include "support/errors.h"
#include "support/temp_dir.h"

namespace greenai::grid {
namespace {

using greenai::testing::error_of;

// An hourly series of `values` from 2022-01-01T00:00Z.
Series hourly(std::vector<double> values, std::vector<size_t> filled = {}) {
  Series s;
  for (size_t i = 0; i < values.size(); ++i) s.times.push_back(1640995200.0 + 3600.0 * i);
  s.values = std::move(values);
  s.step_s = 3600;
  s.origin = "test.csv";
  s.filled = std::move(filled);
  return s;
}

TEST(ReplayPlan, ScoresOnlyWindowsOfMeasuredValues) {
  // 10 steps, warm-up 2 h, window 3 h: arrivals 2..7; a filled value at 5 spoils 3, 4 and 5.
  const ReplayPlan p =
      plan_replay(hourly(std::vector<double>(10, 100.0), {5}), {.window_s = 3 * 3600,
                                                                .durations_s = {3600, 7200},
                                                                .warm_up_s = 2 * 3600,
                                                                .refit_every_s = 4 * 3600});
  EXPECT_EQ(p.arrivals, (std::vector<size_t>{2, 6, 7}));
  EXPECT_EQ(p.unscored, 3u);
  EXPECT_EQ(p.options.window_steps, 3);
  EXPECT_EQ(p.options.durations_steps, (std::vector<int>{1, 2}));
  EXPECT_EQ(p.refit_steps, 4u);
}

TEST(ReplayPlan, RefusesWhatCannotBeReplayed) {
  const Series s = hourly(std::vector<double>(10, 100.0));
  EXPECT_EQ(error_of([&] { plan_replay(s, {.window_s = 5400}); }),
            "cannot schedule on test.csv (--window): not a whole number of the series' "
            "3600.000000 s steps");
  EXPECT_EQ(error_of([&] { plan_replay(s, {.window_s = 3600 * 3, .warm_up_s = 8 * 3600}); }),
            "cannot replay (--warm-up): the series has no arrival left after the warm-up");
  EXPECT_EQ(error_of([&] {
              plan_replay(hourly(std::vector<double>(4, 1.0), {2}),
                          {.window_s = 7200, .durations_s = {3600}, .warm_up_s = 3600});
            }),
            "cannot replay: every window after the warm-up holds a filled value");
}

TEST(WindowMape, AveragesOverNonZeroActuals) {
  const std::vector<double> y{100, 200, 0, 50};
  // Arrival 0: |110-100|/100 = 0.1, |180-200|/200 = 0.1; arrival 2: the 0 is skipped,
  // |75-50|/50 = 0.5. Mean 0.7 / 3.
  const double mape = window_mape(y, {0, 2}, {{110, 180}, {5, 75}}, 2);
  EXPECT_NEAR(mape, 100 * 0.7 / 3, 1e-12);
  EXPECT_EQ(window_mape({0, 0}, {0}, {{1, 1}}, 2), 0);
}

// Forecasts the mean of what it was fitted on.
class MeanModel final : public Forecaster {
 public:
  std::string name() const override { return "mean"; }
  void fit(const std::vector<double>& train) override {
    mean_ = 0;
    for (double v : train) mean_ += v / static_cast<double>(train.size());
    ++fits;
  }
  std::vector<std::vector<double>> forecast_from(const std::vector<double>&,
                                                 const std::vector<size_t>& origins,
                                                 int horizon) const override {
    return std::vector<std::vector<double>>(origins.size(), std::vector<double>(horizon, mean_));
  }
  int fits = 0;

 private:
  double mean_ = 0;
};

TEST(ReplayForecasters, MetersEachModelAndSkipsOneThatCannotFit) {
  const ReplayPlan p = plan_replay(
      hourly({10, 20, 30, 40, 50, 60}),
      {.window_s = 7200, .durations_s = {3600}, .warm_up_s = 2 * 3600, .refit_every_s = 3600});
  std::vector<std::unique_ptr<Forecaster>> models;
  models.push_back(std::make_unique<MeanModel>());
  models.push_back(seasonal_naive_model(100, "seasonal-naive-100"));  // longer than the series
  double joules = 0;
  std::vector<std::string> skipped;
  const auto results = replay_forecasters(
      p, models,
      [&] {
        return joules += 1.5, StepCost{1.5, 0.1};
      },
      skipped);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].model, "mean");
  EXPECT_EQ(results[0].energy_j, 1.5);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].rfind("seasonal-naive-100: ", 0), 0u);
  // Alone, the model's own error stands.
  models.erase(models.begin());
  EXPECT_THROW(replay_forecasters(p, models, nullptr, skipped), Error);
}

TEST(ForecastSchedule, ForecastsFromNowAndScoresOnTheActuals) {
  const Series past = hourly({300, 300, 300, 100, 50, 400, 400, 400});
  const double now = past.times[2] + 1800;  // half-way through step 2
  const ForecastOrigin at = forecast_origin(past, now, 3 * 3600);
  EXPECT_EQ(at.origin, 3u);
  EXPECT_EQ(at.horizon, 3);  // steps 3, 4, 5 reach now + 3 h
  MeanModel model;
  const carbon::IntensitySeries f = forecast_intensity(model, past, at, now);
  EXPECT_EQ(model.fits, 1);
  // The step in force at now is history (300); the forecast the mean of 300, 300, 300.
  EXPECT_DOUBLE_EQ(f.average_over(now, now + 1800), 300);
  EXPECT_DOUBLE_EQ(f.average_over(past.times[3], past.times[6]), 300);
  const auto actual = actual_intensity(past, now, 3 * 3600);
  ASSERT_TRUE(actual);
  const ScheduleRequest request{.now = now, .duration_s = 3600, .window_s = 3 * 3600};
  const Schedule on_forecast = best_schedule(f, request);
  const ActualOutcome o = score_on_actual(on_forecast, *actual, request);
  EXPECT_DOUBLE_EQ(o.perfect.mean_g_per_kwh, 50);  // step 4, known only in hindsight
  EXPECT_DOUBLE_EQ(o.mean_g_per_kwh,
                   actual->average_over(on_forecast.runs[0].first, on_forecast.runs[0].second));
  EXPECT_FALSE(actual_intensity(past, past.times[7], 3 * 3600));
  EXPECT_NE(error_of([&] {
              forecast_origin(past, past.times[0], 3600);
            }).find("--now must fall after the history's first value"),
            std::string::npos);
  EXPECT_NE(error_of([&] { forecast_origin(past, past.times[7] + 2 * 3600, 3600); }), "no error");
}

}  // namespace
}  // namespace greenai::grid

namespace greenai::grid {
namespace {

TEST(ParseAnchor, NamesAndErrors) {
  EXPECT_EQ(parse_anchor("week"), LstmAnchor::kWeek);
  EXPECT_EQ(parse_anchor("day"), LstmAnchor::kDay);
  EXPECT_EQ(parse_anchor("none"), LstmAnchor::kNone);
  EXPECT_EQ(error_of([] { parse_anchor("month"); }),
            "cannot read the LSTM's anchor (--lstm-anchor=month): unknown anchor");
}

TEST(MakeForecasters, ChoosesByNameAndSaysWhatItCannotMake) {
  Series s;
  for (int i = 0; i < 48; ++i) s.times.push_back(1800.0 * i), s.values.push_back(1);
  s.step_s = 1800;
  EXPECT_EQ(default_seasons(s), (std::pair<int, int>{48, 336}));
  auto names = [&](const ModelChoice& c, const LstmFactory& lstm, std::vector<std::string>& why) {
    std::vector<std::string> n;
    for (const auto& m : make_forecasters(c, s, 12, lstm, why)) n.push_back(m->name());
    return n;
  };
  std::vector<std::string> skipped;
  ModelChoice all{.which = "all", .seasons = {48, 336}};
  const auto baselines = names(all, nullptr, skipped);
  EXPECT_EQ(baselines.size(), 4u);
  EXPECT_EQ(skipped, (std::vector<std::string>{"lstm: this greenai was built without LibTorch"}));
  ModelChoice seasonal{.which = "seasonal-naive", .seasons = {48, 336}};
  EXPECT_EQ(names(seasonal, nullptr, skipped),
            (std::vector<std::string>{"seasonal-naive-48", "seasonal-naive-336"}));
  LstmOptions seen;
  LstmFactory fake = [&](const LstmOptions& o) {
    seen = o;
    return naive_model();
  };
  ModelChoice lstm{.which = "lstm", .seasons = {48, 336}, .anchor = LstmAnchor::kDay};
  EXPECT_EQ(names(lstm, fake, skipped).size(), 1u);
  EXPECT_EQ(seen.horizon, 12);
  EXPECT_EQ(seen.anchor_period, 48);
  EXPECT_EQ(seen.step_s, 1800);
  EXPECT_NE(error_of([&] { names(lstm, nullptr, skipped); }).find("built without LibTorch"),
            std::string::npos);
  ModelChoice unknown{.which = "prophet", .seasons = {48, 336}};
  EXPECT_EQ(error_of([&] { names(unknown, nullptr, skipped); }),
            "cannot forecast (--model=prophet): unknown model");
}

}  // namespace
}  // namespace greenai::grid

namespace greenai::grid {
namespace {

TEST(CompareForecasters, MetersEachAndWritesEveryForecast) {
  Series s;
  for (int i = 0; i < 12; ++i)
    s.times.push_back(1640995200.0 + 3600.0 * i), s.values.push_back(10.0 + i);
  s.step_s = 3600;
  s.origin = "t.csv";
  std::vector<std::unique_ptr<Forecaster>> models;
  models.push_back(naive_model());
  models.push_back(seasonal_naive_model(100, "seasonal-naive-100"));
  std::vector<std::string> skipped;
  int calls = 0;
  const auto rows = compare_forecasters(
      models, s, 8, 2, 2,
      [&] {
        return ++calls, StepCost{2.0, 0.5};
      },
      skipped);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(calls, 3);  // the start, then after each model
  EXPECT_EQ(rows[0].cost.energy_j, 2.0);
  EXPECT_FALSE(rows[0].fit);
  ASSERT_EQ(skipped.size(), 1u);
  const util::Json json = rows[0].to_json();
  EXPECT_EQ(json.at("model").string(), "naive");
  EXPECT_EQ(json.at("per_step").items().size(), 2u);
  greenai::testing::TempDir dir;
  write_forecasts_csv(dir.file("f.csv"), s, rows, 2);
  // Origins 8 and 10, two steps each: naive repeats the value before the origin (17, then 19).
  EXPECT_EQ(greenai::testing::TempDir::read(dir.file("f.csv")),
            "origin,step,timestamp,actual,naive\n"
            "2022-01-01T08:00:00Z,1,2022-01-01T08:00:00Z,18,17\n"
            "2022-01-01T08:00:00Z,2,2022-01-01T09:00:00Z,19,17\n"
            "2022-01-01T10:00:00Z,1,2022-01-01T10:00:00Z,20,19\n"
            "2022-01-01T10:00:00Z,2,2022-01-01T11:00:00Z,21,19\n");
  EXPECT_NE(error_of([&] { write_forecasts_csv("/nonexistent/f.csv", s, rows, 2); }), "no error");
  models.erase(models.begin());
  skipped.clear();
  EXPECT_THROW(compare_forecasters(models, s, 8, 2, 2, nullptr, skipped), Error);
}

}  // namespace
}  // namespace greenai::grid
