// Battery controllers of a site: the reference rule-based controller, and more to come (MPC, RL).
//
//   site::RuleBasedController rbc;
//   site::SiteRun run = site::simulate(data, rbc);
#pragma once

#include <memory>
#include <string>

#include "greenai/site/simulator.h"

namespace greenai::site {

/// The CityLearn Challenge 2022 starter kit's battery rule: charge 11 % of capacity an hour from
/// 06:00 to 14:00 (the PV hours), discharge 6.7 % every other hour; the same for every building.
class RuleBasedController : public Controller {
 public:
  std::string name() const override { return "rbc"; }
  void act(const SiteState& state, std::span<double> actions) override;
};

/// Leaves the batteries idle (action 0): a run with batteries that does nothing.
class NoController : public Controller {
 public:
  std::string name() const override { return "none"; }
  void act(const SiteState& state, std::span<double> actions) override;
};

/// Model-predictive control: each hour a linear program over the next `horizon_h` hours for
/// every battery at once, minimising the Challenge's score terms (each normalised by the
/// no-battery site's running average so far): the district's clipped cost, the buildings'
/// clipped emissions and the district's ramping; the first hour's charge or discharge is applied.
/// Deferrable AI jobs (SiteData::jobs) are co-scheduled: each hour's share of each job is a
/// variable, its work within the horizon at least what the hours past it cannot hold.
/// The battery is linearised: one-way efficiency sqrt(round-trip efficiency), the power limit of
/// the capacity-power curve's top segment. The hour being decided is observed (CityLearn's
/// observations at hour t carry its load, PV and carbon intensity); the hours after it come from
/// seasonal-naive forecasts (grid::seasonal_naive_model, 24 h), the tariff from pricing.csv;
/// `oracle` uses the real series for every hour instead (perfect foresight: the bound).
struct MpcOptions {
  int horizon_h = 24;
  bool oracle = false;
};
class MpcController : public Controller {
 public:
  MpcController(const SiteData& data, MpcOptions options);
  ~MpcController() override;
  std::string name() const override;
  void act(const SiteState& state, std::span<double> actions) override;
  /// Deferrable jobs are scheduled by the same program (their hours' shares are variables).
  void schedule(const SiteState& state, std::span<double> shares) override;
  /// Seconds spent solving so far, and linear programs not solved to optimality (then idle).
  double solve_seconds() const;
  int failures() const;

 private:
  struct Weights {
    double cost, emissions, ramping;
  };
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// "rbc", "none", "mpc" or "mpc-oracle" (`data` for the MPC's forecasts); throws greenai::Error
/// naming the others otherwise.
std::unique_ptr<Controller> make_controller(const std::string& name, const SiteData* data = nullptr,
                                            MpcOptions mpc = {});

}  // namespace greenai::site
