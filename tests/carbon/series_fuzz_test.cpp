// Property and fuzz tests of the intensity series reader: whatever the input, it parses or
// throws greenai::Error, and what it parses integrates like a step function.
#include <gtest/gtest.h>

#include <random>

#include "greenai/carbon/intensity.h"
#include "greenai/error.h"

namespace greenai::carbon {
namespace {

constexpr int kFuzzCases = 3000;

std::string valid_series(std::mt19937& rng, int rows) {
  std::string text = "timestamp,g_per_kwh\n";
  long t = 1'700'000'000;
  for (int i = 0; i < rows; ++i) {
    t += 900 + static_cast<long>(rng() % 3600);
    text += std::to_string(t) + "," + std::to_string(rng() % 900) + "." +
            std::to_string(rng() % 10) + "\n";
  }
  return text;
}

TEST(IntensitySeriesFuzz, MutatedInputParsesOrFailsCleanly) {
  std::mt19937 rng(1234);
  const std::string alphabet = "0123456789,.-+:TZ\"\n\r #e ";
  for (int i = 0; i < kFuzzCases; ++i) {
    std::string text = valid_series(rng, 1 + static_cast<int>(rng() % 6));
    int mutations = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations && !text.empty(); ++m) {
      size_t pos = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text[pos] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          text.erase(pos, 1 + rng() % 5);
          break;
        case 2:
          text.insert(pos, 1, static_cast<char>(rng() % 256));
          break;
      }
    }
    try {
      IntensitySeries s = IntensitySeries::parse_csv(text, "fuzz");
      ASSERT_GT(s.size(), 0u);
      for (size_t k = 1; k < s.size(); ++k) ASSERT_GT(s.times_unix_s()[k], s.times_unix_s()[k - 1]);
      for (double v : s.values_g_per_kwh()) ASSERT_TRUE(v >= 0 && std::isfinite(v));
    } catch (const Error& e) {
      ASSERT_NE(std::string(e.what()).find("cannot read intensity series (path=fuzz)"),
                std::string::npos);
    }
  }
}

TEST(IntensitySeriesFuzz, MutatedSdkJsonParsesOrFailsCleanly) {
  std::mt19937 rng(4321);
  const std::string alphabet = "0123456789,.-:TZ\"{}[] e";
  for (int i = 0; i < kFuzzCases; ++i) {
    std::string text = "[{\"forecastData\": [";
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k)
      text += std::string(k ? "," : "") + "{\"timestamp\": \"2022-07-01T0" + std::to_string(k) +
              ":00:00Z\", \"duration\": 60, \"value\": " + std::to_string(rng() % 900) + "}";
    text += "]}]";
    for (int m = 0; m < 1 + static_cast<int>(rng() % 3); ++m) {
      const size_t pos = rng() % text.size();
      if (rng() % 2)
        text[pos] = alphabet[rng() % alphabet.size()];
      else
        text.erase(pos, 1 + rng() % 4);
    }
    try {
      IntensitySeries s = IntensitySeries::parse_json(text, "fuzz");
      ASSERT_GT(s.size(), 0u);
      for (size_t k = 1; k < s.size(); ++k) ASSERT_GT(s.times_unix_s()[k], s.times_unix_s()[k - 1]);
      for (double v : s.values_g_per_kwh()) ASSERT_TRUE(v >= 0 && std::isfinite(v));
      ASSERT_GT(s.end_unix_s(), s.times_unix_s().back());
    } catch (const Error& e) {
      ASSERT_NE(std::string(e.what()).find("cannot read intensity series (path=fuzz)"),
                std::string::npos);
    }
  }
}

TEST(IntensitySeriesProperty, AverageMatchesFineGridIntegration) {
  std::mt19937 rng(99);
  for (int trial = 0; trial < 50; ++trial) {
    IntensitySeries s = IntensitySeries::parse_csv(valid_series(rng, 2 + trial % 10), "p");
    double t0 = s.start_unix_s() - 1000 + static_cast<double>(rng() % 20000);
    double t1 = t0 + 1 + static_cast<double>(rng() % 20000);
    // Midpoint rule on a 1 s grid; each value is constant over whole seconds.
    double sum = 0;
    long steps = static_cast<long>(t1 - t0);
    for (long k = 0; k < steps; ++k) sum += s.average_over(t0 + k + 0.5, t0 + k + 0.5);
    double fine = (sum + (t1 - t0 - steps) * s.average_over(t1, t1)) / (t1 - t0);
    EXPECT_NEAR(s.average_over(t0, t1), fine, 1e-6 * (1 + fine)) << "trial " << trial;
  }
}

}  // namespace
}  // namespace greenai::carbon
