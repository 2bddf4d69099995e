// The model-predictive controller (controllers.h): one linear program, built once, re-solved
// every hour with the hour's forecasts as bounds and costs.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "greenai/error.h"
#include "greenai/grid/forecast.h"
#include "greenai/site/controllers.h"
#include "site/internal/linear_program.h"

namespace greenai::site {

using internal::kUnbounded;

struct MpcController::Impl {
  const SiteData* site = nullptr;
  MpcOptions options;
  size_t buildings = 0;
  int horizon = 24;
  // Forecasts per origin t: [t][h] for h < horizon (the real series with `oracle`).
  std::vector<std::vector<std::vector<double>>> base_net;  // [building][t][h]: load - PV
  std::vector<std::vector<double>> carbon;                 // [t][h]
  // Variables and rows of the program.
  internal::LinearProgram lp;
  std::vector<std::vector<int>> c, d, s, e;  // [building][h]
  std::vector<int> g, r;                     // [h]
  // Deferrable jobs in slots: slot k holds one job whose window meets the horizon; its variable
  // x[k][h] is the job's energy in hour h (kWh), so the matrix is the same whichever job a slot
  // holds and only bounds change. There are as many slots as jobs ever meet one horizon.
  std::vector<std::vector<int>> x;  // [slot][h]
  std::vector<int> job_rows;        // [slot]: the job's energy within the horizon
  std::vector<long> slot_job;       // [slot]: the job it holds, or -1
  std::vector<double> job_shares;   // [job]: the first hour's share, from the last solve
  bool solved = false;
  std::vector<std::vector<int>> dynamics, power, emission;  // rows [building][h]
  std::vector<int> cost_rows, ramp_up, ramp_down;           // rows [h]
  std::vector<double> eta, power_kw;                        // per building
  // Running sums of the no-battery site over the hours seen, for the weights.
  double seen_cost = 0, seen_emissions = 0, seen_ramping = 0, last_base = 0;
  size_t seen = 0;
  double solve_s = 0;
  int failures = 0;

  double forecast_net(size_t b, size_t t, int h) const { return base_net[b][t][h]; }
  Weights weights(const SiteState& state);
  void add_battery_rows(size_t b);
  void add_district_rows();
  void add_job_rows();
  void place_jobs(const SiteState& state);
};

namespace {

// Rows k of the forecast of `y` from every origin, h = 0 .. horizon - 1; hours past the end of
// the series are held at the last one's forecast.
std::vector<std::vector<double>> forecasts(const std::vector<double>& y, int horizon, bool oracle) {
  const size_t n = y.size();
  std::vector<std::vector<double>> rows(n, std::vector<double>(horizon));
  if (oracle) {
    for (size_t t = 0; t < n; ++t)
      for (int h = 0; h < horizon; ++h) rows[t][h] = y[std::min(n - 1, t + h)];
    return rows;
  }
  // GreenAI's seasonal naive forecaster (a day's season); before a day has passed, the first
  // hour's value.
  auto model = grid::seasonal_naive_model(24, "seasonal naive (24 h)");
  model->fit(std::vector<double>(y.begin(), y.begin() + std::min<size_t>(n, 24)));
  std::vector<size_t> origins;
  for (size_t t = 24; t < n; ++t) origins.push_back(t);
  const std::vector<std::vector<double>> f = model->forecast_from(y, origins, horizon);
  for (size_t t = 0; t < std::min<size_t>(24, n); ++t)
    std::fill(rows[t].begin(), rows[t].end(), t > 0 ? y[t - 1] : y[0]);
  for (size_t k = 0; k < origins.size(); ++k) rows[origins[k]] = f[k];
  // The hour being decided is observed, as CityLearn's observations at hour t carry its load, PV
  // and carbon intensity (and the RL agents see it too): only the hours after it are forecast.
  for (size_t t = 0; t < n; ++t) rows[t][0] = y[t];
  return rows;
}

// The capacity-power curve's last segment, (0.8, 1) to (1, 0.2) by default: the power limit is
// P x (y0 + slope x (s / C - x0)) there, linear in the charge s at the hour's start.
struct Segment {
  double x0, y0, slope;
};
Segment top_segment(const BatterySpec& spec) {
  const auto& curve = spec.capacity_power_curve;
  const auto [x0, y0] = curve[curve.size() - 2];
  const auto [x1, y1] = curve.back();
  return {x0, y0, (y1 - y0) / (x1 - x0)};
}

// The most deferrable jobs whose windows meet one horizon [t, t + H): the MPC's job slots.
size_t slots_needed(const SiteData& data, int H) {
  std::vector<int> starts(data.hours() + H + 1, 0);
  for (const FlexibleJob& job : data.jobs) {
    // Horizons starting at t in (release - H, deadline) meet the window.
    const size_t from = job.release_h >= static_cast<size_t>(H) ? job.release_h - H + 1 : 0;
    ++starts[from];
    --starts[std::min(job.deadline_h, data.hours() + H)];
  }
  size_t most = 0;
  int open = 0;
  for (int d : starts) most = std::max<size_t>(most, static_cast<size_t>(open += d));
  return most;
}

}  // namespace

MpcController::MpcController(const SiteData& data, MpcOptions options)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  if (options.horizon_h < 1 || options.horizon_h > 168)
    throw Error("cannot run the MPC (horizon=" + std::to_string(options.horizon_h) + ")",
                "the horizon lies in 1..168 hours");
  m.site = &data;
  m.options = options;
  m.horizon = options.horizon_h;
  m.buildings = data.buildings.size();
  const int H = m.horizon;
  for (const BuildingData& b : data.buildings) {
    std::vector<double> load = b.load_kwh, pv(b.load_kwh.size());
    for (size_t t = 0; t < pv.size(); ++t) pv[t] = b.solar_kwh(t);
    const auto fl = forecasts(load, H, options.oracle), fp = forecasts(pv, H, options.oracle);
    std::vector<std::vector<double>> net(fl.size(), std::vector<double>(H));
    for (size_t t = 0; t < fl.size(); ++t)
      for (int h = 0; h < H; ++h) net[t][h] = fl[t][h] - std::max(fp[t][h], 0.0);
    m.base_net.push_back(std::move(net));
    m.eta.push_back(std::sqrt(b.battery.efficiency));
    m.power_kw.push_back(b.battery.nominal_power_kw);
  }
  m.carbon = forecasts(data.carbon_kg_per_kwh, H, options.oracle);

  // Variables: per building and hour charge c and discharge d (bus side, kWh), state of charge
  // s, the positive part e of the building's net; per hour the positive part g of the district's
  // net and its ramp r. Costs and bounds are set each hour.
  const size_t B = m.buildings;
  m.c.assign(B, std::vector<int>(H));
  m.d = m.s = m.e = m.c;
  m.dynamics = m.power = m.emission = m.c;
  for (size_t b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h) {
      m.c[b][h] = m.lp.add_variable(0, 0, 0);
      m.d[b][h] = m.lp.add_variable(0, 0, 0);
      m.s[b][h] = m.lp.add_variable(0, 0, 0);
      m.e[b][h] = m.lp.add_variable(0, kUnbounded, 0);
    }
  for (int h = 0; h < H; ++h) {
    m.g.push_back(m.lp.add_variable(0, kUnbounded, 0));
    m.r.push_back(m.lp.add_variable(0, kUnbounded, 0));
  }
  const size_t J = slots_needed(data, H);
  m.x.assign(J, std::vector<int>(H));
  for (size_t k = 0; k < J; ++k)
    for (int h = 0; h < H; ++h) m.x[k][h] = m.lp.add_variable(0, 0, 0);
  m.slot_job.assign(J, -1);
  for (size_t b = 0; b < B; ++b) m.add_battery_rows(b);
  m.add_district_rows();
  m.add_job_rows();
  m.job_shares.assign(data.jobs.size(), 0);
  m.lp.finish();
}

// Per building and hour: the state of charge's dynamics, the curve's power limit, the positive
// part of the building's net.
void MpcController::Impl::add_battery_rows(size_t b) {
  Impl& m = *this;
  const SiteData& data = *m.site;
  const int H = m.horizon;
  const size_t J = m.x.size();
  const double one_way = m.eta[b];
  const BatterySpec& spec = data.buildings[b].battery;
  const double slope = top_segment(spec).slope;
  for (int h = 0; h < H; ++h) {
    // s[h] - s[h-1] - eta c + d / eta = 0 (h = 0: the charge now is the right side); a discharge
    // credited as CityLearn credits it drops the charge by eta d.
    const double drop = spec.accounting == BatteryAccounting::kCityLearn ? one_way : 1 / one_way;
    std::vector<std::pair<int, double>> terms{
        {m.s[b][h], 1}, {m.c[b][h], -one_way}, {m.d[b][h], drop}};
    if (h > 0) terms.emplace_back(m.s[b][h - 1], -1);
    m.dynamics[b][h] = m.lp.add_row(0, 0, terms);
    // c + d - P x slope / C x s[h-1] <= P x (y0 - slope x x0) (the capacity C set each hour).
    std::vector<std::pair<int, double>> limit{{m.c[b][h], 1}, {m.d[b][h], 1}};
    if (h > 0 && spec.capacity_kwh > 0)
      limit.emplace_back(m.s[b][h - 1], -spec.nominal_power_kw * slope / spec.capacity_kwh);
    m.power[b][h] = m.lp.add_row(-kUnbounded, 0, limit);
    // e - c + d (- the jobs' energy, in their building) >= forecast net without the battery.
    std::vector<std::pair<int, double>> net{{m.e[b][h], 1}, {m.c[b][h], -1}, {m.d[b][h], 1}};
    if (b == data.jobs_building)
      for (size_t k = 0; k < J; ++k) net.emplace_back(m.x[k][h], -1);
    m.emission[b][h] = m.lp.add_row(0, kUnbounded, net);
  }
}

// Per hour: the positive part of the district's net (its cost) and its ramp.
void MpcController::Impl::add_district_rows() {
  Impl& m = *this;
  const int H = m.horizon;
  const size_t B = m.buildings, J = m.x.size();
  for (int h = 0; h < H; ++h) {
    // g - sum (c - d) >= the district's forecast net without batteries.
    std::vector<std::pair<int, double>> cost{{m.g[h], 1}}, up{{m.r[h], 1}}, down{{m.r[h], 1}};
    for (size_t b = 0; b < B; ++b) {
      cost.emplace_back(m.c[b][h], -1);
      cost.emplace_back(m.d[b][h], 1);
      // r >= +-(N[h] - N[h-1]), N the district's net with the batteries.
      up.emplace_back(m.c[b][h], -1);
      up.emplace_back(m.d[b][h], 1);
      down.emplace_back(m.c[b][h], 1);
      down.emplace_back(m.d[b][h], -1);
      if (h > 0) {
        up.emplace_back(m.c[b][h - 1], 1);
        up.emplace_back(m.d[b][h - 1], -1);
        down.emplace_back(m.c[b][h - 1], -1);
        down.emplace_back(m.d[b][h - 1], 1);
      }
    }
    for (size_t k = 0; k < J; ++k) {
      cost.emplace_back(m.x[k][h], -1);
      up.emplace_back(m.x[k][h], -1);
      down.emplace_back(m.x[k][h], 1);
      if (h > 0) {
        up.emplace_back(m.x[k][h - 1], 1);
        down.emplace_back(m.x[k][h - 1], -1);
      }
    }
    m.cost_rows.push_back(m.lp.add_row(0, kUnbounded, cost));
    m.ramp_up.push_back(m.lp.add_row(0, kUnbounded, up));
    m.ramp_down.push_back(m.lp.add_row(0, kUnbounded, down));
  }
}

// Per job slot: the job's energy within the horizon, at least what the hours past it cannot
// hold, at most what it has left (bounds set each hour).
void MpcController::Impl::add_job_rows() {
  Impl& m = *this;
  const int H = m.horizon;
  const size_t J = m.x.size();
  for (size_t k = 0; k < J; ++k) {
    std::vector<std::pair<int, double>> terms;
    for (int h = 0; h < H; ++h) terms.emplace_back(m.x[k][h], 1);
    m.job_rows.push_back(m.lp.add_row(0, 0, terms));
  }
}

MpcController::~MpcController() = default;

std::string MpcController::name() const { return impl_->options.oracle ? "mpc-oracle" : "mpc"; }
double MpcController::solve_seconds() const { return impl_->solve_s; }
int MpcController::failures() const { return impl_->failures; }

// The weights of the score's terms per unit (share of the score / the no-battery site's average
// per hour): from the hours seen (a day at least), else from the forecast horizon.
MpcController::Weights MpcController::Impl::weights(const SiteState& state) {
  Impl& m = *this;
  const SiteData& data = *m.site;
  const size_t t = state.t, B = m.buildings, hours = data.hours();
  const int H = m.horizon;
  // The no-battery site of the hour just past, for the running weights.
  if (t > 0) {
    double district = 0;
    for (size_t b = 0; b < B; ++b) {
      const double net = data.buildings[b].load_kwh[t - 1] - data.buildings[b].solar_kwh(t - 1);
      district += net;
      m.seen_emissions += std::max(net * data.carbon_kg_per_kwh[t - 1], 0.0);
    }
    m.seen_cost += std::max(district * data.price_per_kwh[t - 1], 0.0);
    if (t > 1) m.seen_ramping += std::abs(district - m.last_base);
    m.last_base = district;
    ++m.seen;
  }
  // Per-hour averages of the score's terms without batteries: what is seen (a day at least),
  // else the forecast horizon's.
  double cost = m.seen_cost, emissions = m.seen_emissions, ramping = m.seen_ramping;
  double n = static_cast<double>(m.seen);
  if (m.seen < 24) {
    cost = emissions = ramping = 0;
    double previous = 0;
    for (int h = 0; h < H; ++h) {
      const size_t at = std::min(hours - 1, t + h);
      double district = 0;
      for (size_t b = 0; b < B; ++b) {
        district += m.forecast_net(b, t, h);
        emissions += std::max(m.forecast_net(b, t, h) * m.carbon[t][h], 0.0);
      }
      cost += std::max(district * data.price_per_kwh[at], 0.0);
      if (h > 0) ramping += std::abs(district - previous);
      previous = district;
    }
    n = H;
  }
  const auto weight = [&](double sum, double share) { return sum > 0 ? share * n / sum : 0.0; };
  return {weight(cost, 1.0 / 3), weight(emissions, 1.0 / 3), weight(ramping, 1.0 / 6)};
}

// Slots: free those whose job is done or past; give each job that meets the horizon a slot, and
// set the slots' bounds.
void MpcController::Impl::place_jobs(const SiteState& state) {
  Impl& m = *this;
  const SiteData& data = *m.site;
  const size_t t = state.t;
  const int H = m.horizon;
  const auto left_of = [&](size_t j) {
    return state.job_remaining_h.size() > j ? state.job_remaining_h[j] : 0.0;
  };
  std::vector<bool> placed(data.jobs.size(), false);
  for (long& j : m.slot_job) {
    if (j >= 0 && (left_of(j) <= 0 || data.jobs[j].deadline_h <= t)) j = -1;
    if (j >= 0) placed[j] = true;
  }
  for (size_t j = 0; j < data.jobs.size(); ++j) {
    const FlexibleJob& job = data.jobs[j];
    if (placed[j] || left_of(j) <= 0 || job.deadline_h <= t || job.release_h >= t + H) continue;
    const auto free = std::find(m.slot_job.begin(), m.slot_job.end(), -1);
    if (free == m.slot_job.end()) break;  // cannot happen: there are as many slots as needed
    *free = static_cast<long>(j);
  }
  for (size_t k = 0; k < m.slot_job.size(); ++k) {
    const long j = m.slot_job[k];
    if (j < 0) {
      for (int h = 0; h < H; ++h) m.lp.set_variable_bounds(m.x[k][h], 0, 0);
      m.lp.set_row_bounds(m.job_rows[k], 0, 0);
      continue;
    }
    const FlexibleJob& job = data.jobs[j];
    const double left = left_of(j), p = job.power_kw;
    for (int h = 0; h < H; ++h) {
      const size_t at = t + h;
      const bool open = at >= job.release_h && at < job.deadline_h;
      m.lp.set_variable_bounds(m.x[k][h], 0, open ? p : 0);
    }
    const size_t past = std::max(t + H, job.release_h);
    const double beyond = job.deadline_h > past ? static_cast<double>(job.deadline_h - past) : 0;
    m.lp.set_row_bounds(m.job_rows[k], std::max(0.0, left - beyond) * p, left * p);
  }
}

void MpcController::act(const SiteState& state, std::span<double> actions) {
  Impl& m = *impl_;
  const SiteData& data = *m.site;
  const size_t t = state.t, B = m.buildings, hours = data.hours();
  const int H = m.horizon;
  const auto [w_cost, w_emissions, w_ramping] = m.weights(state);
  for (int h = 0; h < H; ++h) {
    const size_t at = std::min(hours - 1, t + h);
    double district = 0;
    for (size_t b = 0; b < B; ++b) district += m.forecast_net(b, t, h);
    m.lp.set_cost(m.g[h], w_cost * data.price_per_kwh[at]);
    m.lp.set_cost(m.r[h], w_ramping);
    m.lp.set_row_bounds(m.cost_rows[h], district, kUnbounded);
    if (h == 0) {
      m.lp.set_row_bounds(m.ramp_up[h], district - state.last_district_net_kwh, kUnbounded);
      m.lp.set_row_bounds(m.ramp_down[h], state.last_district_net_kwh - district, kUnbounded);
    } else {
      double before = 0;
      for (size_t b = 0; b < B; ++b) before += m.forecast_net(b, t, h - 1);
      m.lp.set_row_bounds(m.ramp_up[h], district - before, kUnbounded);
      m.lp.set_row_bounds(m.ramp_down[h], before - district, kUnbounded);
    }
    for (size_t b = 0; b < B; ++b) {
      const Battery& battery = *state.batteries[b];
      const double capacity = battery.capacity_kwh(), p = m.power_kw[b];
      m.lp.set_variable_bounds(m.c[b][h], 0, p);
      m.lp.set_variable_bounds(m.d[b][h], 0, p);
      m.lp.set_variable_bounds(m.s[b][h], 0, capacity);
      m.lp.set_cost(m.e[b][h], w_emissions * m.carbon[t][h]);
      m.lp.set_row_bounds(m.emission[b][h], m.forecast_net(b, t, h), kUnbounded);
      const BatterySpec& spec = data.buildings[b].battery;
      const auto [x0, y0, slope] = top_segment(spec);
      if (h == 0) {
        const double start = battery.soc_kwh() * (1 - spec.loss_coefficient);
        m.lp.set_row_bounds(m.dynamics[b][h], start, start);
        const double top = capacity > 0 ? p * (y0 + slope * (start / capacity - x0)) : 0;
        m.lp.set_row_bounds(m.power[b][h], -kUnbounded, std::max(top, 0.0));
      } else {
        m.lp.set_row_bounds(m.power[b][h], -kUnbounded, p * (y0 - slope * x0));
      }
    }
  }
  m.place_jobs(state);
  const auto started = std::chrono::steady_clock::now();
  const bool solved = m.lp.solve();
  m.solved = solved;
  std::fill(m.job_shares.begin(), m.job_shares.end(), 0.0);
  for (size_t k = 0; k < m.slot_job.size(); ++k)
    if (const long j = m.slot_job[k]; j >= 0 && data.jobs[j].power_kw > 0)
      m.job_shares[j] = m.lp.value(m.x[k][0]) / data.jobs[j].power_kw;
  m.solve_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (size_t b = 0; b < B; ++b) {
    const double capacity = state.batteries[b]->capacity_kwh();
    if (!solved || capacity <= 0) {
      actions[b] = 0;
      continue;
    }
    // The battery is asked for the bus-side energy; its model applies the real efficiency.
    actions[b] = (m.lp.value(m.c[b][0]) - m.lp.value(m.d[b][0])) / capacity;
  }
  if (!solved) ++m.failures;
}

void MpcController::schedule(const SiteState& state, std::span<double> shares) {
  // The first hour of the program solved in act() this hour (everything at once if it failed).
  if (!impl_->solved) return run_jobs_at_once(state, shares);
  for (size_t j = 0; j < shares.size(); ++j) shares[j] = impl_->job_shares[j];
}

}  // namespace greenai::site
