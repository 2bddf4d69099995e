// The district simulation and its KPIs (simulator.h).
#include "greenai/site/simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "greenai/error.h"

namespace greenai::site {
namespace {

// Never used: the baseline runs with no battery at all.
class Idle : public Controller {
 public:
  std::string name() const override { return "none"; }
  void act(const SiteState&, std::span<double> actions) override {
    std::fill(actions.begin(), actions.end(), 0.0);
  }
};

// CityLearn's load factor: windows of 730 hours (a twelfth of a year), each 1 - mean / peak, and
// their mean.
double one_minus_load_factor(const std::vector<double>& net) {
  constexpr size_t kWindow = 730;
  double sum = 0;
  int windows = 0;
  for (size_t start = 0; start < net.size(); start += kWindow) {
    const size_t end = std::min(net.size(), start + kWindow);
    double mean = 0, peak = -INFINITY;
    for (size_t t = start; t < end; ++t) {
      mean += net[t];
      peak = std::max(peak, net[t]);
    }
    mean /= static_cast<double>(end - start);
    sum += peak != 0 ? 1 - mean / peak : 0;
    ++windows;
  }
  return windows ? sum / windows : 0;
}

double ratio(double run, double base) { return base != 0 ? run / base : (run == 0 ? 1 : INFINITY); }

Kpis relative(const RawKpis& run, const RawKpis& base) {
  return {ratio(run.cost, base.cost), ratio(run.emissions, base.emissions),
          ratio(run.ramping, base.ramping),
          ratio(run.one_minus_load_factor, base.one_minus_load_factor)};
}

}  // namespace

void Controller::schedule(const SiteState& state, std::span<double> shares) {
  run_jobs_at_once(state, shares);
}

void run_jobs_at_once(const SiteState& state, std::span<double> shares) {
  for (size_t j = 0; j < shares.size(); ++j) {
    const FlexibleJob& job = state.data->jobs[j];
    shares[j] = state.t >= job.release_h && state.job_remaining_h[j] > 0 ? 1.0 : 0.0;
  }
}

SiteRun simulate(const SiteData& data, Controller& controller, bool with_batteries) {
  const auto started = std::chrono::steady_clock::now();
  const size_t n = data.buildings.size(), hours = data.hours();
  SiteRun run;
  run.controller = with_batteries ? controller.name() : "none";
  run.net_kwh.assign(n, std::vector<double>(hours));
  run.soc_kwh.assign(n, std::vector<double>(hours));
  run.district_net_kwh.assign(hours, 0);
  std::vector<Battery> batteries;
  for (const BuildingData& b : data.buildings) batteries.emplace_back(b.battery);
  SiteState state;
  state.data = &data;
  for (const Battery& b : batteries) state.batteries.push_back(&b);
  state.last_net_kwh.assign(n, 0.0);
  std::vector<double> actions(n, 0), shares(data.jobs.size(), 0);
  for (const FlexibleJob& j : data.jobs) state.job_remaining_h.push_back(j.duration_h);
  run.job_share.assign(data.jobs.size(), std::vector<double>(hours, 0));
  run.job_kwh.assign(hours, 0);
  for (size_t t = 0; t < hours; ++t) {
    state.t = t;
    if (with_batteries) {
      controller.act(state, actions);
      controller.schedule(state, shares);
    } else {
      run_jobs_at_once(state, shares);
    }
    for (size_t j = 0; j < data.jobs.size(); ++j) {
      const FlexibleJob& job = data.jobs[j];
      double& left = state.job_remaining_h[j];
      double share = 0;
      if (t >= job.release_h && t < job.deadline_h && left > 0) {
        // What must run now for the job to finish by its deadline, whatever was asked.
        const double must = left - static_cast<double>(job.deadline_h - t - 1);
        share = std::isfinite(shares[j]) ? std::clamp(shares[j], 0.0, 1.0) : 0.0;
        share = std::min(std::max(share, must), std::min(1.0, left));
      }
      left -= share;
      run.job_share[j][t] = share;
      run.job_kwh[t] += share * job.power_kw;
    }
    for (size_t i = 0; i < n; ++i) {
      const BuildingData& b = data.buildings[i];
      double balance = 0;
      if (with_batteries) {
        const double a = std::isfinite(actions[i]) ? std::clamp(actions[i], -1.0, 1.0) : 0.0;
        balance = batteries[i].charge(a * batteries[i].capacity_kwh());
      }
      const double jobs = i == data.jobs_building ? run.job_kwh[t] : 0.0;
      const double net = b.load_kwh[t] + jobs - b.solar_kwh(t) + balance;
      run.net_kwh[i][t] = net;
      run.soc_kwh[i][t] = batteries[i].soc_kwh();
      run.district_net_kwh[t] += net;
      state.last_net_kwh[i] = net;
    }
    state.last_district_net_kwh = run.district_net_kwh[t];
  }
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return run;
}

SiteRun baseline(const SiteData& data) {
  Idle idle;
  return simulate(data, idle, false);
}

size_t weeks_of(const SiteData& data) { return std::max<size_t>(1, data.hours() / 168); }

DistrictWeek district_week(const SiteData& data, const SiteRun& run, const SiteRun& base,
                           size_t week) {
  DistrictWeek w;
  w.week = std::clamp<size_t>(week, 1, weeks_of(data));
  w.first_hour = (w.week - 1) * 168;
  for (size_t t = w.first_hour; t < std::min(data.hours(), w.first_hour + 168); ++t) {
    double load = 0, pv = 0, charge = 0;
    for (size_t b = 0; b < data.buildings.size(); ++b) {
      load += data.buildings[b].load_kwh[t];
      pv += data.buildings[b].solar_kwh(t);
      charge += run.soc_kwh[b][t];
    }
    w.net_kwh.push_back(run.district_net_kwh[t]);
    w.baseline_net_kwh.push_back(base.district_net_kwh[t]);
    w.load_kwh.push_back(load);
    w.pv_kwh.push_back(pv);
    w.charge_kwh.push_back(charge);
  }
  return w;
}

RawKpis raw_kpis(const std::vector<std::vector<double>>& per_building_net,
                 const std::vector<double>& price, const std::vector<double>& carbon) {
  RawKpis k;
  const size_t hours = price.size();
  std::vector<double> district(hours, 0);
  for (const auto& net : per_building_net)
    for (size_t t = 0; t < hours; ++t) {
      district[t] += net[t];
      k.emissions += std::max(net[t] * carbon[t], 0.0);
    }
  for (size_t t = 0; t < hours; ++t) {
    k.cost += std::max(district[t] * price[t], 0.0);
    if (t > 0) k.ramping += std::abs(district[t] - district[t - 1]);
  }
  k.one_minus_load_factor = one_minus_load_factor(district);
  return k;
}

Scores score(const SiteData& data, const SiteRun& run, const SiteRun& base) {
  Scores s;
  s.district = relative(raw_kpis(run.net_kwh, data.price_per_kwh, data.carbon_kg_per_kwh),
                        raw_kpis(base.net_kwh, data.price_per_kwh, data.carbon_kg_per_kwh));
  for (size_t i = 0; i < run.net_kwh.size(); ++i)
    s.buildings.push_back(
        relative(raw_kpis({run.net_kwh[i]}, data.price_per_kwh, data.carbon_kg_per_kwh),
                 raw_kpis({base.net_kwh[i]}, data.price_per_kwh, data.carbon_kg_per_kwh)));
  return s;
}

util::Json Kpis::to_json() const {
  return util::Json::object()
      .set("cost", cost)
      .set("emissions", emissions)
      .set("ramping", ramping)
      .set("one_minus_load_factor", one_minus_load_factor)
      .set("score", score());
}

util::Json Scores::to_json(const SiteData& data) const {
  util::Json list = util::Json::array();
  for (size_t i = 0; i < buildings.size(); ++i)
    list.push(buildings[i].to_json().set("building", data.buildings[i].name));
  return util::Json::object().set("district", district.to_json()).set("buildings", list);
}

}  // namespace greenai::site
