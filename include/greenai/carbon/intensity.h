// Grid carbon intensity: an embedded country table, hourly series, and the arithmetic.
//
// Sources in order of precedence: an explicit figure; a time series applied hour by hour over
// the run; a country or zone code looked up in the embedded table (Ember yearly averages via
// CO2.js, CC BY-SA 4.0); the world average. Whichever is used is named in every report.
//
//   auto source = greenai::carbon::resolve_intensity({.country = "FR"});
//   double kg = greenai::carbon::emissions_kg(2.0, 1.2, source.average_over(t0, t1));
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace greenai::carbon {

/// kg CO2eq = kWh x PUE x g/kWh / 1000.
double emissions_kg(double energy_kwh, double pue, double intensity_g_per_kwh);

/// Joules per kilowatt-hour.
inline constexpr double kJoulesPerKwh = 3.6e6;

/// One row of the embedded table.
struct CountryIntensity {
  std::string_view code;    ///< ISO 3166-1 alpha-3, or an aggregate key ("WORLD", "EU").
  std::string_view alpha2;  ///< ISO 3166-1 alpha-2, empty for aggregates.
  std::string_view name;
  double g_per_kwh;
};

/// The whole embedded table, sorted by code.
std::span<const CountryIntensity> country_table();
/// Where the table comes from (data set, version, licence).
std::string_view country_table_source();
/// Looks up an alpha-2 code, alpha-3 code or aggregate key, case-insensitively.
std::optional<CountryIntensity> find_country(std::string_view code);
/// The table's WORLD entry.
CountryIntensity world_average();

/// Values over time: the one series type of greenai. Grid intensities, demand and forecasts are
/// all Series; an IntensitySeries is one read as a step function of g CO2eq/kWh, and the
/// forecasters (grid::Series is this type) take them with a regular step.
struct Series {
  std::vector<double> times;   ///< Unix seconds, strictly increasing
  std::vector<double> values;  ///< >= 0
  /// The regular interval; for irregular points (a Carbon Aware SDK forecast), how long the last
  /// value holds.
  double step_s = 0;
  std::string origin;  ///< The file, for messages.
  /// Indices of values that were missing and filled by linear interpolation.
  std::vector<size_t> filled;
};

/// A step series of intensity over time: each value holds from its timestamp to the next one;
/// the last holds for one more median step.
class IntensitySeries {
 public:
  /// Parses CSV text: `timestamp,g_per_kwh` (header optional; timestamps ISO 8601 or Unix
  /// seconds) or an Electricity Maps CSV export (its LCA column, else its direct one).
  /// Throws greenai::Error naming `origin` and the line for malformed input.
  static IntensitySeries parse_csv(std::string_view text, const std::string& origin);
  /// Parses the JSON of the Green Software Foundation Carbon Aware SDK: the forecast endpoint's
  /// response (an array of forecasts; the first one's `forecastData` is read) or an array of
  /// emissions data points (`timestamp` or `time`, `value` or `rating` in g/kWh, `duration` in
  /// minutes or as "hh:mm:ss"). Throws greenai::Error naming `origin` and the point.
  static IntensitySeries parse_json(std::string_view text, const std::string& origin);
  /// Values in force from each of `times` (ascending Unix seconds) to the next; the last holds
  /// for `step_s`. Throws greenai::Error for mismatched sizes, unordered times or bad values.
  static IntensitySeries from_values(std::vector<double> times, std::vector<double> values,
                                     double step_s, std::string origin);
  /// The same from a Series.
  static IntensitySeries from_series(Series series);
  /// Reads and parses a file: JSON when it starts with '[' or '{', CSV otherwise.
  static IntensitySeries load(const std::string& path);

  /// Time-weighted mean intensity over [t0_unix_s, t1_unix_s]; outside the covered span the
  /// nearest value is used. With t0 == t1, the value at t0.
  double average_over(double t0_unix_s, double t1_unix_s) const;
  double start_unix_s() const { return series_.times.front(); }
  double end_unix_s() const { return series_.times.back() + series_.step_s; }
  size_t size() const { return series_.times.size(); }
  const std::vector<double>& times_unix_s() const { return series_.times; }
  const std::vector<double>& values_g_per_kwh() const { return series_.values; }
  const std::string& origin() const { return series_.origin; }
  /// The values as a Series (step_s: the median step, or the last value's duration).
  const Series& series() const { return series_; }

 private:
  Series series_{{}, {}, 3600, "", {}};
};

/// What the user asked for; resolve_intensity applies the precedence.
struct IntensityRequest {
  std::optional<double> g_per_kwh;     ///< --intensity
  std::optional<std::string> series;   ///< --intensity-series FILE
  std::optional<std::string> country;  ///< --country CODE
};

/// The intensity that will be applied, and a sentence saying where it comes from.
class IntensitySource {
 public:
  enum class Kind { kExplicit, kSeries, kCountry, kWorldAverage };
  static IntensitySource constant(Kind kind, double g_per_kwh, std::string description);
  static IntensitySource series(std::shared_ptr<const IntensitySeries> series);

  Kind kind() const { return kind_; }
  /// e.g. "country FRA (France): 44.18 g/kWh, Ember yearly averages via @tgwf/co2 ...".
  const std::string& description() const { return description_; }
  /// Time-weighted mean over the wall-clock span (Unix seconds).
  double average_over(double t0_unix_s, double t1_unix_s) const;
  /// ISO alpha-3 code and name when the source is a country, else empty.
  std::string country_code, country_name;

 private:
  Kind kind_ = Kind::kWorldAverage;
  double g_per_kwh_ = 0;
  std::shared_ptr<const IntensitySeries> series_;
  std::string description_;
};

/// Applies the precedence explicit > series > country > world average. Throws greenai::Error
/// for a negative intensity, an unknown country or an unreadable series.
IntensitySource resolve_intensity(const IntensityRequest& request);

/// Parses an ISO 8601 date-time ("2024-03-01T13:00:00Z", "2024-03-01 13:00", offsets
/// "+01:00") or Unix seconds into Unix seconds; naive times are UTC. nullopt if malformed.
std::optional<double> parse_timestamp(std::string_view text);
/// The wall clock now, in Unix seconds (fractions included).
double now_unix_s();
/// Unix seconds as ISO 8601 UTC to the second ("2024-03-01T13:00:00Z"), as parse_timestamp reads.
std::string format_timestamp(double unix_s);

}  // namespace greenai::carbon
