#!/usr/bin/python3
"""A second, independent reading of the CityLearn 2022 battery and KPIs, to check greenai's site
simulator against: plain Python, standard library only, written from CityLearn 1.3's formulas as
its documentation and code state them (not from greenai's code). It runs the no-battery baseline,
the idle batteries and the 2022 starter kit's rule over a phase folder, prints its KPIs beside
`greenai site simulate --json`'s, and the first hours of building 1 under the rule worked out.

  tools/site_parity.py ../shared/data/grid/citylearn2022/phase_1 build/release/src/cli/greenai

Exit status 1 when a KPI differs by more than 1e-8 (greenai's JSON carries 10 digits).
"""
import csv
import json
import math
import os
import subprocess
import sys


def interp(points, x):
    """CityLearn's curves: linear between the points, held at the ends."""
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]


class CityLearnBattery:
    EFFICIENCY_CURVE = [(0, 0.83), (0.3, 0.83), (0.7, 0.9), (0.8, 0.9), (1, 0.85)]
    POWER_CURVE = [(0, 1), (0.8, 1), (1, 0.2)]

    def __init__(self, attributes):
        self.capacity0 = attributes.get("capacity", 0.0)
        self.capacity = self.capacity0
        self.nominal = attributes.get("nominal_power", 0.0)
        self.loss = attributes.get("loss_coefficient", 0.0)
        self.fade = attributes.get("capacity_loss_coefficient", 1e-5)
        self.soc = 0.0

    def step(self, energy):
        """Returns the battery's electricity consumption for an asked energy (kWh)."""
        if self.capacity <= 0:
            return 0.0
        start = self.soc * (1 - self.loss)
        limit = self.nominal * interp(self.POWER_CURVE, start / self.capacity)
        energy = min(energy, limit) if energy >= 0 else max(-limit, energy)
        eff = interp(self.EFFICIENCY_CURVE, abs(energy) / self.nominal) ** 0.5
        soc = min(start + energy * eff, self.capacity) if energy >= 0 else max(0.0, start + energy / eff)
        # CityLearn 1.3's Battery.energy_balance: the change of charge over the efficiency, for
        # a charge and (as its code computes it) for a discharge alike.
        balance = (soc - start) / eff
        self.capacity -= self.fade * self.capacity0 * abs(balance) / (2 * self.capacity)
        self.soc = soc
        return balance


def column(path, name):
    with open(path, newline="") as f:
        return [float(row[name]) for row in csv.DictReader(f)]


def load(folder):
    schema = json.load(open(os.path.join(folder, "schema.json")))
    buildings = []
    for name, b in schema["buildings"].items():
        if not b.get("include", True):
            continue
        path = os.path.join(folder, b.get("energy_simulation", name + ".csv"))
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        pv_kw = b.get("pv", {}).get("attributes", {}).get("nominal_power", 0.0)
        buildings.append({
            "name": name,
            "hour": [int(r["hour"]) for r in rows],
            "load": [float(r["non_shiftable_load"]) for r in rows],
            "pv": [float(r["solar_generation"]) * pv_kw / 1000 for r in rows],
            "battery": b.get("electrical_storage", {}).get("attributes", {}),
        })
    price = column(os.path.join(folder, "pricing.csv"), "electricity_pricing")
    carbon = column(os.path.join(folder, "carbon_intensity.csv"), "carbon_intensity")
    return buildings, price, carbon


def run(buildings, rule, trace=None):
    nets = []
    for i, b in enumerate(buildings):
        battery = CityLearnBattery(b["battery"]) if rule else None
        net = []
        for t in range(len(b["load"])):
            balance = 0.0
            if battery:
                action = rule(b["hour"][t])
                balance = battery.step(action * battery.capacity)
            net.append(b["load"][t] - b["pv"][t] + balance)
            if trace is not None and i == 0 and t < 24:
                trace.append((b["hour"][t], b["load"][t], b["pv"][t], balance,
                              battery.soc if battery else 0.0, net[-1]))
        nets.append(net)
    return nets


def kpis(nets, price, carbon):
    hours = len(price)
    district = [sum(n[t] for n in nets) for t in range(hours)]
    cost = sum(max(district[t] * price[t], 0.0) for t in range(hours))
    emissions = sum(max(n[t] * carbon[t], 0.0) for n in nets for t in range(hours))
    ramping = sum(abs(district[t] - district[t - 1]) for t in range(1, hours))
    windows = [district[s:s + 730] for s in range(0, hours, 730)]
    lf = sum(1 - (sum(w) / len(w)) / max(w) if max(w) != 0 else 0 for w in windows) / len(windows)
    return {"cost": cost, "emissions": emissions, "ramping": ramping, "one_minus_load_factor": lf}


def relative(run_kpis, base_kpis):
    r = {k: run_kpis[k] / base_kpis[k] for k in run_kpis}
    r["score"] = (r["cost"] + r["emissions"]) / 3 + (r["ramping"] + r["one_minus_load_factor"]) / 6
    return r


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    folder, greenai = sys.argv[1], sys.argv[2]
    buildings, price, carbon = load(folder)
    base = kpis(run(buildings, None), price, carbon)
    rules = {"none": lambda hour: 0.0,
             "rbc": lambda hour: 0.11 if 6 <= hour <= 14 else -0.067}
    worst = 0.0
    for name, rule in rules.items():
        trace = []
        ours = relative(kpis(run(buildings, rule, trace), price, carbon), base)
        out = subprocess.run([greenai, "site", "simulate", "--data", folder, "--controller", name,
                              "--json"], capture_output=True, text=True, check=True)
        theirs = json.loads(out.stdout)["district"]
        print(f"{name}: KPI          this script      greenai          difference")
        for k in ["cost", "emissions", "ramping", "one_minus_load_factor", "score"]:
            d = abs(ours[k] - theirs[k])
            worst = max(worst, d)
            print(f"  {k:22s} {ours[k]:.12f} {theirs[k]:.12f} {d:.1e}")
        if name == "rbc":
            print(f"{buildings[0]['name']} under the rule, first 24 hours "
                  "(hour, load, PV, battery balance, charge, net; kWh):")
            for row in trace:
                print("  %2d %7.4f %7.4f %+8.4f %7.4f %+8.4f" % row)
    print(f"largest difference {worst:.1e}")
    sys.exit(0 if worst <= 1e-8 else 1)


if __name__ == "__main__":
    main()
