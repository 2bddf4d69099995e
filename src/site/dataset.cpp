// Reading a CityLearn 2022 site folder (dataset.h).
#include "greenai/site/dataset.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "greenai/error.h"
#include "greenai/util/csv.h"
#include "greenai/util/file.h"
#include "greenai/util/json.h"

namespace greenai::site {
namespace {

using util::Json;

// The named columns of a CSV text, as numbers, with errors that give file, line and column.
class Columns {
 public:
  Columns(const std::string& text, const std::string& file, const std::vector<std::string>& names)
      : file_(file), values_(names.size()) {
    std::vector<size_t> at(names.size(), SIZE_MAX);
    std::vector<std::string> fields;
    size_t width = 0;
    util::for_each_line(text, [&](size_t line, std::string_view row) {
      if (row.empty()) return;
      if (!util::split_csv_line(row, fields))
        throw fail(line, "an unterminated quote", "close the quote or remove it");
      if (line == 1) {
        width = fields.size();
        for (size_t c = 0; c < names.size(); ++c)
          for (size_t f = 0; f < fields.size(); ++f)
            if (fields[f] == names[c]) at[c] = f;
        for (size_t c = 0; c < names.size(); ++c)
          if (at[c] == SIZE_MAX)
            throw fail(1, "no column " + names[c],
                       "the header must name it (CityLearn 2022 layout)");
        return;
      }
      if (fields.size() != width)
        throw fail(
            line,
            std::to_string(fields.size()) + " fields where the header has " + std::to_string(width),
            "every row needs a value per column");
      for (size_t c = 0; c < names.size(); ++c) {
        const std::string& f = fields[at[c]];
        double v = 0;
        const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
        if (f.empty() || ec != std::errc() || end != f.data() + f.size() || !std::isfinite(v))
          throw fail(line,
                     "column " + names[c] + " (" + std::to_string(at[c] + 1) +
                         "): not a number: '" + f + "'",
                     "give a finite number; gaps in real data must be filled before use");
        values_[c].push_back(v);
      }
    });
    if (values_.empty() || values_[0].empty())
      throw fail(0, "no data rows", "the file needs a header and one row per hour");
  }
  const std::vector<double>& operator[](size_t c) const { return values_[c]; }

 private:
  Error fail(size_t line, const std::string& what, const std::string& fix) const {
    return Error("cannot read site data (file=" + file_ +
                     (line ? ", line=" + std::to_string(line) : "") + ")",
                 what, fix);
  }
  std::string file_;
  std::vector<std::vector<double>> values_;
};

double number_or(const Json& object, const char* key, double fallback, const std::string& where) {
  const Json* v = object.find(key);
  if (!v || v->is_null()) return fallback;
  if (v->type() != Json::Type::kNumber || !std::isfinite(v->number()))
    throw Error("cannot read site schema (" + where + ")",
                std::string("\"") + key + "\" is not a number", "fix schema.json");
  return v->number();
}

std::vector<std::pair<double, double>> curve_or(const Json& object, const char* key,
                                                std::vector<std::pair<double, double>> fallback,
                                                const std::string& where) {
  const Json* v = object.find(key);
  if (!v || v->is_null()) return fallback;
  std::vector<std::pair<double, double>> curve;
  const auto bad = [&] {
    return Error("cannot read site schema (" + where + ")",
                 std::string("\"") + key + "\" is not a list of [x, y] points with rising x",
                 "fix schema.json");
  };
  if (!v->is_array()) throw bad();
  for (const Json& p : v->items()) {
    if (!p.is_array() || p.items().size() != 2 || p.items()[0].type() != Json::Type::kNumber ||
        p.items()[1].type() != Json::Type::kNumber)
      throw bad();
    curve.emplace_back(p.items()[0].number(), p.items()[1].number());
  }
  if (curve.size() < 2) throw bad();
  for (size_t i = 1; i < curve.size(); ++i)
    if (!(curve[i].first > curve[i - 1].first)) throw bad();
  return curve;
}

BuildingData building_from(const std::string& name, const Json& spec, const std::string& csv,
                           const std::string& file) {
  BuildingData b;
  b.name = name;
  const std::string where = "building=" + name;
  if (const Json* storage = spec.find("electrical_storage")) {
    const Json* attributes = storage->find("attributes");
    if (attributes && attributes->is_object()) {
      BatterySpec& s = b.battery;
      s.capacity_kwh = number_or(*attributes, "capacity", 0, where);
      s.nominal_power_kw = number_or(*attributes, "nominal_power", 0, where);
      s.efficiency = number_or(*attributes, "efficiency", s.efficiency, where);
      s.capacity_loss_coefficient =
          number_or(*attributes, "capacity_loss_coefficient", s.capacity_loss_coefficient, where);
      s.loss_coefficient = number_or(*attributes, "loss_coefficient", s.loss_coefficient, where);
      s.power_efficiency_curve =
          curve_or(*attributes, "power_efficiency_curve", s.power_efficiency_curve, where);
      s.capacity_power_curve =
          curve_or(*attributes, "capacity_power_curve", s.capacity_power_curve, where);
      if (s.capacity_kwh < 0 || s.nominal_power_kw < 0 ||
          !(s.efficiency > 0 && s.efficiency <= 1) || s.capacity_loss_coefficient < 0 ||
          s.loss_coefficient < 0 || s.loss_coefficient > 1)
        throw Error("cannot read site schema (" + where + ")",
                    "battery capacity and power must be >= 0, efficiency in (0, 1], loss "
                    "coefficients in [0, 1]",
                    "fix schema.json");
    }
  }
  if (const Json* pv = spec.find("pv")) {
    const Json* attributes = pv->find("attributes");
    if (attributes && attributes->is_object())
      b.pv_kw = number_or(*attributes, "nominal_power", 0, where);
    if (b.pv_kw < 0)
      throw Error("cannot read site schema (" + where + ")", "PV size below 0", "fix schema.json");
  }
  const Columns c(csv, file,
                  {"month", "hour", "day_type", "non_shiftable_load", "solar_generation"});
  for (size_t t = 0; t < c[0].size(); ++t) {
    b.month.push_back(static_cast<int>(c[0][t]));
    b.hour.push_back(static_cast<int>(c[1][t]));
    b.day_type.push_back(static_cast<int>(c[2][t]));
  }
  b.load_kwh = c[3];
  b.solar_w_per_kw = c[4];
  return b;
}

// schema.json's text as JSON with a "buildings" object; throws greenai::Error otherwise.
Json parse_schema(const std::string& text, const std::string& source) {
  Json schema;
  try {
    schema = Json::parse(text);
  } catch (const Error& e) {
    throw Error("cannot read site schema (path=" + source + "/schema.json)",
                std::string("not JSON: ") + e.what(), "fix schema.json");
  }
  const Json* buildings = schema.is_object() ? schema.find("buildings") : nullptr;
  if (!buildings || !buildings->is_object())
    throw Error("cannot read site schema (path=" + source + "/schema.json)",
                "no \"buildings\" object", "use a CityLearn 2022 schema.json");
  return schema;
}

}  // namespace

SiteData parse_citylearn(const std::string& schema_json,
                         const std::vector<std::pair<std::string, std::string>>& building_csvs,
                         const std::string& pricing_csv, const std::string& carbon_csv,
                         const std::string& source) {
  const Json schema = parse_schema(schema_json, source);
  const Json* buildings = schema.find("buildings");
  SiteData d;
  d.source = source;
  for (const auto& [name, csv] : building_csvs) {
    const Json* spec = buildings->find(name);
    if (!spec || !spec->is_object())
      throw Error("cannot read site schema (building=" + name + ")",
                  "schema.json does not describe it", "add it to \"buildings\"");
    d.buildings.push_back(building_from(name, *spec, csv, source + "/" + name + ".csv"));
  }
  d.price_per_kwh = Columns(pricing_csv, source + "/pricing.csv", {"electricity_pricing"})[0];
  if (pricing_csv.substr(0, pricing_csv.find('\n')).find("electricity_pricing_predicted_3") !=
      std::string::npos) {
    const Columns predicted(pricing_csv, source + "/pricing.csv",
                            {"electricity_pricing_predicted_1", "electricity_pricing_predicted_2",
                             "electricity_pricing_predicted_3"});
    for (size_t t = 0; t < predicted[0].size(); ++t)
      d.price_predicted.push_back({predicted[0][t], predicted[1][t], predicted[2][t]});
  }
  d.carbon_kg_per_kwh =
      Columns(carbon_csv, source + "/carbon_intensity.csv", {"carbon_intensity"})[0];
  if (d.buildings.empty())
    throw Error("cannot read site data (path=" + source + ")", "no building selected",
                "choose buildings the schema includes");
  const size_t hours = d.price_per_kwh.size();
  const auto mismatch = [&](const std::string& file, size_t n) {
    return Error("cannot read site data (file=" + source + "/" + file + ")",
                 std::to_string(n) + " hours where pricing.csv has " + std::to_string(hours),
                 "every file must cover the same hours");
  };
  if (d.carbon_kg_per_kwh.size() != hours)
    throw mismatch("carbon_intensity.csv", d.carbon_kg_per_kwh.size());
  for (const BuildingData& b : d.buildings)
    if (b.load_kwh.size() != hours) throw mismatch(b.name + ".csv", b.load_kwh.size());
  return d;
}

std::vector<FlexibleJob> parse_jobs(const std::string& csv, const std::string& file, size_t hours) {
  std::vector<FlexibleJob> jobs;
  std::vector<std::string> fields;
  util::for_each_line(csv, [&](size_t line, std::string_view row) {
    if (row.empty()) return;
    const auto fail = [&](const std::string& what) {
      return Error("cannot read jobs (file=" + file + ", line=" + std::to_string(line) + ")", what,
                   "one job per line: name,power_kw,duration_h,release_h,deadline_h");
    };
    if (!util::split_csv_line(row, fields)) throw fail("an unterminated quote");
    if (line == 1) {
      if (fields !=
          std::vector<std::string>{"name", "power_kw", "duration_h", "release_h", "deadline_h"})
        throw fail("the header is not name,power_kw,duration_h,release_h,deadline_h");
      return;
    }
    if (fields.size() != 5) throw fail(std::to_string(fields.size()) + " fields, not 5");
    double v[4];
    for (int i = 0; i < 4; ++i) {
      const std::string& f = fields[i + 1];
      const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v[i]);
      if (f.empty() || ec != std::errc() || end != f.data() + f.size() || !std::isfinite(v[i]) ||
          v[i] < 0)
        throw fail("field " + std::to_string(i + 2) + " is not a number >= 0: '" + f + "'");
    }
    FlexibleJob j{fields[0], v[0], v[1], static_cast<size_t>(v[2]), static_cast<size_t>(v[3])};
    if (v[2] != std::floor(v[2]) || v[3] != std::floor(v[3]))
      throw fail("release and deadline are whole hours");
    if (j.deadline_h > hours) throw fail("the deadline lies past the site's last hour");
    if (j.duration_h > static_cast<double>(j.deadline_h) - static_cast<double>(j.release_h))
      throw fail("it cannot run " + fields[2] + " hours between its release and its deadline");
    jobs.push_back(j);
  });
  return jobs;
}

const std::array<const char*, 16> kWeatherColumns{"outdoor_dry_bulb_temperature",
                                                  "outdoor_relative_humidity",
                                                  "diffuse_solar_irradiance",
                                                  "direct_solar_irradiance",
                                                  "outdoor_dry_bulb_temperature_predicted_1",
                                                  "outdoor_dry_bulb_temperature_predicted_2",
                                                  "outdoor_dry_bulb_temperature_predicted_3",
                                                  "outdoor_relative_humidity_predicted_1",
                                                  "outdoor_relative_humidity_predicted_2",
                                                  "outdoor_relative_humidity_predicted_3",
                                                  "diffuse_solar_irradiance_predicted_1",
                                                  "diffuse_solar_irradiance_predicted_2",
                                                  "diffuse_solar_irradiance_predicted_3",
                                                  "direct_solar_irradiance_predicted_1",
                                                  "direct_solar_irradiance_predicted_2",
                                                  "direct_solar_irradiance_predicted_3"};

void parse_weather(SiteData& data, const std::string& csv, const std::string& file) {
  const Columns c(csv, file,
                  std::vector<std::string>(kWeatherColumns.begin(), kWeatherColumns.end()));
  if (c[0].size() != data.hours())
    throw Error("cannot read site data (file=" + file + ")",
                std::to_string(c[0].size()) + " hours where pricing.csv has " +
                    std::to_string(data.hours()),
                "every file must cover the same hours");
  data.weather.assign(c[0].size(), {});
  for (size_t t = 0; t < c[0].size(); ++t)
    for (size_t k = 0; k < kWeatherColumns.size(); ++k) data.weather[t][k] = c[k][t];
}

SiteData load_citylearn(const std::string& dir, const std::vector<int>& numbers) {
  namespace fs = std::filesystem;
  const auto read = [&](const std::string& name) {
    const fs::path p = fs::path(dir) / name;
    if (!fs::exists(p))
      throw Error("cannot read site data (path=" + p.string() + ")", "no such file",
                  "give --data a CityLearn 2022 phase folder (schema.json, Building_N.csv, "
                  "pricing.csv, carbon_intensity.csv)");
    return util::read_file(p.string());
  };
  const std::string schema_text = read("schema.json");
  const Json schema = parse_schema(schema_text, dir);
  const Json* buildings = schema.find("buildings");
  std::vector<std::pair<std::string, std::string>> csvs;
  for (const auto& [name, spec] : buildings->members()) {
    const Json* include = spec.find("include");
    if (include && include->type() == Json::Type::kBool && !include->boolean()) continue;
    const size_t underscore = name.rfind('_');
    const int number =
        underscore == std::string::npos ? -1 : std::atoi(name.c_str() + underscore + 1);
    if (!numbers.empty() && std::find(numbers.begin(), numbers.end(), number) == numbers.end())
      continue;
    const Json* sim = spec.find("energy_simulation");
    const std::string file =
        sim && sim->type() == Json::Type::kString ? sim->string() : name + ".csv";
    csvs.emplace_back(name, read(file));
  }
  for (int n : numbers) {
    bool found = false;
    for (const auto& [name, text] : csvs) found = found || name == "Building_" + std::to_string(n);
    if (!found)
      throw Error("cannot read site data (building=" + std::to_string(n) + ")",
                  "schema.json in " + dir + " includes no Building_" + std::to_string(n),
                  "choose --buildings among those the schema includes");
  }
  SiteData data =
      parse_citylearn(schema_text, csvs, read("pricing.csv"), read("carbon_intensity.csv"), dir);
  if (fs::exists(fs::path(dir) / "weather.csv"))
    parse_weather(data, read("weather.csv"), dir + "/weather.csv");
  return data;
}

BatteryAccounting parse_battery_accounting(const std::string& name) {
  if (name == "citylearn") return BatteryAccounting::kCityLearn;
  if (name == "physical") return BatteryAccounting::kPhysical;
  throw Error("cannot model the batteries (battery=" + name + ")", "no such accounting",
              "use citylearn (as the 2022 Challenge scored) or physical");
}

const char* to_string(BatteryAccounting a) {
  return a == BatteryAccounting::kCityLearn ? "citylearn" : "physical";
}

void set_battery_accounting(SiteData& data, BatteryAccounting accounting) {
  for (BuildingData& b : data.buildings) b.battery.accounting = accounting;
}

}  // namespace greenai::site
