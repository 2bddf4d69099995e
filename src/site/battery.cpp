// The CityLearn 2022 battery (battery.h). The model follows CityLearn 1.3's energy_model.Battery
// as its documentation states it: clip the asked energy to +-nominal power x the capacity-power
// curve at the starting charge; one-way efficiency = (power-efficiency curve at |energy| / nominal
// power) ^ 0.5; charge: soc' = min(soc0 + e x eff, capacity), discharge: soc' = max(0, soc0 + e /
// eff), soc0 = soc x (1 - loss); energy balance = (soc' - soc0) / eff when charging; when
// discharging, / eff as CityLearn 1.3's code computes it, or x eff (BatteryAccounting); capacity -=
// capacity_loss_coefficient x original capacity x |balance| / (2 x capacity).
#include "greenai/site/battery.h"

#include <algorithm>
#include <cmath>

namespace greenai::site {

double interpolate(const std::vector<std::pair<double, double>>& curve, double x) {
  if (x <= curve.front().first) return curve.front().second;
  if (x >= curve.back().first) return curve.back().second;
  for (size_t i = 1; i < curve.size(); ++i)
    if (x <= curve[i].first) {
      const auto [x0, y0] = curve[i - 1];
      const auto [x1, y1] = curve[i];
      return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
    }
  return curve.back().second;
}

Battery::Battery(const BatterySpec& spec) : spec_(spec), capacity_kwh_(spec.capacity_kwh) {}

double Battery::max_power_kw() const {
  if (capacity_kwh_ <= 0) return 0;
  const double start = soc_kwh_ * (1 - spec_.loss_coefficient);
  return spec_.nominal_power_kw * interpolate(spec_.capacity_power_curve, start / capacity_kwh_);
}

double Battery::efficiency(double energy_kwh) const {
  if (spec_.nominal_power_kw <= 0) return std::sqrt(spec_.efficiency);
  return std::sqrt(
      interpolate(spec_.power_efficiency_curve, std::abs(energy_kwh) / spec_.nominal_power_kw));
}

double Battery::charge(double energy_kwh) {
  const double start = soc_kwh_ * (1 - spec_.loss_coefficient);
  const double limit = max_power_kw();
  const double energy = std::clamp(energy_kwh, -limit, limit);
  const double eff = efficiency(energy);
  const double next = energy >= 0 ? std::min(start + energy * eff, capacity_kwh_)
                                  : std::max(0.0, start + energy / eff);
  double balance = next - start;
  // Charging draws the gain over the efficiency; a discharge gives the drop over it
  // (CityLearn's accounting) or times it (physical).
  balance = balance >= 0 || spec_.accounting == BatteryAccounting::kCityLearn ? balance / eff
                                                                              : balance * eff;
  if (capacity_kwh_ > 0)
    capacity_kwh_ -= spec_.capacity_loss_coefficient * spec_.capacity_kwh * std::abs(balance) /
                     (2 * capacity_kwh_);
  capacity_kwh_ = std::max(capacity_kwh_, 0.0);
  soc_kwh_ = next;
  return balance;
}

}  // namespace greenai::site
