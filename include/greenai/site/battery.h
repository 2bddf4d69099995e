// A home battery as CityLearn 1.3 (the 2022 Challenge) models it, hour by hour: the power it can
// take or give falls with its state of charge (capacity-power curve), its one-way efficiency is
// the square root of a round-trip efficiency that depends on the power (power-efficiency curve),
// it leaks a fraction of its charge each hour (loss coefficient) and loses capacity with use
// (capacity fade). Units: kWh per one-hour step, so kW and kWh coincide.
//
//   site::Battery b(spec);
//   const double drawn_kwh = b.charge(0.5 * b.capacity_kwh());  // what the grid side sees
#pragma once

#include <utility>
#include <vector>

#include "greenai/site/dataset.h"

namespace greenai::site {

/// Linear interpolation through `curve` ((x, y) points, x rising); x outside the points is held
/// at the nearest end.
double interpolate(const std::vector<std::pair<double, double>>& curve, double x);

class Battery {
 public:
  explicit Battery(const BatterySpec& spec);
  /// Charges (energy > 0) or discharges (< 0) for one hour; `energy_kwh` is what is asked of the
  /// battery, limited by the capacity-power curve. Returns the battery's electricity consumption
  /// (its energy balance: > 0 drawn from the building's bus, < 0 given to it), kWh.
  double charge(double energy_kwh);
  double soc_kwh() const { return soc_kwh_; }
  /// The capacity after fade, kWh.
  double capacity_kwh() const { return capacity_kwh_; }
  /// soc over the faded capacity, 0..1.
  double soc_fraction() const { return capacity_kwh_ > 0 ? soc_kwh_ / capacity_kwh_ : 0; }
  /// The most it can take or give in the next hour (kWh), at the charge it will start from.
  double max_power_kw() const;
  /// One-way efficiency at a transfer of `energy_kwh` in an hour.
  double efficiency(double energy_kwh) const;
  const BatterySpec& spec() const { return spec_; }

 private:
  BatterySpec spec_;
  double soc_kwh_ = 0;  // CityLearn starts empty
  double capacity_kwh_ = 0;
};

}  // namespace greenai::site
