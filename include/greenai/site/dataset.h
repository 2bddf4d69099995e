// A site's year of hourly data in the CityLearn Challenge 2022 layout: per building its
// non-shiftable load and PV yield, the battery and PV sizes from schema.json; for the district the
// electricity price and the grid's carbon intensity. Readers refuse malformed files with the file,
// line and column, and the fix.
//
//   site::SiteData d = site::load_citylearn("../shared/data/grid/citylearn2022/phase_1", {});
//   d.buildings[0].load_kwh[0];   // kWh in the first hour
#pragma once

#include <array>
#include <string>
#include <vector>

namespace greenai::site {

/// How a battery's discharge is credited to its building, for a drop D of its state of charge
/// and a one-way efficiency e.
/// kCityLearn: D / e, as CityLearn 1.3's code (the 2022 Challenge's) computes its energy balance:
///   charging costs D / e and discharging gives D / e back, so a round trip loses nothing but the
///   leak and the fade. The Challenge's scores were computed so: use it to compare with them.
/// kPhysical: D x e, what a battery of that efficiency delivers (round trip e^2).
enum class BatteryAccounting { kCityLearn, kPhysical };
/// "citylearn" or "physical"; throws greenai::Error naming the others.
BatteryAccounting parse_battery_accounting(const std::string& name);
const char* to_string(BatteryAccounting a);

/// A battery's parameters (CityLearn's Battery; its 2022 defaults where schema.json is silent).
struct BatterySpec {
  double capacity_kwh = 0;
  double nominal_power_kw = 0;
  double efficiency = 0.9;                  ///< round trip; each way is its square root (CityLearn)
  double capacity_loss_coefficient = 1e-5;  ///< capacity lost per full-capacity cycle, a fraction
  double loss_coefficient = 0;              ///< state of charge lost per hour, a fraction
  /// (normalised power, round-trip efficiency) points, linear in between.
  std::vector<std::pair<double, double>> power_efficiency_curve{
      {0, 0.83}, {0.3, 0.83}, {0.7, 0.9}, {0.8, 0.9}, {1, 0.85}};
  /// (state of charge over capacity, fraction of nominal power) points, linear in between.
  std::vector<std::pair<double, double>> capacity_power_curve{{0, 1}, {0.8, 1}, {1, 0.2}};
  BatteryAccounting accounting = BatteryAccounting::kCityLearn;
};

struct BuildingData {
  std::string name;                        ///< "Building_1"
  std::vector<double> load_kwh;            ///< non-shiftable load per hour
  std::vector<double> solar_w_per_kw;      ///< PV yield per kW installed, per hour
  std::vector<int> month, hour, day_type;  ///< calendar per hour (hour 1..24, day type 1..8)
  double pv_kw = 0;
  BatterySpec battery;
  /// PV generation in hour t (kWh): yield x size / 1000.
  double solar_kwh(size_t t) const { return solar_w_per_kw[t] * pv_kw / 1000; }
};

/// A deferrable AI job on the site (greenai schedule's model): it draws `power_kw` while it runs
/// and needs `duration_h` hours of running between its release and its deadline; it may pause
/// (a checkpointed training job). Hours are indices into the site's series.
struct FlexibleJob {
  std::string name;
  double power_kw = 0;
  double duration_h = 0;
  size_t release_h = 0;   ///< the first hour it may run
  size_t deadline_h = 0;  ///< it must be done by the start of this hour
};

struct SiteData {
  std::string source;  ///< the folder
  std::vector<BuildingData> buildings;
  std::vector<FlexibleJob> jobs;      ///< deferrable AI jobs (a data-centre site), none by default
  size_t jobs_building = 0;           ///< the building whose load they add to
  std::vector<double> price_per_kwh;  ///< $ per kWh per hour
  /// pricing.csv's predictions of the tariff 6, 12 and 24 h on, per hour (its
  /// electricity_pricing_predicted_1..3 columns); empty when the file has none.
  std::vector<std::array<double, 3>> price_predicted;
  /// weather.csv per hour, when the folder has it (else empty): outdoor dry-bulb temperature
  /// (C), relative humidity (%), diffuse and direct solar irradiance (W/m2), each now and as
  /// predicted 6, 12 and 24 h on, in kWeatherColumns' order.
  std::vector<std::array<double, 16>> weather;
  std::vector<double> carbon_kg_per_kwh;  ///< kg CO2eq per kWh per hour
  size_t hours() const { return price_per_kwh.size(); }
};

/// weather.csv's columns, as SiteData::weather holds them.
extern const std::array<const char*, 16> kWeatherColumns;
/// Reads weather.csv text into `data` (its hours must match); throws greenai::Error naming the
/// file, line and column.
void parse_weather(SiteData& data, const std::string& csv, const std::string& file);

/// Reads `dir` (schema.json, Building_N.csv, pricing.csv, carbon_intensity.csv, and weather.csv
/// when it is there). `buildings`:
/// the numbers N to keep (empty: every building the schema includes). Throws greenai::Error naming
/// the file, and the line and column of a bad value, with the fix.
SiteData load_citylearn(const std::string& dir, const std::vector<int>& buildings);
/// Sets every battery's accounting (load_citylearn gives kCityLearn).
void set_battery_accounting(SiteData& data, BatteryAccounting accounting);

/// The same from texts (for tests): `building_csv[i]` is the i-th building's CSV.
SiteData parse_citylearn(const std::string& schema_json,
                         const std::vector<std::pair<std::string, std::string>>& building_csvs,
                         const std::string& pricing_csv, const std::string& carbon_csv,
                         const std::string& source = "site");

/// Reads deferrable jobs from CSV text with the header name,power_kw,duration_h,release_h,
/// deadline_h; throws greenai::Error naming `file` and the line when a job cannot fit its window
/// (duration > deadline - release), lies outside `hours`, or a value is not a number.
std::vector<FlexibleJob> parse_jobs(const std::string& csv, const std::string& file, size_t hours);

}  // namespace greenai::site
