// A district of buildings run hour by hour under a controller, and the CityLearn Challenge 2022
// scores of the run. Each hour every building's battery is asked for action x capacity kWh
// (action in [-1, 1]: > 0 charge, < 0 discharge), and its net grid electricity is
// load - PV + the battery's energy balance.
//
//   site::SiteData d = site::load_citylearn(dir, {});
//   site::RuleBasedController rbc;
//   site::SiteRun run = site::simulate(d, rbc);
//   site::Scores s = site::score(d, run);      // relative to the same district without batteries
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "greenai/site/battery.h"
#include "greenai/site/dataset.h"
#include "greenai/util/json.h"

namespace greenai::site {

/// What a controller sees at the start of hour t: the data (it may look ahead: forecasters and
/// the perfect-foresight bound do) and each battery now.
struct SiteState {
  const SiteData* data = nullptr;
  size_t t = 0;
  std::vector<const Battery*> batteries;
  double last_district_net_kwh = 0;     ///< the district's net grid electricity in hour t - 1
  std::vector<double> last_net_kwh;     ///< each building's net grid electricity in hour t - 1
  std::vector<double> job_remaining_h;  ///< hours of running each job still needs
};

class Controller {
 public:
  virtual ~Controller() = default;
  virtual std::string name() const = 0;
  /// One action per building, each in [-1, 1] (clipped by the simulator).
  virtual void act(const SiteState& state, std::span<double> actions) = 0;
  /// The share of hour t each deferrable job runs, 0..1 (the simulator runs a job regardless
  /// when its deadline leaves no slack). By default every released job runs at once.
  virtual void schedule(const SiteState& state, std::span<double> shares);
};

/// Every released job with work left runs the whole hour (as soon as possible).
void run_jobs_at_once(const SiteState& state, std::span<double> shares);

/// The hourly series of a run.
struct SiteRun {
  std::string controller;
  /// [building][hour]: net grid electricity (kWh, < 0 exported), battery state of charge (kWh).
  std::vector<std::vector<double>> net_kwh, soc_kwh;
  std::vector<double> district_net_kwh;        ///< sum over buildings
  std::vector<std::vector<double>> job_share;  ///< [job][hour]: the share of the hour it ran
  std::vector<double> job_kwh;                 ///< [hour]: the jobs' energy
  double seconds = 0;                          ///< wall time of the run
};

/// Runs every hour of `data` under `controller`; `with_batteries` false: the no-battery baseline
/// (whose jobs run as soon as they are released).
SiteRun simulate(const SiteData& data, Controller& controller, bool with_batteries = true);
/// The no-battery run (what every score is relative to).
SiteRun baseline(const SiteData& data);

/// A week of the district, hour by hour (for a chart): the grid's net with and without the
/// batteries, load, PV and the batteries' summed charge, kWh.
struct DistrictWeek {
  size_t week = 1, first_hour = 0;
  std::vector<double> net_kwh, baseline_net_kwh, load_kwh, pv_kwh, charge_kwh;
};
/// Week `week` (1-based, clamped to the weeks the data holds) of `run` beside `base`.
DistrictWeek district_week(const SiteData& data, const SiteRun& run, const SiteRun& base,
                           size_t week);
/// How many whole weeks the data holds (at least 1).
size_t weeks_of(const SiteData& data);

/// The 2022 Challenge's KPIs of a run, each the run's over the no-battery baseline's (lower is
/// better, 1 = no battery): electricity cost (sum over hours of the district's cost, clipped at
/// 0 each hour), carbon emissions (sum over buildings and hours of emissions, clipped at 0),
/// ramping (sum of |net[t] - net[t-1]|), 1 - load factor (mean over 730-hour windows of
/// 1 - mean / peak), and the score 1/3 cost + 1/3 emissions + 1/6 ramping + 1/6 (1 - load factor).
struct Kpis {
  double cost = 0, emissions = 0, ramping = 0, one_minus_load_factor = 0;
  double score() const {
    return cost / 3 + emissions / 3 + ramping / 6 + one_minus_load_factor / 6;
  }
  util::Json to_json() const;
};

/// Absolute KPIs of hourly series (the inputs of the ratios above).
struct RawKpis {
  double cost = 0, emissions = 0, ramping = 0, one_minus_load_factor = 0;
};
/// District-level: cost from the summed series, emissions per building (`per_building_net`).
RawKpis raw_kpis(const std::vector<std::vector<double>>& per_building_net,
                 const std::vector<double>& price, const std::vector<double>& carbon);

struct Scores {
  Kpis district;
  std::vector<Kpis> buildings;  ///< each building alone against its own baseline
  util::Json to_json(const SiteData& data) const;
};
Scores score(const SiteData& data, const SiteRun& run, const SiteRun& base);

}  // namespace greenai::site
