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

/// "rbc" or "none"; throws greenai::Error naming the others otherwise.
std::unique_ptr<Controller> make_controller(const std::string& name);

}  // namespace greenai::site
