#include "greenai/grid/lstm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "greenai/error.h"
#include "support/errors.h"

namespace greenai::grid {
namespace {

constexpr double kTwoPi = 6.283185307179586;
constexpr int kDay = 24;  // hourly steps

// A daily shape whose level drifts from week to week, plus noise: the seasonal naive forecast
// is off by the drift, which the recent changes against a week earlier reveal.
std::vector<double> drifting_daily(int days, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0, 1);
  std::vector<double> y;
  double level = 100;
  for (int t = 0; t < days * kDay; ++t) {
    if (t % kDay == 0) level += 2 * noise(rng);
    y.push_back(level + 20 * std::sin(kTwoPi * t / kDay) + 0.5 * noise(rng));
  }
  return y;
}

LstmOptions small(int anchor) {
  LstmOptions o;
  o.hidden = 16;
  o.window = 24;
  o.horizon = 12;
  o.anchor_period = anchor;
  o.epochs = 25;
  o.seed = 3;
  o.start_unix_s = 1656633600;
  o.step_s = 3600;
  return o;
}

TEST(Lstm, BeatsTheSeasonalNaiveForecastItCorrects) {
  const auto y = drifting_daily(70, 1);
  const size_t train_end = 60 * kDay;
  auto lstm = lstm_model(small(kDay));
  auto seasonal = seasonal_naive_model(kDay, "seasonal-naive-24");
  const Evaluation e_lstm = evaluate(*lstm, y, train_end, 12, 6);
  const Evaluation e_naive = evaluate(*seasonal, y, train_end, 12, 6);
  EXPECT_LT(e_lstm.mape_all, e_naive.mape_all);
  const LstmFitReport* r = lstm_fit_report(*lstm);
  ASSERT_NE(r, nullptr);
  EXPECT_GE(r->best_epoch, 1);
  EXPECT_LE(r->best_epoch, r->epochs_run);
  EXPECT_GT(r->windows, 0);
  EXPECT_EQ(lstm_fit_report(*seasonal), nullptr);
}

TEST(Lstm, SameSeedSameForecasts) {
  const auto y = drifting_daily(30, 2);
  LstmOptions o = small(0);
  o.epochs = 3;
  auto a = lstm_model(o), b = lstm_model(o);
  const std::vector<double> train(y.begin(), y.begin() + 25 * kDay);
  a->fit(train);
  b->fit(train);
  EXPECT_EQ(a->forecast_from(y, {25 * kDay}, 12), b->forecast_from(y, {25 * kDay}, 12));
  // Forecasts of fewer steps are the first steps of the whole horizon.
  const auto full = a->forecast_from(y, {25 * kDay}, 12)[0];
  const auto part = a->forecast_from(y, {25 * kDay}, 5)[0];
  EXPECT_EQ(part, std::vector<double>(full.begin(), full.begin() + 5));
}

TEST(Lstm, RefusesWhatCannotWork) {
  EXPECT_NE(testing::error_of([] {
              LstmOptions o = small(6);  // horizon 12
              lstm_model(o);
            }).find("the anchor season is shorter than the horizon (12)"),
            std::string::npos);
  EXPECT_NE(testing::error_of([] {
              LstmOptions o = small(0);
              o.hidden = 0;
              lstm_model(o);
            }).find("must be positive"),
            std::string::npos);
  auto model = lstm_model(small(kDay));
  const std::vector<double> y(50, 1);
  EXPECT_NE(testing::error_of([&] {
              model->forecast_from(y, {49}, 12);
            }).find("the model has not been fitted"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] {
              model->fit(y);
            }).find("one window needs 60 (window + anchor season + horizon)"),
            std::string::npos);
  auto fitted = lstm_model([] {
    LstmOptions o = small(0);
    o.epochs = 1;
    return o;
  }());
  const auto long_y = drifting_daily(10, 3);
  fitted->fit(long_y);
  EXPECT_NE(testing::error_of([&] {
              fitted->forecast_from(long_y, {100}, 13);
            }).find("the network was trained for 12 steps"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] {
              fitted->forecast_from(long_y, {10}, 12);
            }).find("the origin needs 24 steps of history"),
            std::string::npos);
}

}  // namespace
}  // namespace greenai::grid
