#include "greenai/grid/forecast.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>

#include "greenai/error.h"
#include "support/errors.h"

namespace greenai::grid {
namespace {

std::string csv_of(const std::vector<double>& values, double step = 1800) {
  std::string csv = "timestamp,demand\n";
  for (size_t i = 0; i < values.size(); ++i)
    csv += std::to_string(static_cast<long long>(946684800 + step * static_cast<double>(i))) + "," +
           std::to_string(values[i]) + "\n";
  return csv;
}

TEST(Baselines, NaiveAndSeasonalNaiveByHand) {
  const std::vector<double> y{1, 2, 3, 4, 5, 6, 7, 8};
  auto naive = naive_model();
  auto f = naive->forecast_from(y, {5}, 3);  // history 1..5
  EXPECT_EQ(f[0], (std::vector<double>{5, 5, 5}));
  auto seasonal = seasonal_naive_model(3, "s3");
  f = seasonal->forecast_from(y, {5, 6}, 4);
  // From origin 5 (history 1..5): steps take y[2], y[3], y[4], then y[2] again (one more season).
  EXPECT_EQ(f[0], (std::vector<double>{3, 4, 5, 3}));
  EXPECT_EQ(f[1], (std::vector<double>{4, 5, 6, 4}));
}

// On a purely seasonal series (a daily shape times a weekly one, no noise) Holt-Winters
// reproduces the series; with noise added it still beats the daily seasonal naive forecast.
TEST(HoltWinters, RecoversAPureDoubleSeasonalSeries) {
  const int m1 = 8, m2 = 56;
  std::vector<double> y;
  for (int t = 0; t < 10 * m2; ++t)
    y.push_back(1000 * (1 + 0.3 * std::sin(2 * std::numbers::pi * t / m1)) *
                (1 + 0.1 * std::cos(2 * std::numbers::pi * t / m2)));
  auto hw = holt_winters_model(m1, m2);
  Evaluation e = evaluate(*hw, y, 8 * m2, m1, m1);
  EXPECT_LT(e.mape_all, 0.5) << "MAPE " << e.mape_all;
  // And on noise around it, it beats the daily seasonal naive forecast.
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0, 10);
  for (double& v : y) v += noise(rng);
  auto hw2 = holt_winters_model(m1, m2);
  auto daily = seasonal_naive_model(m1, "daily");
  const double hw_mape = evaluate(*hw2, y, 8 * m2, m1, m1).mape_all;
  const double daily_mape = evaluate(*daily, y, 8 * m2, m1, m1).mape_all;
  EXPECT_LT(hw_mape, daily_mape);
}

TEST(Evaluate, MetricsByHand) {
  // Naive from origin 3 on {10, 10, 10, 20, 5}: forecasts 10, 10 against 20, 5.
  auto naive = naive_model();
  Evaluation e = evaluate(*naive, {10, 10, 10, 20, 5}, 3, 2, 10);
  ASSERT_EQ(e.origins, 1u);
  EXPECT_DOUBLE_EQ(e.mape[0], 50);   // |10 - 20| / 20
  EXPECT_DOUBLE_EQ(e.mape[1], 100);  // |10 - 5| / 5
  EXPECT_DOUBLE_EQ(e.mae_all, 7.5);
  EXPECT_DOUBLE_EQ(e.rmse_all, std::sqrt((100.0 + 25.0) / 2));
  EXPECT_NE(testing::error_of([&] {
              evaluate(*naive, {1, 2, 3}, 3, 2, 1);
            }).find("no room for one forecast"),
            std::string::npos);
}

TEST(ParseSeries, ReadsColumnsAndRefusesBadLinesByNumber) {
  Series s =
      parse_series("t,a,b\n2000-01-01T00:00:00Z,1,7\n2000-01-01T01:00:00Z,2,8\n", "x.csv", "b");
  EXPECT_EQ(s.values, (std::vector<double>{7, 8}));
  EXPECT_DOUBLE_EQ(s.step_s, 3600);
  const std::vector<std::pair<std::string, std::string>> bad{
      {"t,v\n0,1\n1800,2\n5400,3\n", "line 4: gap: 3600"},
      {"t,v\n0,1\n1800,2\n1800,3\n", "line 4: duplicate timestamp"},
      {"t,v\n0,1\n1800,2\n900,3\n", "line 4: timestamp out of order"},
      {"t,v\n0,1\n1800,x\n", "line 3: not a number: \"x\""},
      {"t,v\n0,1\n1800,\n", "line 3: missing value"},
      {"t,v\n0,1\n1800,-4\n", "line 3: negative value -4"},
      {"t,v\n0,1\nyesterday,2\n", "line 3: bad timestamp \"yesterday\""},
      {"t,v\n0,1\n1800\n", "line 3: missing value"},
      {"t,v\n0,1\n", "fewer than two values"}};
  for (const auto& [text, expected] : bad)
    EXPECT_NE(testing::error_of([&] { parse_series(text, "x.csv"); }).find(expected),
              std::string::npos)
        << text << " -> " << testing::error_of([&] { parse_series(text, "x.csv"); });
  EXPECT_NE(testing::error_of([&] {
              parse_series("t,v\n0,1\n1,2\n", "x.csv", "w");
            }).find("no column \"w\""),
            std::string::npos);
}

TEST(ParseSeries, FillsShortGapsByInterpolationAndRefusesLongOnes) {
  // An empty value (line 3) and two absent steps (between lines 4 and 5).
  const std::string text = "t,v\n0,10\n3600,\n7200,30\n18000,60\n21600,70\n";
  EXPECT_NE(testing::error_of([&] { parse_series(text, "x.csv"); }).find("line 3: missing value"),
            std::string::npos);
  Series s = parse_series(text, "x.csv", "", 2);
  EXPECT_EQ(s.values, (std::vector<double>{10, 20, 30, 40, 50, 60, 70}));
  EXPECT_EQ(s.filled, (std::vector<size_t>{1, 3, 4}));
  EXPECT_DOUBLE_EQ(s.times[4], 14400);
  EXPECT_NE(
      testing::error_of([&] { parse_series(text, "x.csv", "", 1); }).find("line 5: gap: 10800"),
      std::string::npos);
  EXPECT_NE(testing::error_of([&] {
              parse_series("t,v\n0,1\n1,\n2,\n3,4\n", "x.csv", "", 1);
            }).find("line 3: 2 missing values in a row"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] {
              parse_series("t,v\n0,1\n1,2\n2,\n", "x.csv", "", 3);
            }).find("line 4: missing value at the series' end"),
            std::string::npos);
  // A step that is not a whole number of the series' steps is never filled.
  EXPECT_NE(testing::error_of([&] {
              parse_series("t,v\n0,1\n10,2\n25,3\n", "x.csv", "", 5);
            }).find("line 4: gap: 15"),
            std::string::npos);
}

// A model that records what it was fitted on and forecasts the length of its training part.
class Recorder final : public Forecaster {
 public:
  std::string name() const override { return "recorder"; }
  void fit(const std::vector<double>& train) override { fits.push_back(train.size()); }
  std::vector<std::vector<double>> forecast_from(const std::vector<double>&,
                                                 const std::vector<size_t>& origins,
                                                 int horizon) const override {
    return std::vector<std::vector<double>>(
        origins.size(),
        std::vector<double>(static_cast<size_t>(horizon), static_cast<double>(fits.back())));
  }
  std::vector<size_t> fits;
};

TEST(RollingForecasts, RefitsOnAllEarlierValuesAtEachBlock) {
  std::vector<double> y(100, 1);
  Recorder model;
  const auto f = rolling_forecasts(model, y, {40, 41, 49, 50, 75, 90}, 3, 10);
  // Blocks start at 40, 50 (40 + 10 reached), 75 and 90.
  EXPECT_EQ(model.fits, (std::vector<size_t>{40, 50, 75, 90}));
  ASSERT_EQ(f.size(), 6u);
  EXPECT_EQ(f[2], (std::vector<double>{40, 40, 40}));
  EXPECT_EQ(f[3][0], 50);
  EXPECT_EQ(f[5][0], 90);
  Recorder once;
  rolling_forecasts(once, y, {40, 60, 80}, 3, 0);
  EXPECT_EQ(once.fits, (std::vector<size_t>{40}));
}

// Property: any mutation of a valid file parses or is refused with greenai::Error.
TEST(ParseSeries, MutatedFilesParseOrFailCleanly) {
  const std::string good = csv_of({5, 6, 7, 8, 9, 10, 11, 12});
  std::mt19937 rng(9);
  const std::string alphabet = "0123456789,.-+:TZe\n\" x";
  int parsed = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string text = good;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k)
      text[rng() % text.size()] = alphabet[rng() % alphabet.size()];
    for (int fill : {0, 3}) {
      try {
        Series s = parse_series(text, "fuzz.csv", "", fill);
        EXPECT_EQ(s.times.size(), s.values.size());
        for (double v : s.values) EXPECT_TRUE(v >= 0 && std::isfinite(v));
        for (size_t k = 1; k < s.times.size(); ++k)
          EXPECT_NEAR(s.times[k] - s.times[k - 1], s.step_s, 1e-6);
        if (fill == 0) {
          EXPECT_TRUE(s.filled.empty());
        }
        ++parsed;
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot read series (path=fuzz.csv)"),
                  std::string::npos);
      }
    }
  }
  EXPECT_GT(parsed, 0);
}

}  // namespace
}  // namespace greenai::grid
