#include "greenai/carbon/intensity.h"

#include <gtest/gtest.h>

#include "greenai/error.h"
#include "greenai/util/json.h"
#include "support/errors.h"
#include "support/temp_dir.h"

namespace greenai::carbon {
namespace {

using greenai::testing::TempDir;

using greenai::testing::error_of;

TEST(Emissions, KwhTimesPueTimesIntensity) {
  EXPECT_DOUBLE_EQ(emissions_kg(1000, 1.0, 500), 500.0);  // The mission's calculator example.
  EXPECT_DOUBLE_EQ(emissions_kg(2.0, 1.5, 400), 1.2);
  EXPECT_DOUBLE_EQ(emissions_kg(0, 1.2, 400), 0.0);
}

TEST(CountryTable, LooksUpAlpha2Alpha3AndAggregates) {
  auto fr2 = find_country("fr"), fr3 = find_country("FRA");
  ASSERT_TRUE(fr2 && fr3);
  EXPECT_EQ(fr2->code, "FRA");
  EXPECT_EQ(fr2->g_per_kwh, fr3->g_per_kwh);
  EXPECT_EQ(fr2->name, "France");
  EXPECT_EQ(find_country(" us ")->code, "USA");
  EXPECT_EQ(find_country("eu")->alpha2, "");
  EXPECT_FALSE(find_country("XX"));
  EXPECT_FALSE(find_country(""));
  EXPECT_EQ(world_average().code, "WORLD");
  EXPECT_GT(world_average().g_per_kwh, 300);
  EXPECT_LT(world_average().g_per_kwh, 600);
  EXPECT_GT(country_table().size(), 200u);
  for (const auto& row : country_table()) EXPECT_GE(row.g_per_kwh, 0) << row.code;
}

TEST(ResolveIntensity, PrecedenceIsExplicitSeriesCountryWorld) {
  TempDir dir;
  std::string series = dir.write("s.csv", "timestamp,g_per_kwh\n2024-01-01T00:00:00Z,123\n");
  IntensitySource explicit_first =
      resolve_intensity({.g_per_kwh = 50, .series = series, .country = "FR"});
  EXPECT_EQ(explicit_first.kind(), IntensitySource::Kind::kExplicit);
  EXPECT_DOUBLE_EQ(explicit_first.average_over(0, 10), 50);
  IntensitySource series_next = resolve_intensity({.series = series, .country = "FR"});
  EXPECT_EQ(series_next.kind(), IntensitySource::Kind::kSeries);
  EXPECT_DOUBLE_EQ(series_next.average_over(0, 10), 123);
  IntensitySource country = resolve_intensity({.country = "FR"});
  EXPECT_EQ(country.kind(), IntensitySource::Kind::kCountry);
  EXPECT_EQ(country.country_code, "FRA");
  EXPECT_NE(country.description().find("country FRA (France)"), std::string::npos);
  EXPECT_NE(country.description().find("CC BY-SA 4.0"), std::string::npos);
  IntensitySource world = resolve_intensity({});
  EXPECT_EQ(world.kind(), IntensitySource::Kind::kWorldAverage);
  EXPECT_DOUBLE_EQ(world.average_over(0, 0), world_average().g_per_kwh);
}

TEST(ResolveIntensity, BadInputNamesTheFlag) {
  EXPECT_EQ(error_of([] { resolve_intensity({.country = "XX"}); }),
            "cannot find country (--country=XX): not an ISO 3166-1 alpha-2 or alpha-3 code in the "
            "embedded table");
  EXPECT_EQ(
      error_of([] { resolve_intensity({.g_per_kwh = -1}); }),
      "cannot use intensity (--intensity=-1.000000): must be a non-negative number of g CO2eq/kWh");
  EXPECT_EQ(error_of([] { resolve_intensity({.series = std::string("/nonexistent.csv")}); }),
            "cannot read intensity series (path=/nonexistent.csv): no such readable file");
}

TEST(ParseTimestamp, Iso8601AndUnixSeconds) {
  EXPECT_EQ(parse_timestamp("1970-01-01T00:00:00Z"), 0.0);
  EXPECT_EQ(parse_timestamp("2024-03-01T13:00:00Z"), 1709298000.0);
  EXPECT_EQ(parse_timestamp("2024-03-01T14:00:00+01:00"), 1709298000.0);
  EXPECT_EQ(parse_timestamp("2024-03-01 13:00"), 1709298000.0);
  EXPECT_EQ(parse_timestamp("2024-03-01T13:00:00.5Z"), 1709298000.5);
  EXPECT_EQ(parse_timestamp("2000-02-29T00:00:00Z"), 951782400.0);  // A leap day.
  EXPECT_EQ(parse_timestamp("2024-01-01"), 1704067200.0);
  EXPECT_EQ(parse_timestamp("1709298000"), 1709298000.0);
  EXPECT_FALSE(parse_timestamp("2024-13-01T00:00Z"));
  EXPECT_FALSE(parse_timestamp("2024-03-01T25:00Z"));
  EXPECT_FALSE(parse_timestamp("yesterday"));
  EXPECT_FALSE(parse_timestamp("2024-03-01T13:00:00Zjunk"));
  EXPECT_FALSE(parse_timestamp(""));
}

TEST(FormatTimestamp, IsWhatParseTimestampReads) {
  EXPECT_EQ(format_timestamp(1656633600), "2022-07-01T00:00:00Z");
  EXPECT_EQ(format_timestamp(1656633600.9), "2022-07-01T00:00:00Z");  // to the second, down
  for (double t : {0.0, 951782400.0, 1709298000.0, 4102444799.0})
    EXPECT_EQ(*parse_timestamp(format_timestamp(t)), t);
}

TEST(IntensitySeries, AveragesHourByHourWeightedByTime) {
  auto s = IntensitySeries::parse_csv(
      "timestamp,g_per_kwh\n2024-01-01T00:00:00Z,100\n2024-01-01T01:00:00Z,300\n2024-01-01T02:00:"
      "00Z,200\n",
      "test.csv");
  const double t0 = *parse_timestamp("2024-01-01T00:00:00Z");
  EXPECT_EQ(s.size(), 3u);
  EXPECT_DOUBLE_EQ(s.average_over(t0, t0 + 1800), 100);
  EXPECT_DOUBLE_EQ(s.average_over(t0 + 1800, t0 + 5400), 200);  // half 100, half 300
  EXPECT_DOUBLE_EQ(s.average_over(t0 + 2700, t0 + 7200 + 900),
                   (900 * 100 + 3600 * 300 + 900 * 200) / 5400.0);
  EXPECT_DOUBLE_EQ(s.average_over(t0 - 7200, t0 - 3600), 100);    // before: first value
  EXPECT_DOUBLE_EQ(s.average_over(t0 + 86400, t0 + 90000), 200);  // after: last value
  EXPECT_DOUBLE_EQ(s.average_over(t0 + 3600, t0 + 3600), 300);    // an instant
  EXPECT_DOUBLE_EQ(s.end_unix_s(), t0 + 3 * 3600);
}

TEST(IntensitySeries, ReadsElectricityMapsExportPreferringLifecycle) {
  auto s = IntensitySeries::parse_csv(
      "Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO\xe2\x82\x82"
      "eq/kWh (direct),"
      "Carbon Intensity gCO\xe2\x82\x82"
      "eq/kWh (LCA),Low Carbon Percentage,Renewable Percentage,"
      "Data Source,Data Estimated,Data Estimation Method\n"
      "2023-01-01 00:00:00,France,France,FR,20.5,51.2,93.1,30.2,entsoe.eu,false,\n"
      "2023-01-01 01:00:00,France,France,FR,21.0,52.0,93.0,30.0,entsoe.eu,false,\n",
      "fr.csv");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_DOUBLE_EQ(s.values_g_per_kwh()[0], 51.2);
  EXPECT_DOUBLE_EQ(s.times_unix_s()[1] - s.times_unix_s()[0], 3600);
}

TEST(IntensitySeries, ReadsNewerElectricityMapsHeaders) {
  auto s = IntensitySeries::parse_csv(
      "Datetime (UTC),Country,Zone name,Zone id,Carbon intensity gCO\xe2\x82\x82"
      "eq/kWh (direct),"
      "Carbon intensity gCO\xe2\x82\x82"
      "eq/kWh (Life cycle),Carbon-free energy percentage (CFE%)\n"
      "2024-01-01 00:00:00,Germany,Germany,DE,300.1,350.7,50\n",
      "de.csv");
  EXPECT_DOUBLE_EQ(s.values_g_per_kwh()[0], 350.7);
}

TEST(IntensitySeries, HeaderIsOptionalAndCommentsAndCrlfAreFine) {
  auto s = IntensitySeries::parse_csv("# exported\r\n1700000000,10\r\n1700003600,20\r\n", "x");
  EXPECT_EQ(s.size(), 2u);
  EXPECT_DOUBLE_EQ(s.values_g_per_kwh()[1], 20);
}

TEST(IntensitySeries, MalformedInputNamesFileAndLine) {
  auto parse = [](const std::string& text) {
    return error_of([&] { IntensitySeries::parse_csv(text, "g.csv"); });
  };
  const std::string head = "timestamp,g_per_kwh\n2024-01-01T00:00Z,10\n";
  EXPECT_EQ(parse(head + "2024-01-01T01:00Z,abc\n"),
            "cannot read intensity series (path=g.csv): line 3: intensity 'abc' is not a number");
  EXPECT_EQ(parse(head + "2024-01-01T01:00Z,-5\n"),
            "cannot read intensity series (path=g.csv): line 3: negative intensity -5");
  EXPECT_EQ(
      parse(head + "2024-01-01T01:00Z,\n"),
      "cannot read intensity series (path=g.csv): line 3: missing intensity (a gap in the data)");
  EXPECT_EQ(
      parse(head + "2024-01-01T00:00Z,12\n"),
      "cannot read intensity series (path=g.csv): line 3: timestamp not after the previous line's");
  EXPECT_EQ(parse(head + "noon,12\n"),
            "cannot read intensity series (path=g.csv): line 3: malformed timestamp 'noon'");
  EXPECT_EQ(parse(head + "2024-01-01T01:00Z\n"),
            "cannot read intensity series (path=g.csv): line 3: expected at least 2 columns");
  EXPECT_EQ(parse(head + "\"2024-01-01T01:00Z,12\n"),
            "cannot read intensity series (path=g.csv): line 3: unterminated quote");
  EXPECT_EQ(parse("when,what\n1,2\n"),
            "cannot read intensity series (path=g.csv): line 1: header names no timestamp and "
            "intensity columns");
  EXPECT_EQ(parse("timestamp,g_per_kwh\n"),
            "cannot read intensity series (path=g.csv): no data lines");
  EXPECT_EQ(parse(""), "cannot read intensity series (path=g.csv): no data lines");
}

// The forecast endpoint's response of the Green Software Foundation Carbon Aware SDK: an array
// of forecasts, each with forecastData points of `duration` minutes.
TEST(IntensitySeries, ReadsCarbonAwareSdkForecast) {
  const std::string json = R"([{
    "generatedAt": "2022-07-01T00:00:00Z", "requestedAt": "2022-07-01T00:00:00Z",
    "location": "westus", "dataStartAt": "2022-07-01T00:00:00Z",
    "dataEndAt": "2022-07-01T00:15:00Z", "windowSize": 5,
    "optimalDataPoints": [{"location": "westus", "timestamp": "2022-07-01T00:05:00Z",
                           "duration": 5, "value": 100.0}],
    "forecastData": [
      {"location": "westus", "timestamp": "2022-07-01T00:00:00Z", "duration": 5, "value": 300},
      {"location": "westus", "timestamp": "2022-07-01T00:05:00Z", "duration": 5, "value": 100},
      {"location": "westus", "timestamp": "2022-07-01T00:10:00Z", "duration": 5, "value": 200}]
  }])";
  const IntensitySeries s = IntensitySeries::parse_json(json, "f.json");
  ASSERT_EQ(s.size(), 3u);
  const double t0 = *parse_timestamp("2022-07-01T00:00:00Z");
  EXPECT_DOUBLE_EQ(s.start_unix_s(), t0);
  EXPECT_DOUBLE_EQ(s.end_unix_s(), t0 + 900);  // the last point holds for its 5 minutes
  EXPECT_DOUBLE_EQ(s.average_over(t0, t0 + 900), 200);
  EXPECT_DOUBLE_EQ(s.average_over(t0 + 300, t0 + 600), 100);
}

// Its emissions endpoints: an array of points with `time`, `rating` and a TimeSpan duration.
TEST(IntensitySeries, ReadsCarbonAwareSdkEmissionsData) {
  const IntensitySeries s = IntensitySeries::parse_json(
      R"([{"location": "eastus", "time": "2022-07-01T00:00:00Z", "rating": 400,
           "duration": "01:00:00"},
          {"location": "eastus", "time": "2022-07-01T01:00:00Z", "rating": 200,
           "duration": "01:00:00"}])",
      "e.json");
  const double t0 = *parse_timestamp("2022-07-01T00:00:00Z");
  EXPECT_DOUBLE_EQ(s.end_unix_s(), t0 + 7200);
  EXPECT_DOUBLE_EQ(s.average_over(t0, t0 + 7200), 300);
}

TEST(IntensitySeries, LoadTellsJsonFromCsvByItsFirstCharacter) {
  greenai::testing::TempDir dir;
  const std::string path = dir.write("f.json",
                                     "\n  [{\"timestamp\": \"2022-07-01T00:00:00Z\", "
                                     "\"value\": 42, \"duration\": 60}]");
  EXPECT_DOUBLE_EQ(IntensitySeries::load(path).average_over(0, 0), 42);
}

TEST(IntensitySeries, MalformedSdkJsonNamesThePoint) {
  auto parse = [](const std::string& text) {
    return error_of([&] { IntensitySeries::parse_json(text, "f.json"); });
  };
  const std::string a = "cannot read intensity series (path=f.json): ";
  EXPECT_EQ(parse("[{"), a + "not valid JSON: " + error_of([] { util::Json::parse("[{"); }));
  EXPECT_EQ(parse("[]"), a + "no data points");
  EXPECT_EQ(parse(R"([{"forecastData": []}])"), a + "no data points");
  EXPECT_EQ(parse(R"([{"timestamp": "2022-07-01T00:00:00Z"}])"),
            a + "point 0: needs a timestamp and a numeric value");
  EXPECT_EQ(parse(R"([{"timestamp": "2022-07-01T00:00:00Z", "value": "high"}])"),
            a + "point 0: needs a timestamp and a numeric value");
  EXPECT_EQ(parse(R"([{"timestamp": "July", "value": 1}])"),
            a + "point 0: malformed timestamp 'July'");
  EXPECT_EQ(parse(R"([{"timestamp": "2022-07-01T00:00:00Z", "value": -1}])"),
            a + "point 0: negative intensity");
  EXPECT_EQ(parse(R"([{"timestamp": "2022-07-01T01:00:00Z", "value": 1},
                      {"timestamp": "2022-07-01T00:00:00Z", "value": 1}])"),
            a + "point 1: timestamp not after the previous point's");
  EXPECT_EQ(parse(R"([{"timestamp": "2022-07-01T00:00:00Z", "value": 1, "duration": "soon"}])"),
            a + "point 0: malformed duration");
  EXPECT_EQ(parse(R"([{"timestamp": "2022-07-01T00:00:00Z", "value": 1, "duration": 0}])"),
            a + "point 0: malformed duration");
}

TEST(IntensitySeries, FromValuesChecksItsInput) {
  EXPECT_EQ(error_of([] {
              IntensitySeries::from_values({1, 2}, {5}, 60, "x");
            }),
            "cannot make intensity series (x): needs one value per time, and at least one");
  EXPECT_EQ(error_of([] {
              IntensitySeries::from_values({2, 1}, {5, 6}, 60, "x");
            }),
            "cannot make intensity series (x): times must be strictly increasing");
  // A Series becomes one as it is, filled values listed.
  const IntensitySeries from_series =
      IntensitySeries::from_series({{0, 60, 120}, {5, 6, 7}, 60, "s", {1}});
  EXPECT_EQ(from_series.series().filled, std::vector<size_t>{1});
  EXPECT_DOUBLE_EQ(from_series.average_over(0, 180), 6);
  EXPECT_EQ(error_of([] {
              IntensitySeries::from_series({{0, 60}, {5}, 60, "s", {}});
            }),
            "cannot make intensity series (s): needs one value per time, and at least one");
  EXPECT_EQ(error_of([] { IntensitySeries::from_values({1}, {-5}, 60, "x"); }),
            "cannot make intensity series (x): value 0 is negative or not a number");
  EXPECT_DOUBLE_EQ(IntensitySeries::from_values({0, 60}, {1, 3}, 60, "x").average_over(0, 120), 2);
}

}  // namespace
}  // namespace greenai::carbon
