#include "greenai/carbon/intensity.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>

#include "greenai/error.h"
#include "greenai/util/csv.h"
#include "greenai/util/json.h"

namespace greenai::carbon {
namespace {

constexpr CountryIntensity kTable[] = {
#define GREENAI_COUNTRY(code, alpha2, name, g) {code, alpha2, name, g},
#include "carbon/country_table.inc"
#undef GREENAI_COUNTRY
};

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return std::string(text);
}

std::optional<double> parse_number(std::string_view text) {
  std::string t = trim(text);
  double value = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (t.empty() || ec != std::errc() || ptr != t.data() + t.size() || !std::isfinite(value))
    return std::nullopt;
  return value;
}

// Days from 1970-01-01 to year-month-day in the proleptic Gregorian calendar, counting in
// 400-year eras of 146097 days with years starting on 1 March (so leap days fall last).
long long days_from_civil(long long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned year_of_era = static_cast<unsigned>(y - era * 400);
  const unsigned day_of_year = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<long long>(day_of_era) - 719468;
}

bool read_digits(std::string_view& s, size_t count, int& out) {
  if (s.size() < count) return false;
  out = 0;
  for (size_t i = 0; i < count; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  s.remove_prefix(count);
  return true;
}

bool eat(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

}  // namespace

double emissions_kg(double energy_kwh, double pue, double intensity_g_per_kwh) {
  return energy_kwh * pue * intensity_g_per_kwh / 1000.0;
}

std::span<const CountryIntensity> country_table() { return kTable; }
std::string_view country_table_source() { return GREENAI_COUNTRY_TABLE_SOURCE; }

std::optional<CountryIntensity> find_country(std::string_view code) {
  const std::string key = upper(trim(code));
  if (key.empty()) return std::nullopt;
  for (const CountryIntensity& row : kTable)
    if (row.code == key || row.alpha2 == key) return row;
  return std::nullopt;
}

CountryIntensity world_average() { return *find_country("WORLD"); }

std::optional<double> parse_timestamp(std::string_view raw) {
  std::string owned = trim(raw);
  std::string_view s = owned;
  if (s.empty()) return std::nullopt;
  if (s.find('-', 1) == std::string_view::npos) {  // Unix seconds (possibly negative).
    return parse_number(s);
  }
  int year, month, day, hour = 0, minute = 0, second = 0;
  if (!read_digits(s, 4, year) || !eat(s, '-') || !read_digits(s, 2, month) || !eat(s, '-') ||
      !read_digits(s, 2, day))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  double fraction = 0;
  if (!s.empty()) {
    if (!eat(s, 'T') && !eat(s, ' ') && !eat(s, 't')) return std::nullopt;
    if (!read_digits(s, 2, hour) || !eat(s, ':') || !read_digits(s, 2, minute)) return std::nullopt;
    if (eat(s, ':')) {
      if (!read_digits(s, 2, second)) return std::nullopt;
      if (eat(s, '.') || eat(s, ',')) {
        double scale = 0.1;
        if (s.empty() || !std::isdigit(static_cast<unsigned char>(s.front()))) return std::nullopt;
        while (!s.empty() && std::isdigit(static_cast<unsigned char>(s.front()))) {
          fraction += (s.front() - '0') * scale;
          scale /= 10;
          s.remove_prefix(1);
        }
      }
    }
    if (hour > 24 || minute > 59 || second > 60) return std::nullopt;
  }
  int offset_s = 0;
  if (eat(s, 'Z') || eat(s, 'z')) {
  } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    int sign = s.front() == '+' ? 1 : -1;
    s.remove_prefix(1);
    int oh, om = 0;
    if (!read_digits(s, 2, oh)) return std::nullopt;
    eat(s, ':');
    if (!s.empty() && !read_digits(s, 2, om)) return std::nullopt;
    offset_s = sign * (oh * 3600 + om * 60);
  }
  if (!s.empty()) return std::nullopt;
  double days = static_cast<double>(
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)));
  return days * 86400 + hour * 3600 + minute * 60 + second + fraction - offset_s;
}

double now_unix_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string format_timestamp(double unix_s) {
  const auto t = static_cast<std::time_t>(std::floor(unix_s));
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

IntensitySeries IntensitySeries::parse_csv(std::string_view text, const std::string& origin) {
  const std::string action = "cannot read intensity series (path=" + origin + ")";
  IntensitySeries series;
  series.series_.origin = origin;
  size_t time_column = 0, value_column = 1;
  bool header_seen = false;
  std::vector<std::string> fields;
  util::for_each_line(text, [&](size_t number, std::string_view line) {
    const std::string where = "line " + std::to_string(number);
    if (trim(line).empty() || line.front() == '#') return;
    if (!util::split_csv_line(line, fields)) throw Error(action, where + ": unterminated quote");
    if (!header_seen) {
      header_seen = true;
      if (!parse_timestamp(fields[0])) {  // A header: find the columns by name.
        std::optional<size_t> lca, direct, generic, time;
        for (size_t i = 0; i < fields.size(); ++i) {
          std::string name = trim(fields[i]);
          std::string lower = name;
          for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          if (!time && (lower.rfind("datetime", 0) == 0 || lower == "timestamp" || lower == "time"))
            time = i;
          if (lower.find("carbon intensity") != std::string::npos) {
            // Lifecycle column: "(LCA)" in older exports, "(Life cycle)" in newer ones.
            if (lower.find("(lca)") != std::string::npos ||
                lower.find("life cycle") != std::string::npos)
              lca = i;
            else if (lower.find("(direct)") != std::string::npos)
              direct = i;
            else
              generic = i;
          }
          if (lower == "g_per_kwh" || lower == "intensity" || lower == "carbon_intensity")
            generic = i;
        }
        auto value = lca ? lca : direct ? direct : generic;
        if (!time || !value)
          throw Error(action, where + ": header names no timestamp and intensity columns",
                      "use `timestamp,g_per_kwh` or an Electricity Maps CSV export");
        time_column = *time;
        value_column = *value;
        return;
      }
    }
    if (fields.size() <= std::max(time_column, value_column))
      throw Error(action, where + ": expected at least " +
                              std::to_string(std::max(time_column, value_column) + 1) + " columns");
    auto t = parse_timestamp(fields[time_column]);
    if (!t)
      throw Error(action, where + ": malformed timestamp '" + fields[time_column] + "'",
                  "use ISO 8601 such as 2024-03-01T13:00:00Z, or Unix seconds");
    if (trim(fields[value_column]).empty())
      throw Error(action, where + ": missing intensity (a gap in the data)",
                  "fill the gap or remove the line; it must not be read as zero");
    auto v = parse_number(fields[value_column]);
    if (!v)
      throw Error(action, where + ": intensity '" + fields[value_column] + "' is not a number");
    if (*v < 0) throw Error(action, where + ": negative intensity " + trim(fields[value_column]));
    if (!series.series_.times.empty() && *t <= series.series_.times.back())
      throw Error(action, where + ": timestamp not after the previous line's",
                  "sort the series by time and remove duplicates");
    series.series_.times.push_back(*t);
    series.series_.values.push_back(*v);
  });
  if (series.series_.times.empty()) throw Error(action, "no data lines");
  if (series.series_.times.size() > 1) {
    std::vector<double> steps;
    for (size_t i = 1; i < series.series_.times.size(); ++i)
      steps.push_back(series.series_.times[i] - series.series_.times[i - 1]);
    std::nth_element(steps.begin(), steps.begin() + steps.size() / 2, steps.end());
    series.series_.step_s = steps[steps.size() / 2];
  }
  return series;
}

IntensitySeries IntensitySeries::from_values(std::vector<double> times, std::vector<double> values,
                                             double step_s, std::string origin) {
  const std::string action = "cannot make intensity series (" + origin + ")";
  if (times.empty() || times.size() != values.size())
    throw Error(action, "needs one value per time, and at least one");
  if (!(step_s > 0)) throw Error(action, "the last value's duration must be positive");
  for (size_t i = 0; i < times.size(); ++i) {
    if (!std::isfinite(values[i]) || values[i] < 0 || !std::isfinite(times[i]))
      throw Error(action, "value " + std::to_string(i) + " is negative or not a number");
    if (i > 0 && times[i] <= times[i - 1]) throw Error(action, "times must be strictly increasing");
  }
  IntensitySeries series;
  series.series_.times = std::move(times);
  series.series_.values = std::move(values);
  series.series_.step_s = step_s;
  series.series_.origin = std::move(origin);
  return series;
}

IntensitySeries IntensitySeries::from_series(Series s) {
  IntensitySeries series =
      from_values(std::move(s.times), std::move(s.values), s.step_s, std::move(s.origin));
  series.series_.filled = std::move(s.filled);
  return series;
}

namespace {

// Minutes as a number (the SDK's forecast points) or a "[d.]hh:mm:ss" TimeSpan (its emissions
// data points); seconds, or nullopt if malformed.
std::optional<double> sdk_duration_s(const util::Json& value) {
  if (value.type() == util::Json::Type::kNumber)
    return value.number() > 0 && std::isfinite(value.number() * 60)
               ? std::optional<double>(value.number() * 60)
               : std::nullopt;
  if (value.type() != util::Json::Type::kString) return std::nullopt;
  int days = 0, h = 0, m = 0;
  double sec = 0;
  const std::string& text = value.string();
  char tail = 0;
  if (std::sscanf(text.c_str(), "%d.%d:%d:%lf%c", &days, &h, &m, &sec, &tail) != 4) {
    days = 0;
    if (std::sscanf(text.c_str(), "%d:%d:%lf%c", &h, &m, &sec, &tail) != 3) return std::nullopt;
  }
  const double total = days * 86400.0 + h * 3600.0 + m * 60.0 + sec;
  return total > 0 && std::isfinite(total) ? std::optional<double>(total) : std::nullopt;
}

}  // namespace

IntensitySeries IntensitySeries::parse_json(std::string_view text, const std::string& origin) {
  const std::string action = "cannot read intensity series (path=" + origin + ")";
  const std::string hint =
      "give the Carbon Aware SDK's /emissions/forecasts response or an array of its emissions "
      "data points";
  util::Json doc;
  try {
    doc = util::Json::parse(std::string(text));
  } catch (const Error& e) {
    throw Error(action, std::string("not valid JSON: ") + e.what(), hint);
  }
  const util::Json* points = &doc;
  if (doc.is_array() && !doc.items().empty() && doc.items()[0].find("forecastData"))
    points = doc.items()[0].find("forecastData");
  else if (doc.is_object() && doc.find("forecastData"))
    points = doc.find("forecastData");
  if (!points->is_array() || points->items().empty()) throw Error(action, "no data points", hint);
  std::vector<double> times, values, durations;
  for (size_t i = 0; i < points->items().size(); ++i) {
    const util::Json& p = points->items()[i];
    const std::string where = "point " + std::to_string(i);
    const util::Json* time = p.is_object() ? p.find("timestamp") : nullptr;
    if (p.is_object() && !time) time = p.find("time");
    const util::Json* value = p.is_object() ? p.find("value") : nullptr;
    if (p.is_object() && !value) value = p.find("rating");
    if (!time || time->type() != util::Json::Type::kString || !value ||
        value->type() != util::Json::Type::kNumber)
      throw Error(action, where + ": needs a timestamp and a numeric value", hint);
    auto t = parse_timestamp(time->string());
    if (!t) throw Error(action, where + ": malformed timestamp '" + time->string() + "'");
    if (value->number() < 0 || !std::isfinite(value->number()))
      throw Error(action, where + ": negative intensity");
    if (!times.empty() && *t <= times.back())
      throw Error(action, where + ": timestamp not after the previous point's",
                  "sort the points by time and remove duplicates");
    if (const util::Json* d = p.find("duration")) {
      auto seconds = sdk_duration_s(*d);
      if (!seconds) throw Error(action, where + ": malformed duration");
      durations.push_back(*seconds);
    }
    times.push_back(*t);
    values.push_back(value->number());
  }
  double step = durations.empty() ? 0 : durations.back();
  if (step == 0 && times.size() > 1) step = times.back() - times[times.size() - 2];
  return from_values(std::move(times), std::move(values), step > 0 ? step : 3600, origin);
}

IntensitySeries IntensitySeries::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read intensity series (path=" + path + ")", "no such readable file");
  std::ostringstream text;
  text << in.rdbuf();
  const std::string content = text.str();
  const size_t first = content.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (content[first] == '[' || content[first] == '{'))
    return parse_json(content, path);
  return parse_csv(content, path);
}

double IntensitySeries::average_over(double t0, double t1) const {
  const std::vector<double>& times = series_.times;
  const std::vector<double>& values = series_.values;
  // Value in force at time t: the last sample at or before t (the first one before the start).
  auto value_at = [&](double t) {
    auto it = std::upper_bound(times.begin(), times.end(), t);
    return values[it == times.begin() ? 0 : static_cast<size_t>(it - times.begin()) - 1];
  };
  if (t1 <= t0) return value_at(t0);
  double weighted = 0;
  double t = t0;
  while (t < t1) {
    auto it = std::upper_bound(times.begin(), times.end(), t);
    double next = it == times.end() ? t1 : std::min(t1, *it);
    weighted += value_at(t) * (next - t);
    t = next;
  }
  return weighted / (t1 - t0);
}

IntensitySource IntensitySource::constant(Kind kind, double g_per_kwh, std::string description) {
  IntensitySource source;
  source.kind_ = kind;
  source.g_per_kwh_ = g_per_kwh;
  source.description_ = std::move(description);
  return source;
}

IntensitySource IntensitySource::series(std::shared_ptr<const IntensitySeries> series) {
  IntensitySource source;
  source.kind_ = Kind::kSeries;
  std::ostringstream text;
  text << "time series " << series->origin() << " (" << series->size()
       << " values, applied hour by hour; outside its span the nearest value holds)";
  source.description_ = text.str();
  source.series_ = std::move(series);
  return source;
}

double IntensitySource::average_over(double t0_unix_s, double t1_unix_s) const {
  return series_ ? series_->average_over(t0_unix_s, t1_unix_s) : g_per_kwh_;
}

IntensitySource resolve_intensity(const IntensityRequest& request) {
  char number[64];
  if (request.g_per_kwh) {
    if (!std::isfinite(*request.g_per_kwh) || *request.g_per_kwh < 0)
      throw Error("cannot use intensity (--intensity=" + std::to_string(*request.g_per_kwh) + ")",
                  "must be a non-negative number of g CO2eq/kWh");
    std::snprintf(number, sizeof number, "%.2f", *request.g_per_kwh);
    return IntensitySource::constant(IntensitySource::Kind::kExplicit, *request.g_per_kwh,
                                     std::string("explicit --intensity ") + number + " g/kWh");
  }
  if (request.series) {
    return IntensitySource::series(
        std::make_shared<const IntensitySeries>(IntensitySeries::load(*request.series)));
  }
  const CountryIntensity row = [&] {
    if (!request.country) return world_average();
    auto found = find_country(*request.country);
    if (!found)
      throw Error(
          "cannot find country (--country=" + *request.country + ")",
          "not an ISO 3166-1 alpha-2 or alpha-3 code in the embedded table",
          "use a code such as FR, FRA, US or DEU; `greenai co2 --list-countries` lists them");
    return *found;
  }();
  std::snprintf(number, sizeof number, "%.2f", row.g_per_kwh);
  const bool world = !request.country;
  IntensitySource source = IntensitySource::constant(
      world ? IntensitySource::Kind::kWorldAverage : IntensitySource::Kind::kCountry, row.g_per_kwh,
      std::string(world ? "world average " : "country ") + std::string(row.code) + " (" +
          std::string(row.name) + "): " + number + " g/kWh, " +
          std::string(country_table_source()));
  if (!world) {
    source.country_code = row.code;
    source.country_name = row.name;
  }
  return source;
}

}  // namespace greenai::carbon
